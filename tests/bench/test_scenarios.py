"""The benchmarks prove that both sides of each comparison did the same work.

Each scenario runs here with a few operations per side on the test database
(no timing is looked at): a scenario whose sides wrote different rows, or
wrote them on another database, fails instead of reporting a ratio.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from django.db import connection

from bench.context import Context, bench_settings
from bench.db import truncate
from bench.handlers import next_isbn, raw_insert
from bench.report import Row
from bench.scenarios import concurrent, dispatch, memory
from bench.timing import Spent, Timer, compare
from bench.work import Ledger, WorkMismatch, count_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def context() -> Iterator[Context]:
    label = "postgres" if connection.vendor == "postgresql" else "sqlite"
    # No broker unless the suite has one (port 1: nothing listens there).
    broker = os.environ.get("BROKER_URL") or "amqp://guest:guest@127.0.0.1:1//"
    yield Context(
        quick=True, smoke=True, databases={label: "default"}, broker_url=broker
    )
    truncate("default")


def _failures(rows: list[Row]) -> list[str]:
    return [row.value for row in rows if row.value and row.value.startswith("failed")]


def test_dispatch_rows_write_the_same_rows_on_their_database(context: Context) -> None:
    rows = {row.case.split(": ", 1)[1]: row for row in dispatch.run(context)}

    assert all(row.ratio is not None for row in rows.values() if row.value is None)
    assert "1 default: books" in rows["async handler (acreate)"].note
    assert "stored messages" not in rows["async handler (acreate)"].note
    # The store is really on in its rows (settings reach messagebus_django.conf).
    store_on = rows["async handler, message store ON, vs the same 2 rows by hand"]
    assert "1 default: stored messages" in store_on.note
    assert "1 default: books" in store_on.note


def test_adispatch_row_writes_the_same_rows(context: Context) -> None:
    [row] = concurrent.run(context)

    assert row.ratio is not None
    assert "1 default: books" in row.note


def test_memory_rows_run(context: Context) -> None:
    rows = memory.run(context)

    assert not _failures(rows)
    assert [row.case.split(" x ")[0] for row in rows] == (
        ["in-memory handle()", "dispatch() on SQLite", "relayed messages on SQLite"]
        if "sqlite" in context.databases and os.environ.get("BROKER_URL")
        else ["in-memory handle()", "dispatch() on SQLite", "relayed messages"]
        if "sqlite" in context.databases
        else ["in-memory handle()"]
    )


def test_inmemory_row_runs(context: Context) -> None:
    pytest.importorskip("messagebus")
    from bench.scenarios import inmemory

    [row] = inmemory.run(context)

    assert row.ratio is not None
    assert "1 commands handled, 1 events handled" in row.note


@pytest.mark.skipif(
    not os.environ.get("BROKER_URL"), reason="the relay rows need BROKER_URL"
)
def test_relay_rows_relay_what_the_baselines_publish(context: Context) -> None:
    from bench.scenarios import relay

    context.broker_url = os.environ["BROKER_URL"]

    rows = relay.run(context)

    assert not _failures(rows)
    assert all(row.ratio is not None for row in rows), rows


def test_syncbus_row_runs(context: Context) -> None:
    pytest.importorskip(
        "messagebus", reason="the messagebus library is not installed (the bench group)"
    )
    from bench.scenarios import syncbus

    assert syncbus.missing() is None
    [row] = syncbus.run(context)

    assert row.ratio is not None, row
    assert "1 commands handled, 1 events handled" in row.note


def test_http_rows_write_the_same_rows_through_both_servers(context: Context) -> None:
    pytest.importorskip("uvicorn")
    pytest.importorskip("gunicorn")
    from bench.scenarios import http

    rows = http.run(context)

    assert not _failures(rows)
    assert [row.case.split(": ", 1)[1] for row in rows] == [
        kind.describe for kind in http.SERVERS
    ]
    for row in rows:
        assert row.ratio is not None
        assert (
            "1 default: book activities, 1 default: books, "
            "1 default: outbox rows pending, 2 default: stored messages" in row.note
        )


def _nothing(size: int) -> Spent:
    return Spent(0.0, 0.0)


def _insert_batch(alias: str) -> Callable[[int], Spent]:
    def batch(size: int) -> Spent:
        with Timer() as timer:
            for _ in range(size):
                raw_insert(alias, next_isbn())
        return timer.spent

    return batch


def test_a_side_that_wrote_less_fails_the_comparison() -> None:
    ledger = Ledger("default")
    with bench_settings("default"):
        compare(
            ledger.track("ours", _nothing),
            ledger.track("baseline", _insert_batch("default")),
            size=2,
            batches=1,
        )

    with pytest.raises(WorkMismatch, match="did not do the same work"):
        ledger.prove()


def test_the_same_rows_pass_and_say_what_was_written() -> None:
    ledger = Ledger("default")
    compare(
        ledger.track("ours", _insert_batch("default")),
        ledger.track("baseline", _insert_batch("default")),
        size=3,
        batches=2,
    )

    assert ledger.prove() == "same work, per op: 1 default: books"
    assert count_rows(["default"])["default: books"] == 18


def test_work_on_another_database_fails_even_when_both_sides_agree() -> None:
    ledger = Ledger("default")
    ledger.add("ours", "postgres: books", 10, operations=10)
    ledger.add("baseline", "postgres: books", 10, operations=10)

    with pytest.raises(WorkMismatch, match="outside the database 'default'"):
        ledger.prove()


def test_a_side_that_wrote_on_another_database_fails() -> None:
    ledger = Ledger("default")
    ledger.add("ours", "sqlite: books", 10, operations=10)
    ledger.add("baseline", "postgres: books", 10, operations=10)

    with pytest.raises(WorkMismatch, match="differ in: postgres: books, sqlite: books"):
        ledger.prove()


def test_no_work_at_all_fails() -> None:
    ledger = Ledger("default")
    compare(
        ledger.track("ours", _nothing),
        ledger.track("baseline", _nothing),
        size=1,
        batches=1,
    )

    with pytest.raises(WorkMismatch, match="neither side"):
        ledger.prove()


def test_a_side_that_ran_nothing_fails() -> None:
    with pytest.raises(WorkMismatch, match="ran no operation"):
        Ledger("default").prove()


def test_work_outside_the_databases_is_compared_per_operation() -> None:
    ledger = Ledger(None)
    ledger.add("ours", "messages on the queue", 20, operations=20)
    ledger.add("baseline", "messages on the queue", 10, operations=10)

    assert ledger.prove() == "same work, per op: 1 messages on the queue"
