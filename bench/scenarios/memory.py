"""Scenario 5b: no growth. tracemalloc over many handles, dispatches and relayed messages.

Traced from the start; snapshots after the first tenth, the half and all of
them. The difference between the first and the last is what the last nine
tenths left behind (it should be about 0); the second half's alone tells a
leak (it grows with the count) from caches that fill once: the target "no
growth" is met when the second half left less than ``LEAK_BYTES_PER_OP``
per operation.

Two bounded caches below our code would otherwise show as growth (found
with tracemalloc tracebacks over 5,000 relayed messages a snapshot, on
CPython 3.11):

- CPython's type attribute cache (4,096 entries) keeps a reference to the
  attribute name of each entry. Django's ``SQLCompiler.compile()`` looks up
  ``"as_" + vendor``, a new string each call, so the cache holds such
  strings until their entries are overwritten: the "largest:
  sql/compiler.py:573" of the relay row (58-byte blocks, +10 KB a 5,000
  messages, levelling off over about 30,000). They vanish when that name is
  interned, and when ``sys._clear_type_cache()`` runs before each snapshot,
  which is what every row now does: the cache is refilled at the next
  lookups, and it cannot hold more than its 4,096 entries anyway.
- Python's ``sqlite3`` connection keeps a weak reference to each cursor it
  made and prunes the dead ones only every 200 cursors: up to about 17 KB
  that come and go with the phase of that count at a snapshot (190 blocks at
  ``sqlite3/base.py:219`` in one run, never over 200). The SQLite rows close
  the database connection before each snapshot (the next operation opens a
  new one).

With both, the relay row left +146 B over 5,000 messages (0.03 B a message).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import tracemalloc
import uuid
from collections.abc import Callable
from typing import Any

from django.db import connections

from messagebus_django import dispatch

from ..context import Context, bench_bus, bench_settings
from ..db import truncate
from ..handlers import InsertBook, next_isbn
from ..report import Row
from . import inmemory_ours as ours
from . import relay as relay_scenario

SCENARIO = "5. memory: tracemalloc growth between 1/10 and all operations"
# A figure, not a ratio: --repeat does not run it again.
REPEATABLE = False
LEAK_BYTES_PER_OP = 1.0
RELAY_BATCH = 500


def _diff(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot
) -> list[tracemalloc.StatisticDiff]:
    filters = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    ]
    return after.filter_traces(filters).compare_to(
        before.filter_traces(filters), "lineno"
    )


def _growth(
    run: Callable[[int], None],
    total: int,
    *,
    settle: Callable[[], None] | None = None,
) -> str:
    """What stayed allocated between the snapshots after 1/10, 1/2 and all.

    ``settle()`` runs before each snapshot.
    """
    tenth, half = total // 10, total // 2

    def snapshot() -> tracemalloc.Snapshot:
        if settle is not None:
            settle()
        gc.collect()
        sys._clear_type_cache()  # bounded, but refilled with new strings (above)
        return tracemalloc.take_snapshot()

    tracemalloc.start(1)
    try:
        run(tenth)
        first = snapshot()
        run(half - tenth)
        middle = snapshot()
        run(total - half)
        last = snapshot()
    finally:
        tracemalloc.stop()
    stats = _diff(first, last)
    growth = sum(stat.size_diff for stat in stats)
    second_half = sum(stat.size_diff for stat in _diff(middle, last))
    verdict = "met" if second_half / (total - half) < LEAK_BYTES_PER_OP else "MISSED"
    text = (
        f"no growth: {verdict}: {growth:+,} B over the last {total - tenth:,} "
        f"({growth / (total - tenth):+.1f} B/op); "
        f"second half alone {second_half:+,} B "
        f"({second_half / (total - half):+.2f} B/op)"
    )
    top = max(stats, key=lambda stat: stat.size_diff, default=None)
    if top is not None and top.size_diff > 1024:
        frame = top.traceback[0]
        where = "/".join(frame.filename.rsplit("/", 2)[-2:])
        text += f"; largest: {where}:{frame.lineno} {top.size_diff:+,} B"
    return text


def _inmemory(count: int) -> None:
    bus = ours.make_bus()

    async def handles() -> None:
        for _ in range(count):
            await ours.handle(bus, ours.make_command(uuid.uuid4()))

    asyncio.run(handles())


def _dispatches(count: int) -> None:
    bus = bench_bus()
    for _ in range(count):
        dispatch(InsertBook(isbn=next_isbn(), title="Bench", author="Bench"), bus=bus)


def _relayer(alias: str, url: str) -> tuple[Callable[[int], None], Any]:
    from messagebus_django.dispatching.messagestore import envelope_fields
    from messagebus_django.eventstream.relay import OutboxRelay
    from messagebus_django.eventstream.transports.kombu import KombuTransport
    from messagebus_django.models import StoredMessage

    from .relay import EXCHANGE

    transport = KombuTransport(url, exchange=EXCHANGE)
    relay = OutboxRelay(transport, using=alias)

    def relay_messages(count: int) -> None:
        done = 0
        while done < count:
            size = min(RELAY_BATCH, count - done)
            events = [
                ours.BookRegistered(
                    id=uuid.uuid4(), isbn="9780134494166", title="Clean", author="M"
                )
                for _ in range(size)
            ]
            StoredMessage.objects.using(alias).bulk_create(
                [StoredMessage(**envelope_fields(event)) for event in events]
            )
            report = relay.relay_pending()
            if report.sent != size:
                raise RuntimeError(f"the relay sent {report.sent} of {size}: {report}")
            StoredMessage.objects.using(alias).all().delete()
            done += size

    return relay_messages, transport


def run(context: Context) -> list[Row]:
    rows: list[Row] = []
    count = context.size(10_000, 2_000, smoke=20)
    # (name, operation, count, close the SQLite connection before snapshots)
    cases: list[tuple[str, Callable[[int], None], int, bool]] = [
        (f"in-memory handle() x {count:,}", _inmemory, count, False),
    ]
    alias = context.databases.get("sqlite")
    transport = None
    skipped: list[Row] = []
    if alias is not None:
        cases.append((f"dispatch() on SQLite x {count:,}", _dispatches, count, True))
        if relay_scenario.broker_error(context.broker_url) is None:
            relay_messages, transport = _relayer(alias, context.broker_url)
            cases.append(
                (
                    f"relayed messages on SQLite x {count:,}",
                    relay_messages,
                    count,
                    True,
                )
            )
        else:
            skipped.append(
                Row(SCENARIO, "relayed messages", value="skipped: no broker")
            )
    for case, run_case, total, close in cases:
        settle = connections[alias].close if close and alias is not None else None
        try:
            with bench_settings(alias or "default"):
                text = _growth(run_case, total, settle=settle)
        finally:
            if alias is not None:
                truncate(alias)
        rows.append(Row(SCENARIO, case, value=text))
    if transport is not None:
        transport.close()
        with contextlib.suppress(Exception):
            relay_scenario.delete_exchange(context.broker_url)
    return rows + skipped
