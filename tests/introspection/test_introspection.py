"""``messagebus_django.operations.introspection``: discovery, catalog and schemas, directly."""

from __future__ import annotations

import importlib.util
import json
import sys
from types import SimpleNamespace
from typing import Any, cast

from django.apps import AppConfig

from messagebus_django import (
    AsyncMessageBus,
    Command,
    DefaultMessageSerializer,
    Event,
    GenericCommand,
    Message,
    Metadata,
    Model,
)
from messagebus_django.operations.introspection import (
    PAYLOAD_EXCLUDED_FIELDS,
    command_classes,
    format_catalog,
    message_catalog,
    message_classes,
    missing_handlers_message,
    payload_json_schema,
    schema_document,
)
from tests.introspection.fixture_app import messages as fixture_messages
from tests.testapp.messages import DocumentRegistered

FIXTURE_APP = "tests.introspection.fixture_app"


def app(name: str) -> AppConfig:
    """A stand-in AppConfig: discovery reads only its name."""
    return cast(AppConfig, SimpleNamespace(name=name))


class Leaf(Model):
    value: int


class Branch(Model):
    leaf: Leaf


class Tree(Event):
    branch: Branch
    metadata: Metadata = Metadata(name="tree", schema_version=3)


class Anonymous(GenericCommand[Metadata]):
    """A command class without a default Metadata, handled anyway."""


async def handle_anonymous(command: Anonymous, uow: Any) -> None:
    """Its handler."""


def test_message_classes_of_an_app() -> None:
    found = message_classes([app(FIXTURE_APP)], Message)
    assert found == [
        fixture_messages.AppCommand,
        fixture_messages.AppGenericCommand,
        fixture_messages.NobodyListens,
        fixture_messages.OrphanCommand,
        fixture_messages.PriceChanged,
        fixture_messages.Tagged,
    ]
    assert command_classes([app(FIXTURE_APP)]) == [
        fixture_messages.AppCommand,
        fixture_messages.AppGenericCommand,
        fixture_messages.OrphanCommand,
        fixture_messages.Tagged,
    ]


class Left(Command):
    metadata: Metadata = Metadata(name="left", schema_version=1)


class Right(Command):
    metadata: Metadata = Metadata(name="right", schema_version=1)


class Both(Left, Right):
    """Found through both of its bases, listed once."""

    metadata: Metadata = Metadata(name="both", schema_version=1)


def test_a_class_with_two_message_bases_is_listed_once() -> None:
    found = command_classes([app(__name__)])
    assert found.count(Both) == 1
    assert {Left, Right, Both} <= set(found)


def test_message_classes_skip_messagebus_django_itself() -> None:
    assert message_classes([app("messagebus_django")], Message) == []


def test_message_classes_skip_the_stale_copy_of_a_module_imported_again() -> None:
    name = fixture_messages.__name__
    spec = importlib.util.spec_from_file_location(name, fixture_messages.__file__)
    assert spec is not None
    assert spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)  # not put in sys.modules
    assert copy.OrphanCommand is not fixture_messages.OrphanCommand
    found = command_classes([app(FIXTURE_APP)])
    assert fixture_messages.OrphanCommand in found
    assert copy.OrphanCommand not in found
    assert len(found) == 4


def test_message_classes_keep_classes_not_reachable_by_name() -> None:
    module_name = "tests.introspection.not_a_module"
    assert module_name not in sys.modules

    class Unimported(Command):
        metadata: Metadata = Metadata(name="unimported", schema_version=1)

    Unimported.__module__ = module_name

    class Hidden(Command):
        metadata: Metadata = Metadata(name="hidden", schema_version=1)

    Hidden.__qualname__ = "Hidden"  # as if the module had deleted its name

    unimported = command_classes([app(module_name)])
    assert unimported == [Unimported]
    assert Hidden in command_classes([app(__name__)])


def test_catalog_of_an_explicit_bus_and_apps() -> None:
    bus = AsyncMessageBus()
    bus.add_listener(Anonymous, handle_anonymous)
    catalog = message_catalog(bus, [app(FIXTURE_APP)])
    assert [info.type_name for info in catalog] == [
        None,  # handled, so listed, though it has no wire name
        "introspection_orphan_v2",
        "introspection_tagged_v1",
        "introspection_nobody_listens_v1",
        "introspection_price_changed_v1",
    ]
    anonymous = catalog[0]
    assert anonymous.message_type is Anonymous
    assert anonymous.kind == "command"
    assert not anonymous.published
    assert not anonymous.missing_handler
    assert f"  (no default Metadata)  {__name__}.Anonymous" in format_catalog(catalog)
    # No wire name, no schema.
    assert set(schema_document(catalog)) == {
        "introspection_orphan_v2",
        "introspection_tagged_v1",
        "introspection_nobody_listens_v1",
        "introspection_price_changed_v1",
    }


def test_catalog_defaults_to_the_project_bus_and_installed_apps() -> None:
    catalog = message_catalog()
    assert [info.type_name for info in catalog] == [
        "discontinue_document_v1",
        "register_document_v1",
        "document_discontinued_v1",
        "document_registered_v1",
    ]
    registered = catalog[-1]
    assert registered.message_type is DocumentRegistered
    assert [r.qualified_name for r in registered.handlers] == [
        "tests.testapp.message_handlers:record_registration",
        "tests.testapp.message_handlers:notify_readers",
    ]


def test_missing_handlers_message() -> None:
    bus = AsyncMessageBus()
    assert missing_handlers_message(message_catalog(bus, [])) is None
    one = [
        info
        for info in message_catalog(bus, [app(FIXTURE_APP)])
        if info.type_name != "introspection_tagged_v1"
    ]
    assert missing_handlers_message(one) == (
        "1 command without a handler: introspection_orphan_v2 "
        "(tests.introspection.fixture_app.messages.OrphanCommand)"
    )


def test_format_an_empty_catalog() -> None:
    assert format_catalog([]) == (
        "Commands (0)\n\nEvents (0)\n\n"
        "0 message types, 0 handlers, 0 commands without a handler."
    )


def test_definitions_used_through_other_definitions_are_kept() -> None:
    schema = payload_json_schema(Tree)
    assert set(schema["$defs"]) == {"Branch", "Leaf"}
    assert schema["properties"]["branch"] == {"$ref": "#/$defs/Branch"}


def test_a_payload_without_definitions() -> None:
    schema = payload_json_schema(DocumentRegistered)
    assert "$defs" not in schema
    assert not PAYLOAD_EXCLUDED_FIELDS & set(schema["properties"])


def test_the_excluded_fields_are_those_the_serializer_leaves_out() -> None:
    event = Tree(branch=Branch(leaf=Leaf(value=1)))
    sent = json.loads(DefaultMessageSerializer().serialize_message(event)["payload"])
    assert set(sent) == set(Tree.model_fields) - PAYLOAD_EXCLUDED_FIELDS
    assert set(Message.model_fields) == PAYLOAD_EXCLUDED_FIELDS
