"""Scenario 2: ``dispatch()`` of a one-insert command against the raw ORM.

Ours: ``dispatch(InsertBook(...))`` (the command is built in the timed part:
a caller pays for it), whose handler inserts one ``books.Book`` row on the unit
of work's database. Baseline: ``with transaction.atomic():
Book.objects.create(...)``, the same insert. The two sides alternate every 10
operations. The message store is off in the first rows (the same writes as
the baseline). The rows with it on, as by default (one more row per command),
are compared with a baseline that writes the same two rows by hand; both are
held to targets. The rows with metrics on (the ``prometheus`` extra) and of a
mixed bus are labelled and have no target.

Every row counts the rows each side wrote, on every database, and fails
when they differ (:mod:`bench.work`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from messagebus_django import AsyncMessageBus, dispatch

from ..context import Context, bench_bus, bench_settings
from ..db import truncate
from ..handlers import (
    InsertBook,
    InsertBookSync,
    next_isbn,
    raw_insert,
    raw_insert_with_store,
    sync_handler,
)
from ..report import Row
from ..timing import Spent, Timer, compare
from ..work import Ledger

SCENARIO = "2. dispatch() of a one-insert command vs transaction.atomic() + create()"

ASYNC_TARGET = 1.2
SYNC_TARGET = 1.05
STORE_ASYNC_TARGET = 1.15
STORE_SYNC_TARGET = 1.05
CHUNK = 10


@dataclass
class Case:
    name: str
    batch: Callable[[int], Spent] | None
    """``None``: not measurable here (``why``)."""
    target: float | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    why: str = ""
    same_writes: bool = False
    """Compare with a baseline writing the message-store row too (by hand)."""


def _raw_batch(
    alias: str, insert: Callable[[str, str], None] = raw_insert
) -> Callable[[int], Spent]:
    def batch(size: int) -> Spent:
        isbns = [next_isbn() for _ in range(size)]
        with Timer() as timer:
            for isbn in isbns:
                insert(alias, isbn)
        return timer.spent

    return batch


def _dispatch_batch(
    command_class: type[InsertBook | InsertBookSync], bus: AsyncMessageBus
) -> Callable[[int], Spent]:
    def batch(size: int) -> Spent:
        isbns = [next_isbn() for _ in range(size)]
        with Timer() as timer:
            for isbn in isbns:
                dispatch(
                    command_class(isbn=isbn, title="Bench", author="Bench"), bus=bus
                )
        return timer.spent

    return batch


def _has_prometheus() -> bool:
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


def cases() -> list[Case]:
    handler = sync_handler()
    sync = mixed = None
    if handler is not None:
        # A bus of sync handlers only: dispatch() runs them with no event loop.
        sync_bus = AsyncMessageBus()
        sync_bus.add_listener(InsertBookSync, handler)
        sync = _dispatch_batch(InsertBookSync, sync_bus)
        # Next to async handlers, the sync handler runs through the bridge.
        mixed_bus = bench_bus()
        # Once marked with @sync_listen, the handler is found by the scan too.
        if not any(r.message_type is InsertBookSync for r in mixed_bus.registrations()):
            mixed_bus.add_listener(InsertBookSync, handler)
        mixed = _dispatch_batch(InsertBookSync, mixed_bus)
    no_sync = "n/a (no sync_listen yet)"
    store = {"MESSAGEBUS_STORE_MESSAGES": True}
    project_bus = _dispatch_batch(InsertBook, bench_bus())
    return [
        Case("async handler (acreate)", project_bus, ASYNC_TARGET),
        Case("sync handler (create), all-sync bus", sync, SYNC_TARGET, why=no_sync),
        Case("sync handler, mixed bus (via the bridge)", mixed, why=no_sync),
        Case(
            "async handler, message store ON, vs the same 2 rows by hand",
            project_bus,
            STORE_ASYNC_TARGET,
            overrides=store,
            same_writes=True,
        ),
        Case(
            "sync handler, all-sync bus, store ON, vs the same 2 rows",
            sync,
            STORE_SYNC_TARGET,
            overrides=store,
            same_writes=True,
            why=no_sync,
        ),
        Case(
            "async handler, metrics ON (prometheus extra)",
            project_bus if _has_prometheus() else None,
            overrides={"MESSAGEBUS_METRICS": True},
            why="n/a (prometheus-client is not installed)",
        ),
    ]


def run(context: Context) -> list[Row]:
    rows: list[Row] = []
    size = context.size(200, 80, smoke=2 * CHUNK)
    batches = context.batches(5, 3)
    for label, alias in context.databases.items():
        raw = _raw_batch(alias)
        raw_with_store = _raw_batch(alias, raw_insert_with_store)
        for index, case in enumerate(cases()):
            title = f"{label}: {case.name}"
            if case.batch is None:
                rows.append(Row(SCENARIO, title, value=case.why))
                continue
            ledger = Ledger(alias)
            try:
                with bench_settings(alias, **case.overrides):
                    comparison = compare(
                        ledger.track("ours", case.batch),
                        ledger.track(
                            "baseline", raw_with_store if case.same_writes else raw
                        ),
                        size=size,
                        batches=batches,
                        warmup=1,
                        chunk=CHUNK,
                    )
            finally:
                truncate(alias)
            proof = ledger.prove()
            note = proof
            if index == 0:
                note = (
                    f"{batches} batches of {size} each side, alternating every "
                    f"{CHUNK}; store off unless said; {proof}"
                )
            rows.append(
                Row.compared(
                    SCENARIO,
                    title,
                    comparison,
                    kind="time",
                    target=case.target,
                    note=note,
                )
            )
    return rows
