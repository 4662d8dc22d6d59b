"""Repeated, interleaved batches and their medians.

A scenario gives two functions that each run one batch of ``size`` operations
and return the seconds the timed part took (set-up stays outside). After the
warm-up batches, the two sides alternate (bus, baseline, then baseline, bus,
...), so a drift of the machine weighs on both; each figure is the median per
operation over the batches, and the ratio is the median of the per-pair ratios.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["Comparison", "Timer", "acompare", "compare", "measure"]

Batch = Callable[[int], float]
AsyncBatch = Callable[[int], Awaitable[float]]


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    seconds: float = 0.0

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


@dataclass(frozen=True)
class Comparison:
    """Per-operation times of both sides, in seconds, one per batch."""

    ours: tuple[float, ...]
    baseline: tuple[float, ...]

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline)

    @property
    def time_ratio(self) -> float:
        """Ours / baseline, in time per operation (lower is better for ours)."""
        return statistics.median(
            o / b for o, b in zip(self.ours, self.baseline, strict=True)
        )

    @property
    def throughput_ratio(self) -> float:
        """Ours / baseline, in operations per second (higher is better for ours)."""
        return statistics.median(
            b / o for o, b in zip(self.ours, self.baseline, strict=True)
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
    mine: list[float] = []
    theirs: list[float] = []
    for index in range(batches):
        gc.collect()
        spent = {id(ours): 0.0, id(baseline): 0.0}
        for part in range(size // step):
            order = (baseline, ours) if (index + part) % 2 else (ours, baseline)
            for batch in order:
                spent[id(batch)] += batch(step)
        mine.append(spent[id(ours)] / (size // step * step))
        theirs.append(spent[id(baseline)] / (size // step * step))
    return Comparison(tuple(mine), tuple(theirs))


async def acompare(
    ours: AsyncBatch, baseline: AsyncBatch, *, size: int, batches: int, warmup: int = 1
) -> Comparison:
    """:func:`compare` for batches that are coroutines (one event loop for all)."""
    for _ in range(warmup):
        await ours(size)
        await baseline(size)
    mine: list[float] = []
    theirs: list[float] = []
    for index in range(batches):
        order = (baseline, ours) if index % 2 else (ours, baseline)
        for batch in order:
            gc.collect()
            per_op = await batch(size) / size
            (mine if batch is ours else theirs).append(per_op)
    return Comparison(tuple(mine), tuple(theirs))


def measure(run: Callable[[], float], *, repeat: int) -> float:
    """The median of ``repeat`` calls of ``run`` (each returns its seconds)."""
    samples = []
    for _ in range(repeat):
        gc.collect()
        samples.append(run())
    return statistics.median(samples)
