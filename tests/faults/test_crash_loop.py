"""A delivery that kills its consumer is dead-lettered after a few redeliveries.

Real ``manage.py messagebus_consume`` processes: the handler of
``tests.faults.crashing_handlers`` ends the process (``os._exit``) on one
title, as a segfault or the OOM killer would. Before: every restart got the
same delivery back and died on it, for ever.
"""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import json
from typing import Any

import pytest
from kombu.connection import Connection

from messagebus_django.eventstream.models import InboxMessage, RedeliveredMessage
from tests.broker.helpers import (
    REGISTERED,
    MakeQueue,
    drain,
    envelope,
    publish_raw,
    requires_broker,
)
from tests.faults.crashing_handlers import CRASH_TITLE
from tests.faults.processes import ManagedProcess, database_environment

pytestmark = [requires_broker, pytest.mark.django_db(transaction=True)]

TYPE = REGISTERED


def test_a_delivery_that_keeps_killing_the_consumer_is_dead_lettered(
    broker: Connection, make_queue: MakeQueue
) -> None:
    queue = make_queue(TYPE)
    crash = envelope(title=CRASH_TITLE)
    good = envelope(title="A quiet document")
    # The broker's message_id property identifies a delivery across restarts.
    publish_raw(
        broker, json.dumps(crash).encode(), routing_key=TYPE, message_id=crash["id"]
    )
    publish_raw(broker, json.dumps(good).encode(), routing_key=TYPE)

    exit_codes: list[int] = []
    runs: list[ManagedProcess] = []
    for _ in range(5):  # bounded: the fix needs 3 runs with one redelivery allowed
        consumer = ManagedProcess(
            "messagebus_consume",
            "--queue",
            queue,
            "--handlers",
            "tests.faults.crashing_handlers",
            "--type",
            TYPE,
            "--max-messages",
            "2",
            "--idle-timeout",
            "0.2",
            env=database_environment(),
            messagebus={"CONSUMER_MAX_REDELIVERIES": 1},
        )
        runs.append(consumer)
        exit_codes.append(consumer.wait())
        if exit_codes[-1] == 0:
            break

    # Died on it, died on its first redelivery, then set it aside and went on.
    assert exit_codes == [70, 70, 0], runs[-1].output
    assert "Consumer stopped: applied 1, duplicate 0, dead 1, given back 0." in (
        runs[-1].output
    )
    [dead] = drain(broker, f"{queue}.dead")
    assert json.loads(dead.body)["id"] == crash["id"]
    assert dead.headers["x-dead-reason"].startswith(
        "redelivered 2 times without being settled"
    )
    assert list(InboxMessage.objects.values_list("message_id", flat=True)) == [
        uuid_of(good)
    ]
    assert not RedeliveredMessage.objects.exists()  # settled: the count is gone
    assert drain(broker, queue) == []


def uuid_of(envelope: dict[str, Any]) -> Any:
    from uuid import UUID

    return UUID(envelope["id"])
