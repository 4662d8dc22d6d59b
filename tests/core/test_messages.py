"""Messages, their ids and timestamps, and domain models."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest
from pydantic import ValidationError

from messagebus_django.core import (
    Command,
    GenericCommand,
    GenericEvent,
    GenericModel,
    Metadata,
    message_type_name,
    uuid7,
)
from messagebus_django.core import messages as messages_module


class Ping(GenericCommand[Metadata]):
    text: str
    count: int = 1
    metadata: Metadata = Metadata(name="ping", schema_version=1)


class Echo(GenericCommand[Metadata]):
    """Same fields and metadata as :class:`Ping`, another class."""

    text: str
    count: int = 1
    metadata: Metadata = Metadata(name="ping", schema_version=1)


class Pinged(GenericEvent[Metadata]):
    text: str
    metadata: Metadata = Metadata(name="pinged", schema_version=4, published=True)


class Nameless(GenericCommand[Metadata]):
    """A command that declares no default metadata."""


class Ball(GenericModel[Metadata]):
    colour: str


class Cube(GenericModel[Metadata]):
    colour: str


def unix_ms(value: uuid.UUID) -> int:
    return value.int >> 80


def counter(value: uuid.UUID) -> int:
    return (value.int >> 64) & 0xFFF


# uuid7 ----------------------------------------------------------------------


def test_message_id_is_a_uuid_version_7() -> None:
    before_ms = time.time_ns() // 1_000_000
    message = Ping(text="hi")
    after_ms = time.time_ns() // 1_000_000

    assert isinstance(message.message_id, uuid.UUID)
    assert message.message_id.version == 7
    assert message.message_id.variant == uuid.RFC_4122
    # The timestamp is the creation time (a burst may push it a few ms ahead).
    assert before_ms <= unix_ms(message.message_id) <= after_ms + 10


def test_messages_get_distinct_ids() -> None:
    assert Ping(text="hi").message_id != Ping(text="hi").message_id


def test_uuid7_from_consecutive_calls_strictly_increase() -> None:
    ids = [uuid7() for _ in range(2_000)]

    assert all(a < b for a, b in itertools.pairwise(ids))
    assert all(value.version == 7 for value in ids)
    assert all(value.variant == uuid.RFC_4122 for value in ids)


def _frozen_clock(monkeypatch: pytest.MonkeyPatch) -> int:
    """Stop the clock one millisecond after the last id's; return that ms."""
    frozen_ms = max(time.time_ns() // 1_000_000, messages_module._uuid7_last_ms + 1)
    monkeypatch.setattr(time, "time_ns", lambda: frozen_ms * 1_000_000)
    return frozen_ms


def test_uuid7_within_one_millisecond_strictly_increase(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_ms = _frozen_clock(monkeypatch)

    ids = [uuid7() for _ in range(100)]

    assert {unix_ms(value) for value in ids} == {frozen_ms}
    assert all(a < b for a, b in itertools.pairwise(ids))
    counters = [counter(value) for value in ids]
    assert counters == list(range(counters[0], counters[0] + 100))
    # The counter starts low, leaving room for a burst.
    assert counters[0] < 512


def test_uuid7_counter_overflow_moves_to_the_next_millisecond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_ms = _frozen_clock(monkeypatch)

    # More ids than a 12-bit counter holds, all in one frozen millisecond.
    ids = [uuid7() for _ in range(5_000)]

    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert {unix_ms(value) for value in ids} == {frozen_ms, frozen_ms + 1}
    first_of_next_ms = next(v for v in ids if unix_ms(v) == frozen_ms + 1)
    assert counter(first_of_next_ms) == 0
    assert all(value.version == 7 for value in ids)


# created_at -----------------------------------------------------------------


def test_created_at_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    message = Ping(text="hi")
    after = datetime.now(UTC)

    assert message.created_at.tzinfo is UTC
    assert before <= message.created_at <= after


def test_naive_created_at_is_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        Ping(text="hi", created_at=datetime(2024, 5, 1, 12, 0))


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: not really aware."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_created_at_without_utc_offset_is_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        Ping(text="hi", created_at=datetime(2024, 5, 1, 12, 0, tzinfo=_NoOffset()))


def test_aware_created_at_is_converted_to_utc() -> None:
    paris_summer = timezone(timedelta(hours=2))

    message = Ping(
        text="hi", created_at=datetime(2024, 5, 1, 12, 0, tzinfo=paris_summer)
    )

    assert message.created_at.tzinfo is UTC
    assert message.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert message.created_at.hour == 10


# equality and repr ----------------------------------------------------------


def test_equality_ignores_id_and_timestamp() -> None:
    first = Ping(text="hi", count=2)
    second = Ping(
        text="hi",
        count=2,
        created_at=datetime(2000, 1, 1, tzinfo=UTC),
    )

    assert first.message_id != second.message_id
    assert first.created_at != second.created_at
    assert first == second


def test_equality_compares_content() -> None:
    assert Ping(text="hi") != Ping(text="ho")
    assert Ping(text="hi", count=1) != Ping(text="hi", count=2)
    assert Ping(text="hi") != Ping(
        text="hi", metadata=Metadata(name="ping", schema_version=2)
    )


def test_messages_of_different_classes_are_not_equal() -> None:
    ping = Ping(text="hi")
    echo = Echo(text="hi")

    assert ping.model_dump(exclude={"message_id", "created_at"}) == echo.model_dump(
        exclude={"message_id", "created_at"}
    )
    assert ping != echo
    assert echo != ping


def test_comparing_with_a_non_message_is_not_implemented() -> None:
    ping = Ping(text="hi")

    assert ping.__eq__("hi") is NotImplemented
    assert (ping == "hi") is False
    assert ping != {"text": "hi", "count": 1}


def test_messages_are_not_hashable() -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(Ping(text="hi"))


def test_repr_shows_content_without_id_and_timestamp() -> None:
    message = Ping(text="hi", count=3)

    assert repr(message) == "<Ping text='hi' count=3>"
    assert str(message.message_id) not in repr(message)


# message_type_name ----------------------------------------------------------


def test_message_type_name_of_a_class() -> None:
    assert message_type_name(Ping) == "ping_v1"
    assert message_type_name(Pinged) == "pinged_v4"


def test_message_type_name_of_an_instance_uses_its_metadata() -> None:
    assert message_type_name(Pinged(text="hi")) == "pinged_v4"
    overridden = Ping(text="hi", metadata=Metadata(name="pong", schema_version=7))
    assert message_type_name(overridden) == "pong_v7"


@pytest.mark.parametrize("message_class", [Nameless, Command])
def test_message_type_name_of_a_class_without_default_metadata(
    message_class: type[GenericCommand[Metadata]],
) -> None:
    with pytest.raises(TypeError, match="declares no default Metadata"):
        message_type_name(message_class)


# metadata -------------------------------------------------------------------


def test_metadata_is_frozen() -> None:
    metadata = Metadata(name="ping", schema_version=1)

    with pytest.raises(ValidationError, match="frozen"):
        metadata.name = "pong"  # type: ignore[misc]
    assert metadata.name == "ping"
    assert metadata.published is False


def test_metadata_of_a_message_class_is_shared_and_cannot_change() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        Ping(text="hi").metadata.published = True  # type: ignore[misc]
    assert Ping(text="hi").metadata.published is False


# models ---------------------------------------------------------------------


def test_model_messages_start_empty_and_are_not_shared() -> None:
    first, second = Ball(colour="red"), Ball(colour="red")
    first.messages.append(Pinged(text="bounce"))

    assert first.messages == [Pinged(text="bounce")]
    assert second.messages == []


def test_model_messages_are_excluded_from_model_dump() -> None:
    ball = Ball(colour="red")
    ball.messages.append(Pinged(text="bounce"))

    assert ball.model_dump() == {"colour": "red"}
    assert "messages" not in ball.model_dump_json()


def test_model_equality_ignores_messages() -> None:
    quiet = Ball(colour="red")
    noisy = Ball(colour="red")
    noisy.messages.append(Pinged(text="bounce"))

    assert quiet == noisy
    assert Ball(colour="red") != Ball(colour="blue")


def test_models_of_different_classes_are_not_equal() -> None:
    assert Ball(colour="red") != Cube(colour="red")
    assert Ball(colour="red").__eq__(Cube(colour="red")) is False


def test_model_compared_with_a_non_model_is_not_implemented() -> None:
    ball = Ball(colour="red")

    assert ball.__eq__({"colour": "red"}) is NotImplemented
    assert (ball == {"colour": "red"}) is False
    assert ball != Pinged(text="red")


def test_models_are_not_hashable() -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(Ball(colour="red"))


def test_a_payload_round_trips_to_an_equal_message() -> None:
    from messagebus_django.core.messages import (
        ENVELOPE_FIELDS,
        from_payload,
        payload_of,
    )

    message = Ping(text="hi", count=3)
    payload = payload_of(message)
    assert not ENVELOPE_FIELDS & payload.keys()
    again = from_payload(
        Ping, payload, message_id=message.message_id, created_at=message.created_at
    )
    assert again == message
    assert (again.message_id, again.created_at) == (
        message.message_id,
        message.created_at,
    )
