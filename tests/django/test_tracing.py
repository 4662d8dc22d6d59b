"""Tracing across the request, the outbox, the broker headers and the consumer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from django.test import Client, override_settings

from messagebus_django import AsyncMessageBus, AsyncUnitOfWorkTransaction, dispatch
from messagebus_django.eventstream.consumer import Consumer
from messagebus_django.eventstream.relay import OutboxRelay
from messagebus_django.eventstream.transports import InMemoryTransport
from messagebus_django.operations.log import MessageContextFilter
from tests.django.commands import Batch
from tests.testapp.messages import (
    DocumentDiscontinued,
    DocumentRegistered,
    RegisterDocument,
)

pytestmark = pytest.mark.django_db

REQUEST_ID = "01900000-0000-7000-8000-0000000000aa"


@pytest.fixture
def librarian(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("librarian", password="pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("given", [None, "not-a-uuid"])
def test_a_missing_or_bad_request_id_starts_a_new_trace(
    librarian: Client, given: str | None
) -> None:
    extra = {"headers": {"X-Request-ID": given}} if given else {}
    response = librarian.get("/", **extra)  # type: ignore[arg-type]
    returned = UUID(response.headers["X-Request-ID"])
    assert returned.version == 7


def test_the_relay_sends_the_ids_and_the_consumer_restores_them(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    from messagebus_django.core.tracing import correlation_id

    request_id = UUID(REQUEST_ID)
    command = RegisterDocument(code="0-321-12521-5", title="DDD", author="Evans")
    token = correlation_id.set(request_id)  # as the middleware does
    try:
        dispatch(command)
    finally:
        correlation_id.reset(token)
    transport = InMemoryTransport()
    OutboxRelay(transport).relay_pending()
    [envelope] = transport.sent
    # Two different ids, so a swap would show.
    assert envelope.headers == {
        "correlation_id": REQUEST_ID,
        "causation_id": str(command.message_id),
    }

    seen: list[DocumentRegistered] = []
    follow_ups: list[DocumentDiscontinued] = []

    async def remember(
        event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        seen.append(event)
        batch = Batch(titles=[event.title])
        batch.messages.append(DocumentDiscontinued(id=event.id, reason="mirror"))
        await uow.batches.add(batch)

    async def follow_up(
        event: DocumentDiscontinued, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        follow_ups.append(event)

    bus = AsyncMessageBus()
    bus.add_listener(DocumentRegistered, remember)
    bus.add_listener(DocumentDiscontinued, follow_up)
    consumer = Consumer("trace", bus=bus)
    with override_settings(
        MESSAGEBUS_UNIT_OF_WORK="tests.django.commands.ScratchUnitOfWork"
    ):
        assert consumer.process(envelope.body(), envelope.headers).status == "applied"
    assert seen[0].metadata.correlation_id == request_id
    assert seen[0].metadata.causation_id == command.message_id
    # What the consumer's handlers raise stays in the producer's trace.
    assert follow_ups[0].metadata.correlation_id == request_id
    assert follow_ups[0].metadata.causation_id == seen[0].message_id


def test_log_records_of_a_dispatch_carry_the_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.tracing")

    async def log_it(
        event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        logger.warning("registered %s", event.title)

    from messagebus_django import get_bus

    bus = get_bus()
    bus.add_listener(DocumentRegistered, log_it)
    caplog.handler.addFilter(MessageContextFilter())
    command = RegisterDocument(code="0-321-12521-5", title="DDD", author="Evans")
    try:
        dispatch(command)
    finally:
        bus.remove_listener(DocumentRegistered, log_it)
        caplog.handler.removeFilter(caplog.handler.filters[-1])
    [record] = [r for r in caplog.records if r.name == "tests.tracing"]
    assert record.correlation_id == str(command.message_id)  # type: ignore[attr-defined]
    assert record.causation_id == str(command.message_id)  # type: ignore[attr-defined]
    assert record.message_type == "document_registered_v1"  # type: ignore[attr-defined]


def test_log_records_outside_a_dispatch() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    assert MessageContextFilter().filter(record)
    assert (record.correlation_id, record.message_id) == ("-", "-")  # type: ignore[attr-defined]


def test_the_middleware_under_asgi() -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    async def get() -> Any:
        return await AsyncClient().get("/", headers={"X-Request-ID": REQUEST_ID})

    response = async_to_sync(get)()
    assert response.headers["X-Request-ID"] == REQUEST_ID
