"""Handling an event with a background handler enqueues a task: when, what, and
what the task does, with the ImmediateBackend, the DummyBackend and
django-tasks-db's DatabaseBackend (its worker: tests/background/test_worker.py)."""

from __future__ import annotations

import dataclasses
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
from django.utils.module_loading import import_string

from messagebus_django import Err, dispatch
from messagebus_django.background.enqueue import TASK_PATH
from messagebus_django.background.runner import apply
from messagebus_django.core.handlers import Background
from messagebus_django.models import HandledEvent
from tests.background.conftest import (
    DATABASE,
    DUMMY,
    IMMEDIATE,
    with_background,
)
from tests.testapp.messages import RegisterDocument
from tests.testapp.models import DocumentActivity

HANDLER = "tests.testapp.background_handlers:index_document"
DummyBackend = import_string(DUMMY)


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
    from messagebus_django.signals import message_handled

    seen: list[Any] = []

    def keep(sender: Any, message: Any, **kwargs: Any) -> None:
        seen.append(message)

    message_handled.connect(keep)
    try:
        register()
        (command, event) = seen
        (result,) = dummy.results
        seen.clear()
        apply(**result.kwargs)
    finally:
        message_handled.disconnect(keep)
    (again,) = seen
    assert again.message_id == event.message_id
    assert again.metadata.correlation_id == command.metadata.correlation_id
    assert again.metadata.causation_id == command.message_id


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


@pytest.mark.django_db(transaction=True)
def test_the_admin_shows_what_background_handlers_applied(
    dummy: Any, admin_client: Any
) -> None:
    from django.urls import reverse

    register()
    (result,) = dummy.results
    apply(**result.kwargs, task_id="task-1")
    response = admin_client.get(
        reverse("admin:messagebus_django_handledevent_changelist")
    )
    assert response.status_code == 200
    assert HANDLER in response.content.decode()
    assert "task-1" in response.content.decode()


def test_messagebus_handlers_shows_background_handlers() -> None:
    import json

    with with_background(DATABASE):
        out = StringIO()
        call_command("messagebus_handlers", stdout=out)
        assert f"    -> {HANDLER}  async  background\n" in out.getvalue()
        out = StringIO()
        call_command("messagebus_handlers", "--json", stdout=out)
    (registered,) = [
        e for e in json.loads(out.getvalue()) if e["type"] == "document_registered_v1"
    ]
    (handler,) = [h for h in registered["handlers"] if h["handler"] == HANDLER]
    assert handler["background"] == {
        "backend": None,
        "queue_name": None,
        "priority": None,
    }


def test_the_options_of_a_background_handler_are_shown() -> None:
    from messagebus_django.core.handlers import Background
    from messagebus_django.operations.introspection import _background_text

    assert _background_text(Background(queue_name="mail", priority=3)) == (
        "background (queue_name: mail, priority: 3)"
    )


# The sync path, and what cannot be enqueued ------------------------------


def sync_bus(backend: str) -> override_settings:
    return override_settings(
        MESSAGEBUS_HANDLER_MODULES=["tests.background.sync_handlers"],
        TASKS={"default": {"BACKEND": backend}},
    )


@pytest.mark.django_db(transaction=True)
def test_an_all_sync_bus_defers_and_runs_its_background_handler() -> None:
    from tests.background.sync_handlers import SyncRegister

    with sync_bus(IMMEDIATE):
        dispatch(SyncRegister(code="S1", title="Sync"))
    assert indexed() == ["sync Sync"]


@pytest.mark.django_db(transaction=True)
def test_an_all_sync_bus_rolled_back_enqueues_nothing() -> None:
    from messagebus_django.background.compat import backends
    from tests.background.sync_handlers import SyncRegister

    with sync_bus(DUMMY):
        assert isinstance(dispatch(SyncRegister(code="S1", title="Refused")), Err)
        assert backends()["default"].results == []


class UnreachableBackend(DummyBackend):  # type: ignore[misc,valid-type]
    """A backend whose store is down."""

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        raise ConnectionError("the task store is down")


@pytest.mark.django_db(transaction=True)
def test_a_task_that_cannot_be_enqueued_after_commit_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        with_background(f"{__name__}.UnreachableBackend"),
        caplog.at_level(logging.ERROR, logger="messagebus_django.background"),
    ):
        register()
    (record,) = [r for r in caplog.records if r.name == "messagebus_django.background"]
    assert record.getMessage().startswith(
        f"Could not enqueue the background handler {HANDLER} for "
        "document_registered_v1 "
    )
    assert "the task store is down" in caplog.text
    # The command itself committed.
    assert DocumentActivity.objects.filter(kind="registered").count() == 1


def test_without_django_tasks_db_no_backend_stores_in_the_database() -> None:
    from django.conf import settings

    from messagebus_django.background.compat import backends
    from messagebus_django.background.enqueue import stores_in

    with with_background(DATABASE):
        backend = backends()["default"]
        assert stores_in(backend, "default")
        assert not stores_in(backend, "other")
    apps = [app for app in settings.INSTALLED_APPS if app != "django_tasks_db"]
    with override_settings(INSTALLED_APPS=apps):
        assert not stores_in(backend, "default")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate")
def test_adispatch_runs_the_background_handler_after_commit() -> None:
    from asgiref.sync import async_to_sync

    from messagebus_django import adispatch

    # From async_to_sync, adispatch's thread-sensitive work comes back to this
    # thread and its database connection (none is left open elsewhere).
    async_to_sync(adispatch)(
        RegisterDocument(code="A1", title="Async", author="Herbert")
    )
    assert indexed() == ["Async"]


def test_without_a_tasks_framework_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The tasks extra is in the dev group: hide the framework, as a project
    # without the extra on Django 5.2 would be.
    from messagebus_django.background import compat
    from messagebus_django.background.checks import check_background_handlers
    from messagebus_django.dispatching.bus import get_bus

    monkeypatch.setattr(compat, "find_spec", lambda name: None)
    monkeypatch.setattr(compat, "_found", None)
    with pytest.raises(compat.TasksFrameworkMissing, match=r"\[tasks\]"):
        compat.framework()
    with with_background(IMMEDIATE):
        (error,) = check_background_handlers(get_bus().registrations())
    assert error.id == "messagebus_django.E020"
    assert 'pip install "messagebus-django[tasks]"' in error.msg


def test_an_unknown_backend_is_an_error() -> None:
    with with_background(DATABASE):
        from messagebus_django.background.checks import check_background_handlers
        from messagebus_django.core import Registration
        from messagebus_django.dispatching.bus import get_bus

        (registration,) = [
            r for r in get_bus().registrations() if r.background is not None
        ]
        elsewhere = dataclasses.replace(
            registration, background=Background(backend="elsewhere")
        )
        assert isinstance(elsewhere, Registration)
        (error,) = check_background_handlers([elsewhere])
    assert error.id == "messagebus_django.E021"
    assert "elsewhere" in error.msg


def test_a_database_backend_without_its_app_is_an_error() -> None:
    from django.conf import settings

    apps = [app for app in settings.INSTALLED_APPS if app != "django_tasks_db"]
    with with_background(DATABASE), override_settings(INSTALLED_APPS=apps):
        messages = [m for m in run_checks() if m.id == "messagebus_django.E021"]
    assert [m.msg for m in messages] == [
        f"The background handler {HANDLER} goes to django-tasks-db's "
        "DatabaseBackend, and 'django_tasks_db' is not in INSTALLED_APPS: its "
        "tasks could not be stored."
    ]


def test_the_task_is_made_even_where_the_default_queue_is_refused() -> None:
    from messagebus_django.background.enqueue import handler_task
    from messagebus_django.background.tasks import (
        define_task,
        run_background_handler,
    )

    func = run_background_handler.func
    for tasks in (
        {"default": {"BACKEND": DATABASE, "QUEUES": ["mail"]}},
        {"mail": {"BACKEND": DATABASE}},
    ):
        with override_settings(TASKS=tasks):
            task = define_task(func)
            assert (task.func, task.queue_name, task.takes_context) == (
                func,
                "default",
                True,
            )
    # Each handler's options are checked when it is enqueued.
    with with_background(DATABASE, QUEUES=["mail"]):
        assert handler_task(Background(queue_name="mail")).queue_name == "mail"
        with pytest.raises(Exception, match="Queue 'default' is not valid"):
            handler_task(Background())


@pytest.mark.django_db(transaction=True)
def test_a_background_handler_gets_its_dependencies_and_their_after_commit_hook() -> (
    None
):
    from django.conf import settings

    from tests.testapp.notifications import SENT

    SENT.clear()
    with override_settings(
        MESSAGEBUS_HANDLER_MODULES=[
            *settings.MESSAGEBUS_HANDLER_MODULES,
            "tests.background.notifying_handlers",
        ],
        TASKS={"default": {"BACKEND": IMMEDIATE}},
    ):
        register(title="Dune")
        register(title="Broken", code="B1")
    # The in-transaction notify_readers' notes, and the background handler's
    # once its own transaction committed; nothing from the failed one.
    assert [subject for subject, _ in SENT] == [
        "New document: Dune",
        "Background: Dune",
        "New document: Broken",
    ]
    SENT.clear()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("database_backend")
def test_messagebus_db_worker_puts_stale_tasks_back_then_works() -> None:
    import signal

    from django_tasks_db.models import DBTaskResult

    register()
    DBTaskResult.objects.update(
        status="RUNNING", started_at=timezone.now() - timedelta(hours=1)
    )
    # db_worker installs its own SIGINT/SIGTERM handlers and sets its loggers'
    # levels: give the test process its own back.
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    loggers = [logging.getLogger(name) for name in ("django_tasks", "django.tasks")]
    loggers.append(logging.getLogger("django_tasks_db"))
    levels = [logger.level for logger in loggers]
    out = StringIO()
    try:
        call_command(
            "messagebus_db_worker",
            "--batch",
            "--no-reload",
            "--no-startup-delay",
            "--verbosity",
            "0",
            stdout=out,
        )
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    assert out.getvalue() == (
        "Re-enqueued 1 stale background task(s) (RUNNING for more than 600 s).\n"
    )
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert indexed() == ["Dune"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("database_backend")
def test_requeue_takes_back_stale_deliveries_but_not_failed_ones() -> None:
    from django_tasks_db.models import DBTaskResult

    from messagebus_django.background.recovery import (
        DELIVERY_TASK_PATH,
        requeue_tasks,
    )

    long_ago = timezone.now() - timedelta(hours=1)

    def row(status: str, path: str = DELIVERY_TASK_PATH) -> Any:
        return DBTaskResult.objects.create(
            args_kwargs={"args": [], "kwargs": {}},
            task_path=path,
            backend_name="default",
            status=status,
            started_at=long_ago,
        )

    stale, failed, other = row("RUNNING"), row("FAILED"), row("RUNNING", "x.y")
    assert requeue_tasks(older_than=60, failed=True).stale == 1
    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert statuses == {stale.pk: "READY", failed.pk: "FAILED", other.pk: "RUNNING"}
