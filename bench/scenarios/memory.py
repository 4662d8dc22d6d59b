"""Scenario 5b: no growth. tracemalloc over many handles, dispatches and relayed messages.

Traced from the start; snapshots after the first tenth, the half and all of
them. The difference between the first and the last is what the last nine
tenths left behind (it should be about 0); the second half's alone tells a
leak (it grows with the count) from caches that fill once: the target "no
growth" is met when the second half left less than ``LEAK_BYTES_PER_OP``
per operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import tracemalloc
import uuid
from collections.abc import Callable
from typing import Any

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


def _growth(run: Callable[[int], None], total: int) -> str:
    """What stayed allocated between the snapshots after 1/10, 1/2 and all."""
    tenth, half = total // 10, total // 2
    tracemalloc.start(1)
    try:
        run(tenth)
        gc.collect()
        first = tracemalloc.take_snapshot()
        run(half - tenth)
        gc.collect()
        middle = tracemalloc.take_snapshot()
        run(total - half)
        gc.collect()
        last = tracemalloc.take_snapshot()
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
    from messagebus_django.models import StoredMessage
    from messagebus_django.outbox import envelope_fields
    from messagebus_django.relay import OutboxRelay
    from messagebus_django.transports.kombu import KombuTransport

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
    cases: list[tuple[str, Callable[[int], None], int]] = [
        (f"in-memory handle() x {count:,}", _inmemory, count),
    ]
    alias = context.databases.get("sqlite")
    transport = None
    skipped: list[Row] = []
    if alias is not None:
        cases.append((f"dispatch() on SQLite x {count:,}", _dispatches, count))
        if relay_scenario.broker_error(context.broker_url) is None:
            relay_messages, transport = _relayer(alias, context.broker_url)
            cases.append(
                (f"relayed messages on SQLite x {count:,}", relay_messages, count)
            )
        else:
            skipped.append(
                Row(SCENARIO, "relayed messages", value="skipped: no broker")
            )
    for case, run_case, total in cases:
        try:
            with bench_settings(alias or "default"):
                text = _growth(run_case, total)
        finally:
            if alias is not None:
                truncate(alias)
        rows.append(Row(SCENARIO, case, value=text))
    if transport is not None:
        transport.close()
        with contextlib.suppress(Exception):
            relay_scenario.delete_exchange(context.broker_url)
    return rows + skipped
