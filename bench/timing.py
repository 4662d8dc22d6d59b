"""Repeated, interleaved batches and their medians, in wall-clock and CPU time.

A scenario gives two functions that each run one batch of ``size`` operations
and return what the timed part took (set-up stays outside): a :class:`Spent`,
wall-clock seconds (``time.perf_counter``) and CPU seconds of this process,
all its threads (``time.process_time``), or of whichever processes do the
work (the end-to-end rows count the servers'). After the warm-up batches, the
two sides alternate (bus, baseline, then baseline, bus, ...), so a drift of
the machine weighs on both; each figure is the median per operation over the
batches, and each ratio is the median of the per-pair ratios.

The CPU ratio is there because the machine is shared: another process's load
stretches the wall clock of both sides, but much less the CPU time each side
spends itself.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Comparison", "Spent", "Timer", "acompare", "compare", "measure"]


class Spent(NamedTuple):
    """What a batch took: wall-clock and CPU seconds."""

    wall: float
    cpu: float

    def __add__(self, other: object) -> Spent:
        if not isinstance(other, Spent):
            return NotImplemented
        return Spent(self.wall + other.wall, self.cpu + other.cpu)


Batch = Callable[[int], Spent]
AsyncBatch = Callable[[int], Awaitable[Spent]]


class Timer:
    """``with Timer() as t: ...`` then ``t.spent`` (``t.seconds``: the wall clock)."""

    spent: Spent = Spent(0.0, 0.0)

    def __enter__(self) -> Timer:
        self._cpu = time.process_time()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._start
        self.spent = Spent(wall, time.process_time() - self._cpu)

    @property
    def seconds(self) -> float:
        return self.spent.wall


def _median_ratio(pairs: Iterable[tuple[float, float]]) -> float:
    """The median of ``a / b``; NaN when no pair can be divided (a clock too coarse)."""
    ratios = [a / b for a, b in pairs if a > 0 and b > 0]
    return statistics.median(ratios) if ratios else math.nan


@dataclass(frozen=True)
class Comparison:
    """Per-operation times of both sides, in seconds, one per batch."""

    ours: tuple[float, ...]
    baseline: tuple[float, ...]
    ours_cpu: tuple[float, ...] = ()
    baseline_cpu: tuple[float, ...] = ()

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline)

    @property
    def ours_cpu_median(self) -> float | None:
        return statistics.median(self.ours_cpu) if self.ours_cpu else None

    @property
    def baseline_cpu_median(self) -> float | None:
        return statistics.median(self.baseline_cpu) if self.baseline_cpu else None

    @property
    def time_ratio(self) -> float:
        """Ours / baseline, in time per operation (lower is better for ours)."""
        return _median_ratio(zip(self.ours, self.baseline, strict=True))

    @property
    def throughput_ratio(self) -> float:
        """Ours / baseline, in operations per second (higher is better for ours)."""
        return _median_ratio(zip(self.baseline, self.ours, strict=True))

    @property
    def cpu_time_ratio(self) -> float:
        """Ours / baseline, in CPU time per operation."""
        return _median_ratio(zip(self.ours_cpu, self.baseline_cpu, strict=True))

    @property
    def cpu_throughput_ratio(self) -> float:
        """Ours / baseline, in operations per CPU second."""
        return _median_ratio(zip(self.baseline_cpu, self.ours_cpu, strict=True))


class _Tally:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def add(self, spent: Spent, operations: int) -> None:
        self.wall.append(spent.wall / operations)
        self.cpu.append(spent.cpu / operations)


def _comparison(mine: _Tally, theirs: _Tally) -> Comparison:
    return Comparison(
        tuple(mine.wall), tuple(theirs.wall), tuple(mine.cpu), tuple(theirs.cpu)
    )


def compare(
    ours: Batch,
    baseline: Batch,
    *,
    size: int,
    batches: int,
    warmup: int = 1,
    chunk: int | None = None,
) -> Comparison:
    """Interleave ``batches`` batches of each side after ``warmup`` of each.

    With ``chunk``, a batch itself alternates the sides every ``chunk``
    operations (for slow, noisy operations such as a database commit: both
    sides then see the same moments of the disk).
    """
    step = chunk or size
    for _ in range(warmup):
        ours(size)
        baseline(size)
    mine, theirs = _Tally(), _Tally()
    operations = size // step * step
    for index in range(batches):
        gc.collect()
        spent = {id(ours): Spent(0.0, 0.0), id(baseline): Spent(0.0, 0.0)}
        for part in range(size // step):
            order = (baseline, ours) if (index + part) % 2 else (ours, baseline)
            for batch in order:
                spent[id(batch)] += batch(step)
        mine.add(spent[id(ours)], operations)
        theirs.add(spent[id(baseline)], operations)
    return _comparison(mine, theirs)


async def acompare(
    ours: AsyncBatch, baseline: AsyncBatch, *, size: int, batches: int, warmup: int = 1
) -> Comparison:
    """:func:`compare` for batches that are coroutines (one event loop for all)."""
    for _ in range(warmup):
        await ours(size)
        await baseline(size)
    mine, theirs = _Tally(), _Tally()
    for index in range(batches):
        order = (baseline, ours) if index % 2 else (ours, baseline)
        for batch in order:
            gc.collect()
            (mine if batch is ours else theirs).add(await batch(size), size)
    return _comparison(mine, theirs)


def measure(run: Callable[[], float], *, repeat: int) -> float:
    """The median of ``repeat`` calls of ``run`` (each returns its seconds)."""
    samples = []
    for _ in range(repeat):
        gc.collect()
        samples.append(run())
    return statistics.median(samples)
