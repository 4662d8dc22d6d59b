"""Messages (commands and events) and domain models.

Commands are imperative (``RegisterBook``), events are in the past tense
(``BookRegistered``). Both carry a :class:`Metadata` that names them on the
wire, so a renamed class keeps its serialized identity.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping, MutableSequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID, SafeUUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

__all__ = [
    "ENVELOPE_FIELDS",
    "Command",
    "Event",
    "Field",
    "GenericCommand",
    "GenericEvent",
    "GenericModel",
    "Message",
    "Metadata",
    "Model",
    "TMessage",
    "TMetadata",
    "from_payload",
    "message_type_name",
    "payload_of",
    "uuid7",
]

_uuid7_lock = threading.Lock()
_uuid7_last_ms = 0
_uuid7_counter = 0
# Random bits are drawn from os.urandom in blocks (one system call for 512
# ids), read as 64-bit integers through a memoryview: a block of constant
# size, replaced when used up.
_RANDOM_BYTES = 8 * 512
_uuid7_random = memoryview(b"").cast("Q")
_uuid7_index = 0


def _forget_random_block() -> None:
    # A forked child must not reuse its parent's random bits.
    global _uuid7_random, _uuid7_index
    _uuid7_random, _uuid7_index = memoryview(b"").cast("Q"), 0


if hasattr(os, "register_at_fork"):  # pragma: no branch - absent on Windows only
    os.register_at_fork(after_in_child=_forget_random_block)

# On the hot path of every message: looked up once, not per call. UUID's
# two slots are set through their descriptors (cheaper than
# object.__setattr__), and the lock taken without a ``with`` block.
_new_object = object.__new__
_set_uuid_int = UUID.__dict__["int"].__set__
_set_uuid_safety = UUID.__dict__["is_safe"].__set__
_UNKNOWN_SAFETY = SafeUUID.unknown
_acquire = _uuid7_lock.acquire
_release = _uuid7_lock.release


def uuid7() -> UUID:
    """Return a time-ordered UUID (RFC 9562, version 7).

    Within one millisecond a 12-bit counter keeps the ids of this process
    strictly increasing, so sorting by id sorts by creation.
    """
    global _uuid7_last_ms, _uuid7_counter, _uuid7_random, _uuid7_index
    _acquire()
    try:
        index = _uuid7_index
        if index >= len(_uuid7_random):
            _uuid7_random = memoryview(os.urandom(_RANDOM_BYTES)).cast("Q")
            index = 0
        rand = _uuid7_random[index]
        _uuid7_index = index + 1
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _uuid7_last_ms:
            _uuid7_last_ms = now_ms
            # Start low in the counter space so a burst has room to grow.
            _uuid7_counter = counter = rand >> 55
        else:
            counter = _uuid7_counter = _uuid7_counter + 1
            if counter > 0xFFF:
                _uuid7_last_ms += 1
                _uuid7_counter = counter = 0
        unix_ms = _uuid7_last_ms
    finally:
        _release()
    # 48 bits of time, version 7, 12 bits of counter, variant 0b10, 62 random.
    value = (
        (unix_ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | counter << 64
        | 0b10 << 62
        | rand & 0x3FFF_FFFF_FFFF_FFFF
    )
    # UUID(int=...) re-checks a value built to be in range; skip that.
    uuid = _new_object(UUID)
    _set_uuid_int(uuid, value)
    _set_uuid_safety(uuid, _UNKNOWN_SAFETY)
    return uuid


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _tracing_id_text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


TracingId = Annotated[
    UUID | None, PlainSerializer(_tracing_id_text, return_type=str | None)
]
"""A tracing id: a UUID on the model, its text in ``model_dump()``.

``Metadata.model_dump()`` stays JSON-ready (code written for ``messagebus``
stores it in JSON columns); validating the text gives the UUID back.
"""


class Metadata(BaseModel):
    """What names a message on the wire; declared once per message class."""

    model_config = ConfigDict(frozen=True)

    name: str
    """Stable name of the message, kept even if the class is renamed."""
    schema_version: int
    """Version of the payload's schema; bump it on incompatible changes."""
    published: bool = False
    """Whether the message leaves the process through the event stream."""
    correlation_id: TracingId = None
    """The same for a command and every message it causes (set by the bus)."""
    causation_id: TracingId = None
    """The id of the message whose handling raised this one (set by the bus)."""


TMetadata = TypeVar("TMetadata", bound=Metadata)


class Message(BaseModel, Generic[TMetadata]):
    """Base class of commands and events."""

    message_id: UUID = Field(default_factory=uuid7)
    """Unique, time-ordered identifier of the message."""
    created_at: datetime = Field(default_factory=_utcnow)
    """When the message was created, timezone-aware, in UTC."""
    metadata: TMetadata
    """Name, schema version and publication flag, set by the message class."""

    @field_validator("created_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("created_at must be timezone-aware")
        return value.astimezone(UTC)

    def __eq__(self, other: object) -> bool:
        """Messages are equal when their content is: id and timestamp are ignored.

        This lets tests compare the events a handler raised with expected ones.
        """
        if not isinstance(other, Message):
            return NotImplemented
        if type(self) is not type(other):
            return False
        return _content(self) == _content(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """``<RegisterBook title='...'>``: the class and the payload fields."""
        return _repr(self, ENVELOPE_FIELDS, ())


TMessage = TypeVar("TMessage", bound="Message[Any]")

ENVELOPE_FIELDS = frozenset({"message_id", "created_at", "metadata"})
"""The fields every message has; the others are its payload."""


def payload_of(message: Message[Any]) -> dict[str, Any]:
    """The message's own fields, JSON-ready: what the event stream carries."""
    return message.model_dump(mode="json", exclude=set(ENVELOPE_FIELDS))


def from_payload(
    message_type: type[TMessage],
    payload: Mapping[str, Any],
    *,
    message_id: Any,
    created_at: Any,
) -> TMessage:
    """The message of ``message_type`` that :func:`payload_of` and its id made.

    Envelope fields in ``payload`` are ignored: what a producer writes there
    cannot override the type's metadata, nor the id and time given here.
    """
    fields = {k: v for k, v in payload.items() if k not in ENVELOPE_FIELDS}
    return message_type.model_validate(
        {**fields, "message_id": message_id, "created_at": created_at}
    )


def _content(message: Message[Any]) -> dict[str, Any]:
    content = {
        key: value
        for key, value in message.__dict__.items()
        if key not in ENVELOPE_FIELDS
    }
    metadata = message.metadata
    # Tracing ids differ between runs, like message ids: not content.
    content["metadata"] = (metadata.name, metadata.schema_version, metadata.published)
    return content


def message_type_name(message: Message[Any] | type[Message[Any]]) -> str:
    """The wire name of a message: ``<name>_v<schema_version>``."""
    metadata = (
        message.model_fields["metadata"].default
        if isinstance(message, type)
        else message.metadata
    )
    if not isinstance(metadata, Metadata):
        raise TypeError(f"{message!r} declares no default Metadata")
    return f"{metadata.name}_v{metadata.schema_version}"


class GenericCommand(Message[TMetadata]):
    """A request to change the system; handled by exactly one handler."""


class GenericEvent(Message[TMetadata]):
    """Something that happened; handled by any number of handlers."""


class Command(GenericCommand[Metadata]):
    """A command with the default :class:`Metadata`."""


class Event(GenericEvent[Metadata]):
    """An event with the default :class:`Metadata`."""


class GenericModel(BaseModel, Generic[TMetadata]):
    """A domain model (aggregate) that records the events it raises."""

    messages: MutableSequence[Message[TMetadata]] = Field(
        default_factory=list, exclude=True
    )
    """Events raised by the model, dispatched by the bus once it is seen."""

    def __eq__(self, other: object) -> bool:
        """Models are equal when their fields are; raised messages do not count."""
        if not isinstance(other, GenericModel):
            return NotImplemented
        if type(self) is not type(other):
            return False
        return _model_content(self) == _model_content(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """``<Book title='...'>``, then ``message=[...]`` while events are pending.

        Fields are shown as ``model_dump()`` gives them (a nested model as a
        dict), as ``messagebus`` shows them.
        """
        dumped = self.model_dump(exclude=set(_MODEL_BOOKKEEPING))
        parts = [f"{key}={value!r}" for key, value in dumped.items()]
        if self.messages:
            parts.append(f"message={self.messages!r}")
        return " ".join([f"<{type(self).__name__}", *parts]) + ">"


_MODEL_BOOKKEEPING = frozenset({"messages"})


def _repr(
    obj: BaseModel, hidden: frozenset[str], extra: Iterable[tuple[str, Any]]
) -> str:
    shown = [(key, value) for key, value in obj.__dict__.items() if key not in hidden]
    parts = [f"{key}={value!r}" for key, value in (*shown, *extra)]
    return " ".join([f"<{type(obj).__name__}", *parts]).rstrip() + ">"


def _model_content(model: GenericModel[Any]) -> dict[str, Any]:
    return {key: value for key, value in model.__dict__.items() if key != "messages"}


class Model(GenericModel[Metadata]):
    """A domain model whose messages use the default :class:`Metadata`."""
