"""Property-based tests of the consumer's decoding: any delivery has an outcome.

Whatever the body (bytes, JSON of any shape, envelopes with fields of the
wrong types), :meth:`Consumer.process` returns "applied", "duplicate" or
"dead" with a reason; it never raises, so the consumer never stops.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messagebus_django import AsyncMessageBus, AsyncUnitOfWorkTransaction
from messagebus_django.eventstream.consumer import Consumer, Outcome
from tests.testapp.messages import DocumentRegistered

pytestmark = pytest.mark.django_db

TYPE = "document_registered_v1"

PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    ["id", "code", "title", "author", "metadata", "message_id", "created_at"]
)
payloads = st.dictionaries(fields, json_values | st.uuids().map(str), max_size=7)
envelopes = st.fixed_dictionaries(
    {
        "id": st.uuids().map(str) | json_values,
        "type": st.just(TYPE) | json_values,
        "payload": payloads | json_values | payloads.map(json.dumps),
    },
    optional={"created_at": st.datetimes().map(str) | json_values},
)
valid_payloads = st.fixed_dictionaries(
    {
        "id": st.uuids().map(str),
        "code": st.text(max_size=20),
        "title": st.text(),
        "author": st.text(),
    },
    optional={"metadata": json_values, "message_id": json_values},
)


@pytest.fixture
def consumer() -> Consumer:
    async def accept(
        event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        # The envelope is the type's, whatever the payload carried.
        assert (event.metadata.name, event.metadata.schema_version) == (
            "document_registered",
            1,
        )

    bus = AsyncMessageBus()
    bus.add_listener(DocumentRegistered, accept)
    return Consumer("properties", bus=bus, max_attempts=1, sleep=lambda s: None)


def check(outcome: Outcome) -> None:
    assert outcome.status in {"applied", "duplicate", "dead"}
    if outcome.status == "dead":
        assert outcome.reason


@PROPERTIES
@given(body=st.binary(max_size=2000))
def test_any_bytes(consumer: Consumer, body: bytes) -> None:
    check(consumer.process(body))


@PROPERTIES
@given(value=json_values)
def test_any_json(consumer: Consumer, value: Any) -> None:
    check(consumer.process(json.dumps(value).encode()))


@PROPERTIES
@given(envelope=envelopes)
def test_any_envelope(consumer: Consumer, envelope: dict[str, Any]) -> None:
    check(consumer.process(json.dumps(envelope)))


@PROPERTIES
@given(event_id=st.uuids(), payload=valid_payloads)
def test_a_valid_payload_is_applied_whatever_else_it_carries(
    consumer: Consumer, event_id: Any, payload: dict[str, Any]
) -> None:
    body = json.dumps({"id": str(event_id), "type": TYPE, "payload": payload})
    outcome = consumer.process(body)
    assert outcome.status in {"applied", "duplicate"}, outcome.reason


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_deep_nesting_is_dead_not_an_exception(consumer: Consumer, depth: int) -> None:
    outcome = consumer.process(b"[" * depth + b"]" * depth)
    assert outcome.status == "dead"
    assert outcome.reason.startswith("cannot be processed: RecursionError")
