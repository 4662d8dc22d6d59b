"""A real ``manage.py db_worker`` (django-tasks-db) runs the background handler:
on SQLite (a file) and on PostgreSQL (``DATABASE_URL``); a failure is a FAILED
task with its traceback and a log line; a worker killed mid-handler leaves the
task RUNNING, ``messagebus_requeue_tasks`` puts it back, and a new worker
applies it, once."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from messagebus_django import dispatch
from messagebus_django.models import HandledEvent
from tests.background.processes import Worker
from tests.faults.processes import wait_until
from tests.testapp.messages import RegisterDocument
from tests.testapp.models import DocumentActivity

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("database_backend"),
]

HANDLER = "tests.testapp.background_handlers:index_document"


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Workers the test starts; stopped (or killed) at its end."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()
    # PostgreSQL ends a killed client's session on its own time: wait for it,
    # or the test database cannot be dropped at the end of the run.
    wait_until(lambda: not worker_sessions(), "the workers' sessions are gone")


def worker_sessions() -> int:
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            ["messagebus-background-worker"],
        )
        (count,) = cursor.fetchone()
    return int(count)


def start(workers: list[Worker], *, gate: bool = False, **how: Any) -> Worker:
    worker = Worker(gate=gate, **how)
    workers.append(worker)
    return worker


def task() -> Any:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.get()


def status() -> str:
    return str(task().status)


def indexed() -> list[str]:
    return list(
        DocumentActivity.objects.filter(kind="indexed").values_list("detail", flat=True)
    )


def register(title: str) -> None:
    dispatch(RegisterDocument(code="W1", title=title, author="Herbert"))


def test_the_worker_runs_the_handler(workers: list[Worker]) -> None:
    register("Dune")
    assert status() == "READY"
    start(workers)
    wait_until(lambda: status() == "SUCCESSFUL", "the worker ran the task")
    assert indexed() == ["Dune"]
    assert task().return_value == "applied"
    assert HandledEvent.objects.get().task_id == str(task().id)


def test_a_failing_handler_is_a_failed_task_with_its_traceback(
    workers: list[Worker],
) -> None:
    register("Broken by design")
    worker = start(workers)
    wait_until(lambda: status() == "FAILED", "the task failed")
    failed = task()
    assert failed.exception_class_path.endswith("BrokenDocumentError")
    assert "cannot index 'Broken by design'" in failed.traceback
    event_id = failed.args_kwargs["kwargs"]["event"]["id"]
    worker.wait_for_line(
        rf"Background handler {HANDLER} failed on document_registered_v1 {event_id}"
    )
    assert indexed() == []
    assert not HandledEvent.objects.exists()
    # Fixed (here: not broken any more), it runs again on demand.
    worker.kill()
    out = StringIO()
    call_command("messagebus_requeue_tasks", "--failed", stdout=out)
    assert "and 1 failed one(s)" in out.getvalue()
    assert status() == "READY"


def test_a_worker_killed_mid_handler_leads_to_one_effect(workers: list[Worker]) -> None:
    register("Dune")
    first = start(workers, gate=True)
    first.wait_for_line(r"^gate ")
    # The handler is inside its transaction, waiting: kill the worker there.
    first.kill()
    assert status() == "RUNNING"
    assert indexed() == []
    # db_worker would never take it back: messagebus_db_worker puts it back
    # to READY first (here with no lease to wait for).
    second = start(
        workers,
        gate=True,
        command="messagebus_db_worker",
        options=("--requeue-older-than", "0"),
    )
    second.wait_for_line(r"^Re-enqueued 1 stale background task\(s\)")
    second.wait_for_line(r"^gate ")
    second.open_gate()
    wait_until(lambda: status() == "SUCCESSFUL", "the second worker ran the task")
    assert indexed() == ["Dune"]
    assert HandledEvent.objects.count() == 1
    assert len(task().worker_ids) == 2


def test_a_task_run_again_after_its_commit_applies_nothing(
    workers: list[Worker],
) -> None:
    # The worst case of a stale task: its handler had committed, its worker
    # died before marking it SUCCESSFUL. Run again, it is a duplicate.
    register("Dune")
    start(workers)
    wait_until(lambda: status() == "SUCCESSFUL", "the worker ran the task")
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.update(status="READY")
    wait_until(lambda: status() == "SUCCESSFUL", "the worker ran it again")
    assert task().return_value == "duplicate"
    assert indexed() == ["Dune"]
