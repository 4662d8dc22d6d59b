"""Scenario 3: ``adispatch()`` with 16 commands in flight, against the raw insert.

The async driver runs with ``asyncio.run`` in the main thread. Ours: 16 tasks
at a time (a semaphore) each ``await adispatch(InsertBook(...))``. Baseline:
the same, each awaiting ``sync_to_async(raw_insert)`` (thread-sensitive, as
Django's async ORM would). Both end on the same sync thread, so the inserts
take turns: this measures what the bus adds under concurrency, not parallelism.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections

from messagebus_django import adispatch

from ..context import Context, bench_bus, bench_settings
from ..db import truncate
from ..handlers import InsertBook, next_isbn, raw_insert
from ..report import Row
from ..timing import Comparison, Spent, Timer, acompare
from ..work import Ledger

SCENARIO = "3. adispatch() with 16 commands in flight vs sync_to_async(atomic insert)"
IN_FLIGHT = 16
TARGET = 0.9


def _in_flight(
    make: Callable[[str], Awaitable[Any]],
) -> Callable[[int], Awaitable[Spent]]:
    async def batch(size: int) -> Spent:
        isbns = [next_isbn() for _ in range(size)]
        semaphore = asyncio.Semaphore(IN_FLIGHT)

        async def one(isbn: str) -> None:
            async with semaphore:
                await make(isbn)

        with Timer() as timer:
            await asyncio.gather(*(one(isbn) for isbn in isbns))
        return timer.spent

    return batch


async def _compare(alias: str, size: int, batches: int, ledger: Ledger) -> Comparison:
    raw = sync_to_async(raw_insert)
    bus = bench_bus()

    async def ours(isbn: str) -> Any:
        return await adispatch(
            InsertBook(isbn=isbn, title="Bench", author="Bench"), bus=bus
        )

    async def baseline(isbn: str) -> None:
        await raw(alias, isbn)

    try:
        return await acompare(
            ledger.atrack("ours", _in_flight(ours)),
            ledger.atrack("baseline", _in_flight(baseline)),
            size=size,
            batches=batches,
        )
    finally:
        # The connections of the sync thread are its own.
        await sync_to_async(connections.close_all)()


def run(context: Context) -> list[Row]:
    size = context.size(320, 160, smoke=2 * IN_FLIGHT)
    batches = context.batches(7, 5)
    rows = []
    for label, alias in context.databases.items():
        ledger = Ledger(alias)
        try:
            with bench_settings(alias):
                comparison = asyncio.run(_compare(alias, size, batches, ledger))
        finally:
            truncate(alias)
        proof = ledger.prove()
        rows.append(
            Row.compared(
                SCENARIO,
                f"{label}: {IN_FLIGHT} in flight, async handler, store off",
                comparison,
                kind="throughput",
                target=TARGET,
                note=f"{batches} batches of {size} commands each side, interleaved; "
                f"{proof}",
            )
        )
    return rows
