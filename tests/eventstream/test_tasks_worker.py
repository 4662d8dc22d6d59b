"""The Tasks transport with a real ``manage.py db_worker`` process.

On the test run's database: the SQLite file of ``make test``, or PostgreSQL
with ``DATABASE_URL`` (``make test-pg``). The worker's settings are
tests/eventstream/worker_settings.py; the test's own match them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from messagebus_django import dispatch
from messagebus_django.conf import TASKS_TRANSPORT
from messagebus_django.eventstream.models import InboxMessage
from messagebus_django.eventstream.relay import OutboxRelay
from messagebus_django.eventstream.transports import reset_transport
from tests.eventstream import worker_settings
from tests.eventstream.helpers import published_poison
from tests.faults.processes import ManagedProcess, database_environment, wait_until
from tests.testapp.messages import RegisterDocument
from tests.testapp.models import DocumentActivity

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_setup(settings: Any) -> Iterator[None]:
    settings.TASKS = worker_settings.TASKS
    settings.MESSAGEBUS_TRANSPORTS = {"default": {"BACKEND": TASKS_TRANSPORT}}
    settings.MESSAGEBUS_CONSUMERS = worker_settings.MESSAGEBUS_CONSUMERS
    reset_transport()
    yield
    reset_transport()


@pytest.fixture
def worker(worker_setup: None) -> Iterator[ManagedProcess]:
    """``manage.py db_worker`` on the test database, stopped (SIGTERM) afterwards."""
    process = ManagedProcess(
        "db_worker",
        "--no-startup-delay",
        "--no-reload",
        "--interval",
        "0.1",
        "--verbosity",
        "2",
        env={
            **database_environment(),
            "DJANGO_SETTINGS_MODULE": "tests.eventstream.worker_settings",
        },
    )
    process.wait_for_line("Starting worker")
    yield process
    process.stop()


def delivered() -> list[str]:
    return list(
        DocumentActivity.objects.filter(kind="delivered").values_list(
            "detail", flat=True
        )
    )


def test_the_worker_applies_each_committed_event_once(worker: ManagedProcess) -> None:
    for number in range(3):
        dispatch(RegisterDocument(code=f"W{number}", title=f"T{number}", author="A"))
    wait_until(
        lambda: DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 3,
        "the worker ran the three deliveries",
    )
    assert sorted(delivered()) == ["T0", "T1", "T2"]
    assert InboxMessage.objects.filter(consumer="testapp.tasks").count() == 3
    # Sent in the command's transaction: nothing for a relay to do.
    assert OutboxRelay().relay_once().fetched == 0
    assert worker.alive()


def test_a_poison_event_fails_its_task_and_is_dead_in_the_outbox(
    worker: ManagedProcess,
) -> None:
    row = published_poison()
    assert OutboxRelay().relay_once().sent == 1
    wait_until(
        lambda: DBTaskResult.objects.filter(status="FAILED").exists(),
        "the poison task failed",
    )
    row.refresh_from_db()
    assert row.state == "dead"
    assert "testapp.tasks: handler failed 3 times" in row.last_error
    worker.wait_for_line("Delivering document_registered_v1 failed")
    # The worker goes on with the next one.
    dispatch(RegisterDocument(code="W9", title="After the poison", author="A"))
    wait_until(lambda: delivered() == ["After the poison"], "the next one applied")
