"""What the project knows of its messages: their types, handlers and schemas.

The logic of ``manage.py messagebus_handlers`` and ``manage.py messagebus_schema``
(the commands only parse options and print), and the discovery of the message
classes of installed apps that the system checks use too.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from django.apps import AppConfig, apps

from messagebus_django.core import (
    ConfigurationError,
    GenericCommand,
    GenericEvent,
    Message,
    Metadata,
    Registration,
    message_type_name,
)
from messagebus_django.core.handlers import Background
from messagebus_django.core.messages import ENVELOPE_FIELDS

if TYPE_CHECKING:
    from messagebus_django.core import AsyncMessageBus

__all__ = [
    "JSON_SCHEMA_DIALECT",
    "PAYLOAD_EXCLUDED_FIELDS",
    "DuplicateMessageTypeError",
    "MessageTypeInfo",
    "catalog_document",
    "command_classes",
    "dumps",
    "format_catalog",
    "message_catalog",
    "message_classes",
    "missing_handlers_message",
    "payload_json_schema",
    "schema_document",
]

PACKAGE = "messagebus_django"

PAYLOAD_EXCLUDED_FIELDS = ENVELOPE_FIELDS
"""The fields ``DefaultMessageSerializer`` leaves out of a message's payload."""

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect pydantic generates."""

TMessage = TypeVar("TMessage", bound=Message[Any])


class DuplicateMessageTypeError(ConfigurationError):
    """Two message classes declare the same wire name ``<name>_v<version>``."""


# Discovery -----------------------------------------------------------------


def message_classes(
    app_configs: Iterable[AppConfig], base: type[TMessage]
) -> list[type[TMessage]]:
    """The subclasses of ``base`` defined in the modules of ``app_configs``.

    Sorted by module and name. Only classes already imported are seen: those
    the handlers modules, views or models import. Parametrisations such as
    ``GenericCommand[Metadata]`` are left out, and so is the stale copy of a
    class whose module was imported again.
    """
    app_names = tuple(config.name for config in app_configs if config.name != PACKAGE)
    stack: list[type[Any]] = list(base.__subclasses__())
    seen: set[type[Any]] = set()
    found: list[type[TMessage]] = []
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        stack.extend(cls.__subclasses__())
        generic = getattr(cls, "__pydantic_generic_metadata__", {})
        if generic.get("origin") is not None:
            continue  # GenericCommand[Metadata] and other parametrisations
        module = cls.__module__
        if any(
            module == name or module.startswith(name + ".") for name in app_names
        ) and _is_current(cls):
            found.append(cls)
    return sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))


def command_classes(
    app_configs: Iterable[AppConfig],
) -> list[type[GenericCommand[Any]]]:
    """The command classes defined in the modules of ``app_configs``."""
    return message_classes(app_configs, GenericCommand)


def _is_current(cls: type[Any]) -> bool:
    # A module executed twice leaves two classes with one name; the one its
    # module holds now is the message class.
    qualname: str = cls.__qualname__
    module = sys.modules.get(cls.__module__)
    if module is None or "<locals>" in qualname:
        return True
    current: Any = module
    for part in qualname.split("."):
        current = getattr(current, part, None)
    return current is None or current is cls


# The catalog ---------------------------------------------------------------


@dataclass(frozen=True)
class MessageTypeInfo:
    """One command or event type, its wire name and its handlers."""

    message_type: type[Message[Any]]
    kind: Literal["command", "event"]
    type_name: str | None
    """``<name>_v<version>``; ``None`` when the class declares no default Metadata."""
    published: bool
    handlers: tuple[Registration, ...]
    """In the order they run."""

    @property
    def class_name(self) -> str:
        """The class's dotted path."""
        return f"{self.message_type.__module__}.{self.message_type.__qualname__}"

    @property
    def missing_handler(self) -> bool:
        """A command without its handler (an event may have none)."""
        return self.kind == "command" and not self.handlers

    def as_dict(self) -> dict[str, Any]:
        """The JSON form ``messagebus_handlers --json`` prints."""
        return {
            "type": self.type_name,
            "kind": self.kind,
            "class": self.class_name,
            "published": self.published,
            "missing_handler": self.missing_handler,
            "handlers": [
                {
                    "handler": registration.qualified_name,
                    "async": registration.is_async,
                    "background": (
                        None
                        if registration.background is None
                        else dataclasses.asdict(registration.background)
                    ),
                    "dependencies": list(registration.required),
                    "optional_dependencies": list(registration.optional),
                }
                for registration in self.handlers
            ],
        }


def _info(
    msg_type: type[Message[Any]], handlers: Sequence[Registration]
) -> MessageTypeInfo:
    metadata = msg_type.model_fields["metadata"].default
    if isinstance(metadata, Metadata):
        type_name: str | None = message_type_name(msg_type)
        published = metadata.published
    else:
        type_name, published = None, False
    return MessageTypeInfo(
        message_type=msg_type,
        kind="command" if issubclass(msg_type, GenericCommand) else "event",
        type_name=type_name,
        published=published,
        handlers=tuple(handlers),
    )


def message_catalog(
    bus: AsyncMessageBus | None = None,
    app_configs: Iterable[AppConfig] | None = None,
) -> list[MessageTypeInfo]:
    """Every message type the project knows, commands first, by wire name.

    The types with a handler on ``bus`` (default: the project's bus) and the
    command and event classes of ``app_configs`` (default: the installed apps)
    that declare a default Metadata (a class without one is an abstract base).
    """
    if bus is None:
        from messagebus_django.dispatching.bus import get_bus

        bus = get_bus()
    configs = list(apps.get_app_configs()) if app_configs is None else app_configs
    handlers: dict[type[Message[Any]], list[Registration]] = {}
    for registration in bus.registrations():
        handlers.setdefault(registration.message_type, []).append(registration)
    defined: list[type[Message[Any]]] = [
        *message_classes(configs, GenericCommand),
        *message_classes(configs, GenericEvent),
    ]
    catalog = [_info(msg_type, found) for msg_type, found in handlers.items()]
    for msg_type in defined:
        if msg_type not in handlers:
            info = _info(msg_type, ())
            if info.type_name is not None:
                catalog.append(info)
    return sorted(
        catalog,
        key=lambda info: (info.kind, info.type_name or "", info.class_name),
    )


def missing_handlers_message(catalog: Iterable[MessageTypeInfo]) -> str | None:
    """What ``--strict`` reports: the commands without a handler, or ``None``."""
    missing = [info for info in catalog if info.missing_handler]
    if not missing:
        return None
    names = ", ".join(f"{info.type_name} ({info.class_name})" for info in missing)
    return f"{_count(len(missing), 'command')} without a handler: {names}"


def format_catalog(catalog: Sequence[MessageTypeInfo]) -> str:
    """The text ``manage.py messagebus_handlers`` prints."""
    lines: list[str] = []
    for kind, title in (("command", "Commands"), ("event", "Events")):
        entries = [info for info in catalog if info.kind == kind]
        lines.append(f"{title} ({len(entries)})")
        for info in entries:
            head = f"  {info.type_name or '(no default Metadata)'}  {info.class_name}"
            lines.append(f"{head}  published" if info.published else head)
            for registration in info.handlers:
                line = (
                    f"    -> {registration.qualified_name}  "
                    f"{'async' if registration.is_async else 'sync'}"
                )
                if registration.background is not None:
                    line += f"  {_background_text(registration.background)}"
                if registration.dependencies:
                    line += f"  dependencies: {', '.join(registration.dependencies)}"
                lines.append(line)
            if info.missing_handler:
                lines.append("    NO HANDLER")
            elif not info.handlers:
                lines.append("    (no handler)")
        lines.append("")
    handlers = sum(len(info.handlers) for info in catalog)
    missing = sum(info.missing_handler for info in catalog)
    lines.append(
        f"{_count(len(catalog), 'message type')}, {_count(handlers, 'handler')}, "
        f"{_count(missing, 'command')} without a handler."
    )
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def catalog_document(catalog: Iterable[MessageTypeInfo]) -> list[dict[str, Any]]:
    """The JSON ``manage.py messagebus_handlers --json`` prints."""
    return [info.as_dict() for info in catalog]


# Schemas -------------------------------------------------------------------


def payload_json_schema(message_type: type[Message[Any]]) -> dict[str, Any]:
    """The JSON Schema of a message's payload as it travels.

    The payload is what the event stream carries (``payload_of``, and the
    JSON text of ``DefaultMessageSerializer``): the message's own fields,
    without ``message_id``, ``created_at`` and ``metadata``, serialized by
    pydantic. Definitions only the left-out fields used are dropped.
    """
    by_alias = bool(message_type.model_config.get("serialize_by_alias", False))
    schema = message_type.model_json_schema(by_alias=by_alias, mode="serialization")
    properties: dict[str, Any] = schema.get("properties", {})
    for name in PAYLOAD_EXCLUDED_FIELDS:
        properties.pop(name, None)
    required = [
        name
        for name in schema.get("required", ())
        if name not in PAYLOAD_EXCLUDED_FIELDS
    ]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    _drop_unused_definitions(schema)
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def _drop_unused_definitions(schema: dict[str, Any]) -> None:
    definitions: dict[str, Any] = schema.pop("$defs", {})
    used: set[str] = set()
    pending = _references(schema)
    while pending:
        name = pending.pop()
        if name not in used and name in definitions:
            used.add(name)
            pending.extend(_references(definitions[name]))
    if used:
        schema["$defs"] = {
            name: value for name, value in definitions.items() if name in used
        }


def _references(node: Any) -> list[str]:
    """The names of the ``#/$defs/...`` definitions ``node`` refers to."""
    found: list[str] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            found.append(ref.removeprefix("#/$defs/"))
        for value in node.values():
            found.extend(_references(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_references(item))
    return found


def schema_document(catalog: Iterable[MessageTypeInfo]) -> dict[str, Any]:
    """``{"<name>_v<version>": {"kind", "published", "schema"}}`` of every type.

    A type without a default Metadata has no wire name and is left out. Two
    classes with one wire name raise :class:`DuplicateMessageTypeError`.
    """
    document: dict[str, Any] = {}
    owners: dict[str, MessageTypeInfo] = {}
    for info in catalog:
        if info.type_name is None:
            continue
        other = owners.get(info.type_name)
        if other is not None:
            raise DuplicateMessageTypeError(
                f"The wire name {info.type_name!r} is declared by both "
                f"{other.class_name} and {info.class_name}: give one of them "
                "another Metadata name or schema_version."
            )
        owners[info.type_name] = info
        document[info.type_name] = {
            "kind": info.kind,
            "published": info.published,
            "schema": payload_json_schema(info.message_type),
        }
    return document


def dumps(document: Any, indent: int | None = 2) -> str:
    """Stable JSON: keys sorted, so the output diffs well."""
    return json.dumps(document, indent=indent, sort_keys=True)


def _background_text(options: Background) -> str:
    chosen = [
        f"{name}: {value}"
        for name, value in dataclasses.asdict(options).items()
        if value is not None
    ]
    return f"background ({', '.join(chosen)})" if chosen else "background"
