"""Scenario 1: ``AsyncMessageBus.handle`` in memory, against the ``messagebus`` library.

One operation: a new unit of work, ``handle(RegisterBook)`` (its handler adds
the book to the unit of work's repository and raises ``BookRegistered``, whose
one handler runs too) and ``commit()``. The commands are built before the
timed part, by each library's own classes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ..context import Context
from ..report import Row
from ..timing import Spent, Timer, acompare
from ..work import Ledger, Side
from . import inmemory_ours as ours
from . import inmemory_theirs as theirs

SCENARIO = "1. in-memory AsyncMessageBus.handle (vs messagebus 0.16 from PyPI)"
TARGET = 2.5


def _batch(
    bus: Any,
    make_command: Callable[[uuid.UUID], Any],
    handle: Callable[[Any, Any], Awaitable[None]],
) -> Callable[[int], Awaitable[Spent]]:
    async def batch(size: int) -> Spent:
        commands = [make_command(uuid.uuid4()) for _ in range(size)]
        with Timer() as timer:
            for command in commands:
                await handle(bus, command)
        return timer.spent

    return batch


def run(context: Context) -> list[Row]:
    size = context.size(2000, 1000)
    batches = context.batches(9, 5)
    ours_batch = _batch(ours.make_bus(), ours.make_command, ours.handle)
    theirs_batch = _batch(theirs.make_bus(), theirs.make_command, theirs.handle)
    sides: tuple[tuple[Side, dict[str, int], dict[str, int]], ...] = (
        ("ours", ours.HANDLED, dict(ours.HANDLED)),
        ("baseline", theirs.HANDLED, dict(theirs.HANDLED)),
    )
    comparison = asyncio.run(
        acompare(ours_batch, theirs_batch, size=size, batches=batches, warmup=1)
    )
    ledger = Ledger(None)
    operations = size * (batches + 1)
    for side, handled, before in sides:
        for what, count in handled.items():
            ledger.add(side, what, count - before[what])
    ledger.operations = {"ours": operations, "baseline": operations}
    proof = ledger.prove()
    return [
        Row.compared(
            SCENARIO,
            "handle: command + 1 event + 1 event handler",
            comparison,
            kind="throughput",
            target=TARGET,
            note=f"{batches} batches of {size} handles each side, interleaved; {proof}",
        )
    ]
