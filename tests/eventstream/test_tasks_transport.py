"""The Tasks transport: events to the project's own consumers through Django Tasks.

With the immediate backend (the task runs when enqueued, after commit) and
with django-tasks-db's database backend (the task is enqueued in the
command's transaction; ``db_worker --batch`` runs it here, in-process; the
worker as a process of its own is tests/eventstream/test_tasks_worker.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messagebus_django import dispatch
from messagebus_django.conf import TASKS_TRANSPORT, conf
from messagebus_django.eventstream.checks import check_transports
from messagebus_django.eventstream.models import InboxMessage
from messagebus_django.eventstream.relay import OutboxRelay
from messagebus_django.eventstream.transports import (
    Envelope,
    InMemoryTransport,
    get_transport,
    reset_transport,
    transports,
)
from messagebus_django.eventstream.transports.tasks import TasksTransport
from messagebus_django.models import StoredMessage
from tests.background.conftest import DATABASE, IMMEDIATE
from tests.eventstream.helpers import published_poison
from tests.testapp.messages import RegisterDocument
from tests.testapp.models import DocumentActivity

pytestmark = pytest.mark.django_db(transaction=True)

CONSUMER = "testapp.tasks"
CONSUMERS = {CONSUMER: {"HANDLERS": ["tests.testapp.task_consumers"]}}


def register(
    code: str = "DOC-1", title: str = "Domain Driven Design"
) -> RegisterDocument:
    return RegisterDocument(code=code, title=title, author="Eric Evans")


def delivered() -> list[str]:
    return list(
        DocumentActivity.objects.filter(kind="delivered").values_list(
            "detail", flat=True
        )
    )


@pytest.fixture
def tasks_settings(settings: Any) -> Iterator[Any]:
    """The Tasks transport as ``"default"``, to the test app's task consumer."""
    settings.MESSAGEBUS_TRANSPORTS = {"default": {"BACKEND": TASKS_TRANSPORT}}
    settings.MESSAGEBUS_CONSUMERS = CONSUMERS
    settings.TASKS = {"default": {"BACKEND": IMMEDIATE}}
    reset_transport()
    yield settings
    reset_transport()


@pytest.fixture
def database_backend(tasks_settings: Any) -> Any:
    """django-tasks-db's backend: tasks in the command's database."""
    tasks_settings.TASKS = {"default": {"BACKEND": DATABASE}}
    return tasks_settings


def run_worker() -> None:
    """django-tasks-db's worker, in this process: every ready task, then exit."""
    call_command(
        "db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0
    )


def envelope_of(row: StoredMessage) -> Envelope:
    return Envelope(
        id=row.id,
        type=row.type,
        created_at=row.created_at,
        payload=row.payload,
        headers=row.headers,
    )


# The immediate backend: after commit -------------------------------------


def test_an_event_is_applied_by_the_consumer_once_the_command_commits(
    tasks_settings: Any,
) -> None:
    cmd = register()
    dispatch(cmd)
    assert delivered() == ["Domain Driven Design"]
    row = StoredMessage.objects.get(type="document_registered_v1")
    assert row.state == "sent"
    inbox = InboxMessage.objects.get()
    assert (inbox.consumer, inbox.message_id, inbox.type) == (
        CONSUMER,
        row.id,
        "document_registered_v1",
    )


def test_the_immediate_backend_is_not_in_the_transaction(tasks_settings: Any) -> None:
    transport = get_transport()
    assert isinstance(transport, TasksTransport)
    assert not transport.enqueues_in_transaction("default")


def test_a_delivery_sent_twice_is_applied_once(tasks_settings: Any) -> None:
    dispatch(register())
    row = StoredMessage.objects.get(type="document_registered_v1")
    transport = get_transport()
    assert transport is not None
    transport.send(envelope_of(row))
    assert delivered() == ["Domain Driven Design"]
    assert InboxMessage.objects.count() == 1


def test_a_poison_event_is_dead_in_the_outbox_with_the_reason(
    tasks_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A document that does not exist: the consumer's foreign key fails, every time."""
    row = published_poison(published_at=timezone.now())
    transport = get_transport()
    assert transport is not None
    transport.send(envelope_of(row))
    row.refresh_from_db()
    assert row.state == "dead"
    assert row.published_at is None
    assert row.last_error.startswith(
        f"DeliveryFailed: {CONSUMER}: handler failed 3 times: IntegrityError"
    )
    assert delivered() == []
    assert not InboxMessage.objects.exists()
    assert f"Delivering document_registered_v1 failed: {CONSUMER}" in caplog.text


def test_a_malformed_envelope_fails_the_task_and_is_logged(
    tasks_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    transport = get_transport()
    assert transport is not None
    transport.send(
        Envelope(
            id=uuid4(),
            type="document_registered_v1",
            created_at=timezone.now(),
            payload={"id": "not a uuid"},
        )
    )
    assert "invalid payload: id: Input should be a valid UUID" in caplog.text
    assert "Could not mark the event dead" not in caplog.text  # no row: nothing to mark


# django-tasks-db: in the command's transaction ------------------------------


def test_the_task_is_enqueued_in_the_transaction_and_the_row_marked_sent(
    database_backend: Any,
) -> None:
    transport = get_transport()
    assert isinstance(transport, TasksTransport)
    assert transport.enqueues_in_transaction("default")
    dispatch(register())
    task = DBTaskResult.objects.get()
    assert task.status == "READY"
    assert task.task_path == "messagebus_django.eventstream.task_consumer.deliver_event"
    body, headers = task.args_kwargs["args"]
    row = StoredMessage.objects.get(type="document_registered_v1")
    assert json.loads(body)["id"] == str(row.id)
    assert headers["message_type"] == "document_registered_v1"
    assert row.state == "sent"
    assert row.attempts == 1
    assert delivered() == []  # the worker applies it

    run_worker()
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert task.return_value == {CONSUMER: "applied"}
    assert delivered() == ["Domain Driven Design"]


def test_a_rolled_back_command_enqueues_nothing(database_backend: Any) -> None:
    class Abort(Exception):
        pass

    def command_then_failure() -> None:
        with transaction.atomic():
            dispatch(register(), durable=False)
            assert DBTaskResult.objects.count() == 1  # enqueued, in the transaction
            raise Abort

    with pytest.raises(Abort):
        command_then_failure()
    assert not DBTaskResult.objects.exists()
    assert not StoredMessage.objects.exists()
    run_worker()
    assert delivered() == []


def test_the_poison_task_fails_in_the_worker_and_the_row_is_dead(
    database_backend: Any,
) -> None:
    row = published_poison()
    report = OutboxRelay().relay_once()
    assert report.sent == 1
    run_worker()
    task = DBTaskResult.objects.get()
    assert task.status == "FAILED"
    assert task.exception_class_path.endswith("task_consumer.DeliveryFailed")
    assert "handler failed 3 times" in task.traceback
    row.refresh_from_db()
    assert (row.state, row.published_at) == ("dead", None)
    # The admin's Retry makes it pending: the relay sends it again.
    StoredMessage.objects.filter(pk=row.pk).update(dead=False, attempts=0)
    assert OutboxRelay().relay_once().sent == 1
    assert DBTaskResult.objects.count() == 2


def test_a_type_no_consumer_takes_enqueues_nothing(database_backend: Any) -> None:
    database_backend.MESSAGEBUS_CONSUMERS = {
        CONSUMER: {
            "HANDLERS": ["tests.testapp.task_consumers"],
            "TYPES": ["document_discontinued_v1"],
        }
    }
    dispatch(register())
    assert not DBTaskResult.objects.exists()
    assert StoredMessage.objects.get(type="document_registered_v1").state == "sent"


def test_the_consumer_s_types_come_from_its_handlers(database_backend: Any) -> None:
    """Without TYPES, a task is enqueued; the worker skips types nobody handles."""
    transport = get_transport()
    assert transport is not None
    transport.send(
        Envelope(
            id=uuid4(),
            type="document_discontinued_v1",
            created_at=timezone.now(),
            payload={"id": str(uuid4()), "reason": "gone"},
        )
    )
    run_worker()
    task = DBTaskResult.objects.get()
    assert (task.status, task.return_value) == ("SUCCESSFUL", {})


def test_beside_another_default_transport_both_get_the_event(
    database_backend: Any,
) -> None:
    """The relay sends to "default" (here in memory, as RabbitMQ would be); the
    Tasks transport, under another name, enqueues in the transaction."""
    database_backend.MESSAGEBUS_TRANSPORTS = {
        "default": {
            "BACKEND": "messagebus_django.eventstream.transports.InMemoryTransport"
        },
        "local": {"BACKEND": TASKS_TRANSPORT},
    }
    reset_transport()
    memory = transports["default"]
    assert isinstance(memory, InMemoryTransport)
    dispatch(register())
    row = StoredMessage.objects.get(type="document_registered_v1")
    assert [e.id for e in memory.sent] == [row.id]
    assert row.state == "sent"
    assert row.attempts == 1  # sent once, by the relay: not marked by "local"
    run_worker()
    assert delivered() == ["Domain Driven Design"]


def test_a_database_outage_is_unavailable_not_a_refusal(
    database_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    from messagebus_django.eventstream.transports import TransportUnavailable

    def down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("the database is away")

    transport = get_transport()
    assert isinstance(transport, TasksTransport)
    monkeypatch.setattr(transport, "enqueue", down)
    with pytest.raises(TransportUnavailable, match="the database is away"):
        transport.send(
            Envelope(
                id=uuid4(),
                type="document_registered_v1",
                created_at=timezone.now(),
                payload={},
            )
        )


# The default transport and the checks ----------------------------------------


def test_with_consumers_and_no_broker_the_tasks_transport_is_the_default(
    settings: Any, unset_setting: Callable[[str], None]
) -> None:
    unset_setting("MESSAGEBUS_TRANSPORTS")
    assert conf.TRANSPORTS == {}  # no consumers: events wait in the outbox
    settings.MESSAGEBUS_CONSUMERS = CONSUMERS
    assert conf.TRANSPORTS == {"default": {"BACKEND": TASKS_TRANSPORT, "OPTIONS": {}}}
    reset_transport()
    assert isinstance(get_transport(), TasksTransport)
    settings.MESSAGEBUS_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
    assert conf.TRANSPORTS["default"]["BACKEND"].endswith("KombuTransport")
    unset_setting("MESSAGEBUS_BROKER_URL")
    settings.MESSAGEBUS_TRANSPORTS = {}
    assert conf.TRANSPORTS == {}  # said explicitly: no transport
    reset_transport()


def errors(transports_setting: dict[str, Any], **other: Any) -> list[str]:
    with override_settings(MESSAGEBUS_TRANSPORTS=transports_setting, **other):
        return [
            f"{m.id} {m.msg}"
            for m in check_transports(app_configs=None)
            if m.id == "messagebus_django.E013"
        ]


def test_the_checks_accept_a_good_configuration() -> None:
    assert (
        errors(
            {
                "default": {
                    "BACKEND": "messagebus_django.eventstream.transports.InMemoryTransport"
                },
                "local": {
                    "BACKEND": TASKS_TRANSPORT,
                    "OPTIONS": {"backend": "db", "queue_name": "default"},
                },
            },
            MESSAGEBUS_CONSUMERS=CONSUMERS,
            TASKS={"default": {"BACKEND": IMMEDIATE}, "db": {"BACKEND": DATABASE}},
        )
        == []
    )


@pytest.mark.parametrize(
    ("options", "consumers", "expected"),
    [
        ({"queue": "x"}, CONSUMERS, "unknown OPTIONS ['queue']"),
        ({"backend": "nope"}, CONSUMERS, "backend 'nope' is not in TASKS"),
        ({}, {}, "declares no consumer"),
        ({}, {"c": {"HANDLERS": "one.module"}}, "the entry 'c' is"),
        ({}, {"c": {"HANDLERS": ["m"], "TYPE": ["t"]}}, "the entry 'c' is"),
        ({}, {"c": {"HANDLERS": ["m"], "TYPES": []}}, "the entry 'c' is"),
    ],
)
def test_the_checks_say_what_is_wrong(
    options: dict[str, Any], consumers: Any, expected: str
) -> None:
    found = errors(
        {"default": {"BACKEND": TASKS_TRANSPORT, "OPTIONS": options}},
        MESSAGEBUS_CONSUMERS=consumers,
        TASKS={"default": {"BACKEND": DATABASE}},
    )
    assert len(found) == 1
    assert expected in found[0]


def test_only_the_default_transport_may_enqueue_after_commit() -> None:
    found = errors(
        {
            "default": {
                "BACKEND": "messagebus_django.eventstream.transports.InMemoryTransport"
            },
            "local": {"BACKEND": TASKS_TRANSPORT},
        },
        MESSAGEBUS_CONSUMERS=CONSUMERS,
        TASKS={"default": {"BACKEND": IMMEDIATE}},
    )
    assert found == [
        "messagebus_django.E013 MESSAGEBUS_TRANSPORTS['local']: the Tasks transport's "
        "backend 'default' does not store its tasks in MESSAGEBUS_DATABASE, so only "
        "the 'default' transport can use it."
    ]
