"""Scenario 5b: no growth. tracemalloc over many handles and dispatches.

Traced from the start; snapshots after the first tenth, the half and all of
them. The difference between the first and the last is what the last nine
tenths left behind (it should be about 0); the second half's alone tells a
leak (it grows with the count) from caches that fill once.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
import uuid
from collections.abc import Callable

from messagebus_django import dispatch

from ..context import Context, bench_bus, bench_settings
from ..db import truncate
from ..handlers import InsertBook, next_isbn
from ..report import Row
from . import inmemory_ours as ours

SCENARIO = "5. memory: tracemalloc growth between 1/10 and all operations"


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
    text = (
        f"{growth:+,} B over the last {total - tenth:,} "
        f"({growth / (total - tenth):+.1f} B/op); "
        f"second half alone {second_half:+,} B"
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


def run(context: Context) -> list[Row]:
    rows: list[Row] = []
    handles = context.size(10_000, 10_000, smoke=20)
    cases: list[tuple[str, Callable[[int], None], int]] = [
        (f"in-memory handle() x {handles:,}", _inmemory, handles),
    ]
    alias = context.databases.get("sqlite")
    if alias is not None:
        dispatches = context.size(2_000, 2_000, smoke=20)
        cases.append(
            (f"dispatch() on SQLite x {dispatches:,}", _dispatches, dispatches)
        )
    for case, run_case, total in cases:
        try:
            with bench_settings(alias or "default"):
                text = _growth(run_case, total)
        finally:
            if alias is not None:
                truncate(alias)
        rows.append(Row(SCENARIO, case, value=text))
    return rows
