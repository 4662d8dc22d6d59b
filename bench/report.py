"""The rows of the results: a table on the terminal, a JSON file on disk."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from .timing import Comparison

__all__ = ["Row", "format_table", "write_json"]

RatioKind = Literal["throughput", "time"]


@dataclass
class Row:
    """One line of the table.

    A comparison row has both per-operation times and a ratio: ``throughput``
    (ours / baseline in operations per second: higher is better) or ``time``
    (ours / baseline in time per operation: lower is better). Other rows (start-up,
    memory, skipped cases) carry their figure in ``value``.
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
        return cls(
            scenario=scenario,
            case=case,
            ours=comparison.ours_median,
            baseline=comparison.baseline_median,
            ratio=(
                comparison.throughput_ratio
                if kind == "throughput"
                else comparison.time_ratio
            ),
            ratio_kind=kind,
            target=target,
            note=note,
            samples={
                "ours_s_per_op": list(comparison.ours),
                "baseline_s_per_op": list(comparison.baseline),
            },
        )

    @property
    def met(self) -> bool | None:
        if self.ratio is None or self.target is None:
            return None
        if self.ratio_kind == "throughput":
            return self.ratio >= self.target
        return self.ratio <= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'>=' if self.ratio_kind == 'throughput' else '<='} {self.target:g}x"


def _rate(seconds: float | None) -> str:
    if seconds is None:
        return ""
    rate = 1 / seconds
    if rate >= 10_000:
        return f"{rate / 1000:,.1f}k/s"
    return f"{rate:,.0f}/s"


def _micro(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1e6:,.1f} µs"


def _delta(ours: float | None, baseline: float | None) -> str:
    if ours is None or baseline is None:
        return ""
    return f"{(ours - baseline) * 1e6:+,.1f} µs"


def _verdict(row: Row) -> str:
    met = row.met
    if met is None:
        return ""
    return "met" if met else "MISSED"


HEADER = (
    "case",
    "ours/s",
    "ours/op",
    "baseline/s",
    "baseline/op",
    "Δ/op",
    "ratio",
    "target",
    "",
)


def _cells(row: Row) -> tuple[str, ...]:
    kind = "tput" if row.ratio_kind == "throughput" else "time"
    return (
        row.case,
        _rate(row.ours),
        _micro(row.ours),
        _rate(row.baseline),
        _micro(row.baseline),
        _delta(row.ours, row.baseline),
        f"{row.ratio:.2f}x {kind}" if row.ratio is not None else "",
        row.target_text,
        _verdict(row),
    )


def format_table(rows: list[Row]) -> str:
    """The rows as fixed-width text, one block per scenario.

    Comparison rows fill the columns; the others (start-up, memory, skipped)
    give their figure after the case.
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
            out += ["", scenario, rule]
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
            {**asdict(row), "met": row.met, "target_text": row.target_text}
            for row in rows
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
