"""``manage.py messagebus_purge_handled``: old ``HandledEvent`` rows go, never
one whose task may run again (it would apply its event twice)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from messagebus_django import dispatch
from messagebus_django.background import retention
from messagebus_django.background.runner import apply
from messagebus_django.models import HandledEvent
from tests.testapp.messages import RegisterDocument

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("database_backend"),
]


def purge(*args: str) -> str:
    out = StringIO()
    call_command("messagebus_purge_handled", *args, stdout=out)
    return out.getvalue()


def handled(*statuses: str | None, days_ago: float = 40) -> dict[str, str]:
    """An event handled in the background per status of its task (``None``: the
    task's result was pruned), ``days_ago``; ``{message_id: status}``."""
    from django_tasks_db.models import DBTaskResult

    made: dict[str, str] = {}
    seen = set(DBTaskResult.objects.values_list("pk", flat=True))
    for status in statuses:
        code = f"R{HandledEvent.objects.count()}"
        dispatch(RegisterDocument(code=code, title="T", author="A"))
        task = DBTaskResult.objects.exclude(pk__in=seen).get()
        seen.add(task.pk)
        apply(**task.args_kwargs["kwargs"], task_id=str(task.id))
        row = HandledEvent.objects.get(task_id=str(task.id))
        HandledEvent.objects.filter(pk=row.pk).update(
            handled_at=timezone.now() - timedelta(days=days_ago)
        )
        if status is None:
            task.delete()
        else:
            DBTaskResult.objects.filter(pk=task.pk).update(status=status)
        made[str(row.message_id)] = str(status)
    return made


def left() -> set[str]:
    return {
        str(message_id)
        for message_id in HandledEvent.objects.values_list("message_id", flat=True)
    }


def test_old_rows_go_unless_their_task_may_run_again() -> None:
    events = handled("SUCCESSFUL", None, "RUNNING", "READY", "FAILED")
    recent = handled("SUCCESSFUL", days_ago=1)
    assert purge("--older-than", "30") == (
        "Deleted 2 handled-event records; kept 3 whose task may run again.\n"
    )
    may_run_again = {
        m for m, s in events.items() if s in {"RUNNING", "READY", "FAILED"}
    }
    assert left() == may_run_again | set(recent)


def test_a_dry_run_counts_and_deletes_nothing() -> None:
    events = handled("SUCCESSFUL", "RUNNING")
    assert purge("--older-than", "30", "--dry-run") == (
        "Would delete 1 handled-event records; kept 1 whose task may run again.\n"
    )
    assert left() == set(events)


def test_rows_of_tasks_not_in_django_tasks_db_go_by_age(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Outside a task ("" task id) or another backend's task: age alone decides."""
    handled("RUNNING")
    HandledEvent.objects.update(task_id="")
    monkeypatch.setattr(retention, "BATCH", 1)
    extra = HandledEvent.objects.get()
    HandledEvent.objects.create(
        handler=extra.handler,
        message_id="0190c0de-0000-7000-8000-000000000001",
        type=extra.type,
        task_id="not-a-uuid",
    )
    HandledEvent.objects.filter(task_id="not-a-uuid").update(
        handled_at=timezone.now() - timedelta(days=40)
    )
    assert purge("--older-than", "30", "--verbosity", "0") == ""
    assert left() == set()


def test_without_django_tasks_db_age_alone_decides() -> None:
    events = handled("RUNNING")
    apps = [app for app in settings.INSTALLED_APPS if app != "django_tasks_db"]
    with override_settings(INSTALLED_APPS=apps):
        assert purge("--older-than", "30").startswith("Deleted 1 ")
    assert left() == set() != set(events)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--older-than", "0.001"],
            r"^--older-than 0.001 days is shorter than MESSAGEBUS_TASKS_LEASE "
            r"\(600 s\): a task run again after its lease could apply its event "
            r"twice\.$",
        ),
        (["--older-than", "1", "--database", "nope"], "no database 'nope'"),
    ],
)
def test_bad_options_are_one_line_errors(args: list[str], error: str) -> None:
    with pytest.raises(CommandError, match=error):
        purge(*args)


def test_a_longer_lease_raises_the_floor() -> None:
    with (
        override_settings(MESSAGEBUS_TASKS_LEASE=2 * 86400.0),
        pytest.raises(CommandError, match="shorter than MESSAGEBUS_TASKS_LEASE"),
    ):
        purge("--older-than", "1")


def test_a_database_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    def broken(**kwargs: Any) -> None:
        raise OperationalError("no such table: x\nmore")

    monkeypatch.setattr(
        "messagebus_django.management.commands.messagebus_purge_handled."
        "purge_handled_events",
        broken,
    )
    with pytest.raises(
        CommandError, match=r"^Database error \(OperationalError\): no such table: x$"
    ):
        purge("--older-than", "1")
