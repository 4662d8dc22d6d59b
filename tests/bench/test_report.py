"""``--repeat``: the same row of several runs becomes one, with its spread."""

from __future__ import annotations

import math

import pytest

from bench.cli import main
from bench.report import Row, format_table, merge_runs
from bench.timing import Comparison


def _row(ratio: float, cpu_ratio: float | None = None) -> Row:
    return Row(
        "2. dispatch",
        "sqlite: async",
        ours=ratio * 1e-3,
        baseline=1e-3,
        ratio=ratio,
        ratio_kind="time",
        target=1.2,
        cpu_ratio=cpu_ratio,
    )


def test_runs_merge_into_medians_with_their_spread() -> None:
    [row] = merge_runs([[_row(1.3, 1.5)], [_row(1.1, 1.2)], [_row(1.2, 1.4)]])

    assert row.ratio == pytest.approx(1.2)
    assert row.cpu_ratio == pytest.approx(1.4)
    assert row.spread == {"ratio": [1.1, 1.2, 1.3], "cpu_ratio": [1.2, 1.4, 1.5]}
    assert row.runs == 3
    assert row.met is True
    assert row.cpu_met is False


def test_a_run_that_failed_fails_the_merged_row() -> None:
    failed = Row("2. dispatch", "sqlite: async", value="failed: WorkMismatch: ...")

    [row] = merge_runs([[_row(1.1)], [failed]])

    assert row.failed


def test_the_table_shows_both_verdicts_the_spread_and_the_loads() -> None:
    [row] = merge_runs([[_row(1.3, 1.1)], [_row(1.25, 1.1)]])

    table = format_table([row], {"2. dispatch": [((1.0, 2.0, 3.0), (1.5, 2.0, 3.0))]})

    assert (
        "load average 1.00 2.00 3.00 at the start, 1.50 2.00 3.00 at the end" in table
    )
    assert "1.25-1.30" in table
    [line] = [line for line in table.splitlines() if line.startswith("sqlite: async")]
    assert line.split()[-2:] == ["MISSED", "met"]  # wall 1.275x, CPU 1.1x: <= 1.2x


def test_a_cpu_clock_too_coarse_gives_no_cpu_ratio() -> None:
    comparison = Comparison((1.0,), (1.0,), (0.0,), (0.0,))

    row = Row.compared("x", "y", comparison, kind="time")

    assert math.isnan(comparison.cpu_time_ratio)
    assert row.cpu_ratio is None
    assert row.ratio == 1.0


def test_repeat_must_be_positive() -> None:
    with pytest.raises(SystemExit, match="--repeat must be 1 or more"):
        main(["--repeat", "0"])
