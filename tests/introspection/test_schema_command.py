"""``manage.py messagebus_schema``: the JSON Schema of every message's payload."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from messagebus_django import DefaultMessageSerializer, Message
from messagebus_django.operations.introspection import JSON_SCHEMA_DIALECT
from tests.introspection.fixture_app.messages import Price, PriceChanged
from tests.testapp.messages import (
    DiscontinueDocument,
    DocumentDiscontinued,
    DocumentRegistered,
    RegisterDocument,
)

FIXTURE_APP = "tests.introspection.fixture_app"
DOCUMENT_ID = UUID("0190b4f2-8d1e-7c3a-9e7d-3f2a1b0c4d5e")
DOCUMENT = {"code": "9780321125217", "title": "DDD", "author": "Eric Evans"}


def run(*args: str) -> str:
    out = StringIO()
    call_command("messagebus_schema", *args, stdout=out)
    return out.getvalue()


def document(*args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run(*args))
    return result


def payload(message: Message[Any]) -> Any:
    """The payload as the event stream carries it."""
    return json.loads(DefaultMessageSerializer().serialize_message(message)["payload"])


# A tiny validator: enough of JSON Schema for pydantic's schemas of payloads.
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def conforms(instance: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return conforms(instance, root["$defs"][name], root)
    if "anyOf" in schema:
        return any(conforms(instance, option, root) for option in schema["anyOf"])
    expected = schema.get("type")
    if expected is not None:
        if isinstance(instance, bool) and expected in ("integer", "number"):
            return False
        if not isinstance(instance, JSON_TYPES[expected]):
            return False
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        if not set(schema.get("required", ())) <= set(instance):
            return False
        return all(
            conforms(value, properties[key], root)
            for key, value in instance.items()
            if key in properties
        )
    if isinstance(instance, list) and "items" in schema:
        return all(conforms(item, schema["items"], root) for item in instance)
    return True


def all_refs_resolve(node: Any, root: dict[str, Any]) -> bool:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref is not None and ref.removeprefix("#/$defs/") not in root.get(
            "$defs", {}
        ):
            return False
        return all(all_refs_resolve(value, root) for value in node.values())
    if isinstance(node, list):
        return all(all_refs_resolve(item, root) for item in node)
    return True


def test_one_entry_per_wire_name() -> None:
    doc = document()
    assert list(doc) == sorted(doc)
    assert doc.keys() == {
        "document_discontinued_v1",
        "document_registered_v1",
        "discontinue_document_v1",
        "register_document_v1",
    }
    assert doc["document_registered_v1"]["kind"] == "event"
    assert doc["document_registered_v1"]["published"] is True
    assert doc["register_document_v1"]["kind"] == "command"
    assert doc["register_document_v1"]["published"] is False


def test_schema_of_register_document_is_its_own_fields() -> None:
    schema = document()["register_document_v1"]["schema"]
    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert schema["type"] == "object"
    assert schema["title"] == "RegisterDocument"
    assert set(schema["properties"]) == {"id", "code", "title", "author"}
    # The id has a default: a sender may leave it out.
    assert schema["required"] == ["code", "title", "author"]
    assert schema["properties"]["id"] == {
        "format": "uuid",
        "title": "Id",
        "type": "string",
    }
    assert schema["properties"]["title"]["maxLength"] == 255
    # No envelope field, and the Metadata definition went with its field.
    dumped = json.dumps(schema)
    for left_out in ("message_id", "created_at", "metadata", "Metadata"):
        assert left_out not in dumped
    assert "$defs" not in schema


@pytest.mark.parametrize(
    "message",
    [
        DocumentRegistered(id=DOCUMENT_ID, **DOCUMENT),
        DocumentDiscontinued(id=DOCUMENT_ID, reason="Out of print"),
        RegisterDocument(id=DOCUMENT_ID, **DOCUMENT),
        DiscontinueDocument(id=DOCUMENT_ID),
    ],
    ids=lambda message: type(message).__name__,
)
def test_a_real_payload_matches_its_schema(message: Message[Any]) -> None:
    doc = document()
    schema = doc[f"{message.metadata.name}_v{message.metadata.schema_version}"][
        "schema"
    ]
    sent = payload(message)
    # Exactly the payload's fields, every required one present, types right.
    assert set(sent) == set(schema["properties"])
    assert conforms(sent, schema, schema)
    # A consumer can rebuild the message from it.
    assert type(message).model_validate(sent) == message


def test_a_wrong_payload_does_not_match() -> None:
    schema = document()["document_registered_v1"]["schema"]
    sent = payload(DocumentRegistered(id=DOCUMENT_ID, **DOCUMENT))
    assert not conforms({**sent, "title": 3}, schema, schema)
    del sent["code"]
    assert not conforms(sent, schema, schema)


def test_nested_models_keep_their_definitions() -> None:
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, FIXTURE_APP]):
        doc = document()
    assert doc.keys() >= {
        "introspection_orphan_v2",
        "introspection_price_changed_v1",
        "introspection_nobody_listens_v1",
        "introspection_tagged_v1",
    }
    schema = doc["introspection_price_changed_v1"]["schema"]
    assert set(schema["$defs"]) == {"Price"}
    assert all_refs_resolve(schema, schema)
    assert schema["required"] == ["price"]
    event = PriceChanged(
        price=Price(amount=Decimal("12.50")),
        previous=Price(amount=Decimal("10"), currency="USD"),
        tags=["sale"],
    )
    sent = payload(event)
    assert conforms(sent, schema, schema)
    assert not conforms({**sent, "previous": {"currency": "USD"}}, schema, schema)
    assert PriceChanged.model_validate(sent) == event
    # A message without fields of its own has an empty object schema.
    nobody = doc["introspection_nobody_listens_v1"]["schema"]
    assert nobody["properties"] == {}
    assert "required" not in nobody


def test_output_is_stable() -> None:
    assert run() == run()


def test_indent() -> None:
    assert run("--indent", "4").startswith('{\n    "discontinue_document_v1": {\n')
    assert json.loads(run("--indent", "0")) == document()
    with pytest.raises(CommandError, match="--indent takes 0 or more"):
        run("--indent", "-1")


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "schemas.json"
    out = run("--output", str(target))
    assert out == f"Wrote the schemas of 4 message types to {target}.\n"
    assert json.loads(target.read_text(encoding="utf-8")) == document()


def test_output_creates_its_directory(tmp_path: Path) -> None:
    target = tmp_path / "schemas" / "v1" / "messages.json"
    run("--output", str(target))
    assert json.loads(target.read_text(encoding="utf-8")) == document()


def test_output_file_that_cannot_be_written(tmp_path: Path) -> None:
    # A file where its directory should be: nothing can create it.
    (tmp_path / "schemas").write_text("", encoding="utf-8")
    target = tmp_path / "schemas" / "messages.json"
    with pytest.raises(CommandError, match="Cannot write"):
        run("--output", str(target))


def test_verbosity(tmp_path: Path) -> None:
    target = tmp_path / "schemas.json"
    assert run("--output", str(target), "-v", "0") == ""
    lines = run("--output", str(target), "-v", "2").splitlines()
    assert lines[0] == f"Wrote the schemas of 4 message types to {target}."
    assert sorted(lines[1:]) == sorted(f"  {name}" for name in document())
    # Standard output is the document itself, at any verbosity.
    assert json.loads(run("-v", "0")) == document()


def test_two_classes_with_one_wire_name_are_an_error() -> None:
    with (
        override_settings(
            MESSAGEBUS_HANDLER_MODULES=["tests.introspection.duplicate_handlers"]
        ),
        pytest.raises(CommandError) as raised,
    ):
        run()
    message = str(raised.value)
    assert "'register_document_v1'" in message
    assert "tests.testapp.messages.RegisterDocument" in message
    assert "tests.introspection.duplicate_handlers.RegisterBookAgain" in message
