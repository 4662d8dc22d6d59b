"""Handling an event with a background handler enqueues a task: when, what, and
what the task does, with the ImmediateBackend, the DummyBackend and
django-tasks-db's DatabaseBackend (its worker: tests/background/test_worker.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from messagebus_django import Err, dispatch
from messagebus_django.background.enqueue import TASK_PATH
from messagebus_django.background.runner import apply
from messagebus_django.models import HandledEvent
from tests.background.conftest import DATABASE, IMMEDIATE, with_background
from tests.testapp.messages import RegisterDocument
from tests.testapp.models import DocumentActivity

HANDLER = "tests.testapp.background_handlers:index_document"


def indexed() -> list[str]:
    return list(
        DocumentActivity.objects.filter(kind="indexed").values_list("detail", flat=True)
    )


def register(title: str = "Dune", code: str = "D1") -> Any:
    return dispatch(RegisterDocument(code=code, title=title, author="Herbert"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate")
def test_the_immediate_backend_runs_the_handler_after_commit_in_its_own_transaction() -> (
    None
):
    register()
    assert indexed() == ["Dune"]
    (handled,) = HandledEvent.objects.all()
    assert handled.handler == HANDLER
    assert handled.type == "document_registered_v1"
    assert handled.task_id


@pytest.mark.django_db(transaction=True)
def test_a_failing_handler_fails_its_task_and_says_so(
    immediate: None, caplog: pytest.LogCaptureFixture
) -> None:
    from messagebus_django.background.compat import framework

    finished: list[Any] = []

    def keep(sender: Any, task_result: Any, **kwargs: Any) -> None:
        finished.append(task_result)

    signal = framework().signals.task_finished
    signal.connect(keep)
    try:
        with caplog.at_level(logging.ERROR, logger="messagebus_django.background"):
            register(title="Broken document")
    finally:
        signal.disconnect(keep)
    # The command committed; its background work failed, visibly.
    assert indexed() == []
    assert not HandledEvent.objects.exists()
    (result,) = finished
    assert result.status == "FAILED"
    assert "BrokenDocumentError: cannot index 'Broken document'" in (
        result.errors[0].traceback
    )
    (record,) = [r for r in caplog.records if r.name == "messagebus_django.background"]
    event_id = result.kwargs["event"]["id"]
    assert record.getMessage().startswith(
        f"Background handler {HANDLER} failed on document_registered_v1 {event_id}"
    )


@pytest.mark.django_db(transaction=True)
def test_the_task_carries_the_wire_envelope_and_the_handler(dummy: Any) -> None:
    register()
    (result,) = dummy.results
    assert result.task.module_path == TASK_PATH
    kwargs = result.kwargs
    assert kwargs["handler"] == HANDLER
    envelope = kwargs["event"]
    assert set(envelope) == {"id", "created_at", "type", "payload"}
    assert envelope["type"] == "document_registered_v1"
    assert envelope["payload"]["title"] == "Dune"
    assert set(kwargs["headers"]) == {"correlation_id", "causation_id"}
    # Nothing ran: the DummyBackend keeps tasks.
    assert indexed() == []


@pytest.mark.django_db(transaction=True)
def test_each_event_is_applied_once_per_handler(dummy: Any) -> None:
    register()
    (result,) = dummy.results
    assert apply(**result.kwargs, task_id="first") == "applied"
    assert apply(**result.kwargs, task_id="again") == "duplicate"
    assert indexed() == ["Dune"]
    assert HandledEvent.objects.get().task_id == "first"


@pytest.mark.django_db(transaction=True)
def test_the_task_restores_the_tracing_ids(dummy: Any) -> None:
    from messagebus_django.testing import capture_events

    register()
    (result,) = dummy.results
    with capture_events() as captured:
        apply(**result.kwargs)
    del captured
    handled = HandledEvent.objects.get()
    assert str(handled.message_id) == result.kwargs["event"]["id"]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_command_enqueues_nothing(dummy: Any) -> None:
    register()
    dummy.clear()
    # The same code again: the command handler returns an Err, rolled back.
    assert isinstance(register(title="Other"), Err)
    with pytest.raises(ZeroDivisionError):
        register_then_fail()
    assert dummy.results == []


def register_then_fail(check: Callable[[], None] = lambda: None) -> None:
    """A command that commits into an outer block, which then rolls back."""
    with transaction.atomic():
        dispatch(
            RegisterDocument(code="D3", title="Third", author="Herbert"),
            durable=False,
        )
        check()
        raise ZeroDivisionError


@pytest.mark.django_db(transaction=True)
def test_after_commit_waits_for_the_outer_commit(dummy: Any) -> None:
    with transaction.atomic():
        dispatch(
            RegisterDocument(code="D1", title="Dune", author="Herbert"), durable=False
        )
        assert dummy.results == []
    assert len(dummy.results) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("database_backend")
def test_a_database_backend_on_the_same_database_enqueues_inside_the_transaction() -> (
    None
):
    from django_tasks_db.models import DBTaskResult

    seen: list[int] = []
    with pytest.raises(ZeroDivisionError):
        # In the command's transaction, before its COMMIT.
        register_then_fail(
            lambda: seen.append(DBTaskResult.objects.filter(status="READY").count())
        )
    assert seen == [1]
    # Rolled back with the command.
    assert not DBTaskResult.objects.exists()
    register()
    (task,) = DBTaskResult.objects.all()
    assert task.status == "READY"
    assert task.task_path == TASK_PATH
    assert task.args_kwargs["kwargs"]["handler"] == HANDLER


@pytest.mark.django_db(transaction=True)
def test_the_task_goes_to_the_backend_queue_and_priority_asked() -> None:
    from django_tasks_db.models import DBTaskResult

    from messagebus_django.background.enqueue import handler_task
    from messagebus_django.core.handlers import Background

    with with_background(DATABASE, QUEUES=["default", "slow"]):
        task = handler_task(Background(queue_name="slow", priority=7))
        task.enqueue(event={}, handler="x", headers={})
        stored = DBTaskResult.objects.get()
    assert (stored.queue_name, stored.priority) == ("slow", 7)


@pytest.mark.django_db(transaction=True)
def test_an_unknown_handler_fails_the_task_clearly(dummy: Any) -> None:
    register()
    (result,) = dummy.results
    with pytest.raises(
        Exception, match="No event handler 'gone:handler' is registered"
    ):
        apply(**{**result.kwargs, "handler": "gone:handler"})
    with pytest.raises(Exception, match="carries a 'other_v1' event"):
        apply(
            **{**result.kwargs, "event": {**result.kwargs["event"], "type": "other_v1"}}
        )


# Stale and failed tasks, run again ---------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("database_backend")
def test_requeue_puts_stale_running_and_failed_tasks_back_to_ready() -> None:
    from django_tasks_db.models import DBTaskResult

    register(title="One", code="A1")
    register(title="Two", code="A2")
    register(title="Three", code="A3")
    one, two, three = DBTaskResult.objects.order_by("enqueued_at")
    long_ago = timezone.now() - timedelta(hours=1)
    DBTaskResult.objects.filter(pk=one.pk).update(status="RUNNING", started_at=long_ago)
    DBTaskResult.objects.filter(pk=two.pk).update(
        status="RUNNING", started_at=timezone.now()
    )
    DBTaskResult.objects.filter(pk=three.pk).update(
        status="FAILED", started_at=long_ago, finished_at=long_ago
    )
    out = StringIO()
    call_command("messagebus_requeue_tasks", stdout=out)
    assert out.getvalue() == (
        "Re-enqueued 1 stale background task(s) (RUNNING for more than 600 s).\n"
    )
    out = StringIO()
    call_command(
        "messagebus_requeue_tasks", "--failed", "--backend", "default", stdout=out
    )
    assert "0 stale" in out.getvalue()
    assert "and 1 failed one(s)" in out.getvalue()
    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert statuses == {one.pk: "READY", two.pk: "RUNNING", three.pk: "READY"}
    call_command("messagebus_requeue_tasks", "--older-than", "0", stdout=StringIO())
    assert DBTaskResult.objects.get(pk=two.pk).status == "READY"


def test_requeue_needs_django_tasks_db() -> None:
    from django.conf import settings

    apps = [app for app in settings.INSTALLED_APPS if app != "django_tasks_db"]
    with (
        override_settings(INSTALLED_APPS=apps),
        pytest.raises(CommandError, match="django-tasks-db is not installed"),
    ):
        call_command("messagebus_requeue_tasks")


def test_requeue_refuses_a_negative_lease() -> None:
    with pytest.raises(CommandError, match="--older-than"):
        call_command("messagebus_requeue_tasks", "--older-than", "-1")


# System checks ------------------------------------------------------------


def check_ids() -> list[str]:
    return [
        m.id or ""
        for m in run_checks()
        if "E02" in (m.id or "") or "W02" in (m.id or "")
    ]


def test_the_immediate_backend_in_production_is_a_warning() -> None:
    with with_background(IMMEDIATE):
        assert check_ids() == ["messagebus_django.W020"]
        with override_settings(DEBUG=True):
            assert check_ids() == []


def test_a_backend_that_refuses_the_task_is_an_error() -> None:
    with with_background(DATABASE, QUEUES=["other"]):
        (message,) = [m for m in run_checks() if m.id == "messagebus_django.E021"]
    assert "index_document cannot be enqueued" in message.msg
    assert "default" in message.msg


def test_a_database_backend_passes_the_checks() -> None:
    with with_background(DATABASE):
        assert check_ids() == []


def test_no_background_handler_no_check() -> None:
    assert check_ids() == []
