"""Helpers of the broker tests: the skip marker, the test app's messages, queues."""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import os
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from kombu.connection import Connection
from kombu.entity import Queue
from kombu.message import Message as KombuMessage
from kombu.messaging import Producer

from messagebus_django import uuid7
from messagebus_django.eventstream.transports.kombu import (
    default_broker,
    topic_exchange,
)
from tests.testapp.messages import RegisterDocument

BROKER_URL = os.environ.get("BROKER_URL", "")

requires_broker = pytest.mark.skipif(
    not BROKER_URL, reason="BROKER_URL not set: the RabbitMQ tests need a broker"
)

MakeQueue = Callable[..., str]
"""The ``make_queue`` fixture: ``make_queue(*types)`` returns a new queue's name."""


REGISTERED = "document_registered_v1"
"""The wire name of the test app's ``DocumentRegistered``."""


def code(number: int) -> str:
    """A distinct document code for each ``number``."""
    return f"DOC{number:09d}"


def register(number: int = 0, **fields: str) -> RegisterDocument:
    """The test app's command registering document ``number``."""
    values = {"title": f"Document {number}", "author": "Eric Evans", **fields}
    return RegisterDocument(code=code(number), **values)


def envelope(**payload: Any) -> dict[str, Any]:
    """A ``document_registered_v1`` envelope as a producer sends it; ``payload``
    replaces fields of the payload."""
    return {
        "id": str(uuid7()),
        "created_at": "2026-11-26T07:00:00+00:00",
        "type": REGISTERED,
        "payload": {
            "id": str(uuid7()),
            "code": code(1),
            "title": "Implementing DDD",
            "author": "Vaughn Vernon",
            **payload,
        },
    }


def drain(broker: Connection, name: str) -> list[KombuMessage]:
    """Every message waiting in the queue ``name``, taken off it (no requeue)."""
    queue = Queue(name).bind(broker.default_channel)
    found: list[KombuMessage] = []
    while (message := queue.get(no_ack=True)) is not None:
        found.append(message)
    return found


def publish_raw(
    broker: Connection, body: bytes, *, routing_key: str, **properties: Any
) -> None:
    """Publish ``body`` as is to the project's exchange (as a foreign producer would)."""
    producer = Producer(
        broker.default_channel, exchange=topic_exchange(default_broker()[1])
    )
    producer.publish(
        body,
        routing_key=routing_key,
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,
        **properties,
    )


def consume(
    queue: str,
    *args: str,
    handlers: str = "tests.testapp.consumers",
    message_type: str = REGISTERED,
) -> str:
    """Run ``messagebus_consume`` on ``queue`` (``handlers``, one message
    ``message_type``, a short idle timeout, then ``args``); return what it printed."""
    out = StringIO()
    call_command(
        "messagebus_consume",
        "--queue",
        queue,
        "--handlers",
        handlers,
        "--type",
        message_type,
        "--idle-timeout",
        "0.2",
        *args,
        stdout=out,
    )
    return out.getvalue()
