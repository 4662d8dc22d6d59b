"""The rows of the results: a table on the terminal, a JSON file on disk."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from .timing import Comparison

__all__ = ["Row", "format_table", "merge", "merge_runs", "write_json"]

RatioKind = Literal["throughput", "time"]
Load = tuple[float, float, float]


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


@dataclass
class Row:
    """One line of the table.

    A comparison row has both per-operation times and a ratio: ``throughput``
    (ours / baseline in operations per second: higher is better) or ``time``
    (ours / baseline in time per operation: lower is better), in wall-clock
    time and in CPU time. Other rows (start-up, memory, skipped cases) carry
    their figure in ``value``.
    """

    scenario: str
    case: str
    ours: float | None = None
    """Seconds per operation, median."""
    baseline: float | None = None
    ratio: float | None = None
    ratio_kind: RatioKind | None = None
    target: float | None = None
    value: str | None = None
    note: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)
    ours_cpu: float | None = None
    """CPU seconds per operation, median."""
    baseline_cpu: float | None = None
    cpu_ratio: float | None = None
    """Like ``ratio``, in CPU time (of the processes that did the work)."""
    spread: dict[str, list[float]] = field(default_factory=dict)
    """With ``--repeat``: ``{"ratio" | "cpu_ratio": [min, median, max]}`` over the runs."""
    runs: int = 1

    @classmethod
    def compared(
        cls,
        scenario: str,
        case: str,
        comparison: Comparison,
        *,
        kind: RatioKind,
        target: float | None = None,
        note: str = "",
    ) -> Row:
        throughput = kind == "throughput"
        return cls(
            scenario=scenario,
            case=case,
            ours=comparison.ours_median,
            baseline=comparison.baseline_median,
            ratio=(
                comparison.throughput_ratio if throughput else comparison.time_ratio
            ),
            ratio_kind=kind,
            target=target,
            note=note,
            samples={
                "ours_s_per_op": list(comparison.ours),
                "baseline_s_per_op": list(comparison.baseline),
                "ours_cpu_s_per_op": list(comparison.ours_cpu),
                "baseline_cpu_s_per_op": list(comparison.baseline_cpu),
            },
            ours_cpu=comparison.ours_cpu_median,
            baseline_cpu=comparison.baseline_cpu_median,
            cpu_ratio=_finite(
                comparison.cpu_throughput_ratio
                if throughput
                else comparison.cpu_time_ratio
            ),
        )

    def _meets(self, ratio: float | None) -> bool | None:
        if ratio is None or self.target is None:
            return None
        if self.ratio_kind == "throughput":
            return ratio >= self.target
        return ratio <= self.target

    @property
    def met(self) -> bool | None:
        """The wall-clock ratio against the target."""
        return self._meets(self.ratio)

    @property
    def cpu_met(self) -> bool | None:
        """The CPU-time ratio against the target."""
        return self._meets(self.cpu_ratio)

    @property
    def failed(self) -> bool:
        return (self.value or "").startswith("failed:")

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'>=' if self.ratio_kind == 'throughput' else '<='} {self.target:g}x"


def merge(runs: list[Row]) -> Row:
    """One row from the same row of several runs: medians, and the ratios' spread."""
    first = runs[-1]
    if len(runs) == 1:
        return first
    failed = [row for row in runs if row.failed]
    if failed:
        return replace(failed[0], runs=len(runs))
    if first.ratio is None:
        return replace(first, runs=len(runs))

    def median(values: list[float | None]) -> float | None:
        known = [value for value in values if value is not None]
        return statistics.median(known) if known else None

    spread: dict[str, list[float]] = {}
    for name in ("ratio", "cpu_ratio"):
        values = sorted(v for row in runs if (v := getattr(row, name)) is not None)
        if values:
            spread[name] = [values[0], statistics.median(values), values[-1]]
    samples: dict[str, list[float]] = {}
    for row in runs:
        for key, values in row.samples.items():
            samples.setdefault(key, []).extend(values)
    return replace(
        first,
        ours=median([row.ours for row in runs]),
        baseline=median([row.baseline for row in runs]),
        ratio=spread["ratio"][1] if "ratio" in spread else None,
        ours_cpu=median([row.ours_cpu for row in runs]),
        baseline_cpu=median([row.baseline_cpu for row in runs]),
        cpu_ratio=spread["cpu_ratio"][1] if "cpu_ratio" in spread else None,
        spread=spread,
        samples=samples,
        runs=len(runs),
    )


def merge_runs(runs: list[list[Row]]) -> list[Row]:
    """The rows of ``runs`` (each a list of rows), merged case by case, in order."""
    by_case: dict[tuple[str, str], list[Row]] = {}
    for rows in runs:
        for row in rows:
            by_case.setdefault((row.scenario, row.case), []).append(row)
    return [merge(same) for same in by_case.values()]


def _micro(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1e6:,.1f} µs"


def _delta(ours: float | None, baseline: float | None) -> str:
    if ours is None or baseline is None:
        return ""
    return f"{(ours - baseline) * 1e6:+,.1f} µs"


def _verdict(met: bool | None) -> str:
    if met is None:
        return ""
    return "met" if met else "MISSED"


def _ratio(ratio: float | None, kind: str) -> str:
    return "" if ratio is None else f"{ratio:.2f}x {kind}"


def _spread(row: Row, name: str) -> str:
    values = row.spread.get(name)
    if not values:
        return ""
    low, _, high = values
    return f"{low:.2f}-{high:.2f}"


HEADER = (
    "case",
    "ours/op",
    "baseline/op",
    "Δ/op",
    "ratio",
    "min-max",
    "cpu ours/op",
    "cpu base/op",
    "cpu ratio",
    "min-max",
    "target",
    "wall",
    "cpu",
)


def _cells(row: Row) -> tuple[str, ...]:
    kind = "tput" if row.ratio_kind == "throughput" else "time"
    return (
        row.case,
        _micro(row.ours),
        _micro(row.baseline),
        _delta(row.ours, row.baseline),
        _ratio(row.ratio, kind),
        _spread(row, "ratio"),
        _micro(row.ours_cpu),
        _micro(row.baseline_cpu),
        _ratio(row.cpu_ratio, kind),
        _spread(row, "cpu_ratio"),
        row.target_text,
        _verdict(row.met),
        _verdict(row.cpu_met),
    )


def _load(load: Load) -> str:
    return " ".join(f"{value:.2f}" for value in load)


def format_table(
    rows: list[Row], loads: dict[str, list[tuple[Load, Load]]] | None = None
) -> str:
    """The rows as fixed-width text, one block per scenario.

    Comparison rows fill the columns; the others (start-up, memory, skipped)
    give their figure after the case. ``loads``: per scenario, the load
    average (1, 5, 15 min) at the start and the end of each run.
    """
    compared = [_cells(row) for row in rows if row.ratio is not None]
    widths = [
        max([len(HEADER[i]), *(len(cells[i]) for cells in compared)])
        for i in range(len(HEADER))
    ]
    widths[0] = max([widths[0], *(len(row.case) for row in rows)])
    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))

    def render(cells: tuple[str, ...]) -> str:
        parts = [f"{cells[0]:<{widths[0]}}"]
        parts += [
            f"{cell:>{width}}"
            for cell, width in zip(cells[1:], widths[1:], strict=True)
        ]
        return "  ".join(parts).rstrip()

    out: list[str] = []
    scenario = None
    for row in rows:
        if row.scenario != scenario:
            scenario = row.scenario
            has_columns = any(
                r.ratio is not None for r in rows if r.scenario == scenario
            )
            out += ["", scenario]
            for start, end in (loads or {}).get(scenario, []):
                out.append(
                    f"  load average {_load(start)} at the start, {_load(end)} at the end"
                )
            out.append(rule)
            if has_columns:
                out += [render(HEADER), rule]
        if row.ratio is not None:
            out.append(render(_cells(row)))
        else:
            out.append(f"{row.case:<{widths[0]}}  {row.value or ''}".rstrip())
        if row.note:
            out.append(f"    {row.note}")
    return "\n".join(out).lstrip("\n")


def _git() -> dict[str, Any]:
    """The commit measured, and whether the work tree differed from it."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except OSError:
        return {"commit": None, "dirty": None}


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def write_json(path: Path, rows: list[Row], options: dict[str, Any]) -> None:
    """Write the rows with what they were measured on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": _git(),
        "machine": {
            "platform": platform.platform(),
            "load_average": [round(load, 2) for load in os.getloadavg()],
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "versions": {
            name: _version(name)
            for name in (
                "messagebus-django",
                "messagebus",
                "django",
                "asgiref",
                "pydantic",
                "kombu",
                "psycopg",
                "prometheus-client",
            )
        },
        "options": options,
        "rows": [
            {
                **asdict(row),
                "met": row.met,
                "cpu_met": row.cpu_met,
                "target_text": row.target_text,
            }
            for row in rows
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
