"""``python -m bench [--quick] [--repeat N] [--only SCENARIO] [--db ...] [--json PATH]``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from .context import Context
from .report import Load, Row, format_table, merge_runs, write_json

__all__ = ["main"]

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"

# name -> (number, module in bench.scenarios)
SCENARIOS: dict[str, tuple[str, str]] = {
    "inmemory": ("1", "inmemory"),
    "syncbus": ("1", "syncbus"),
    "dispatch": ("2", "dispatch"),
    "adispatch": ("3", "concurrent"),
    "relay": ("4", "relay"),
    "http": ("6", "http"),
    "startup": ("5", "startup"),
    "memory": ("5", "memory"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of messagebus_django against baselines measured in the same run.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer and smaller batches (~40 s)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each scenario N times; each ratio is then the median of the "
        "runs' ratios, printed with its spread (min-max)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="SCENARIO",
        help=(
            "run only this scenario, by name or number (repeatable, or "
            f"comma-separated): {', '.join(f'{n} ({num})' for n, (num, _) in SCENARIOS.items())}"
        ),
    )
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgres", "both"),
        default=os.environ.get("BENCH_DB", "both"),
        help="databases of scenarios 2-5 (default: $BENCH_DB or both)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL"),
        help="the scratch PostgreSQL database, created if missing "
        "(default: $BENCH_PG_URL or postgres://postgres@127.0.0.1:5432/messagebus_bench)",
    )
    parser.add_argument(
        "--broker-url",
        default=os.environ.get(
            "BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"
        ),
        help="RabbitMQ for scenario 4 (default: $BENCH_BROKER_URL or the local guest)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help="where to write the results (default: bench/results/latest.json)",
    )
    return parser


def _selected(only: Sequence[str] | None) -> list[str]:
    if not only:
        return list(SCENARIOS)
    wanted = {part.strip() for item in only for part in item.split(",") if part.strip()}
    unknown = wanted - set(SCENARIOS) - {num for num, _ in SCENARIOS.values()}
    if unknown:
        raise SystemExit(
            f"python -m bench: unknown scenario(s): {', '.join(sorted(unknown))}"
        )
    return [
        name for name, (num, _) in SCENARIOS.items() if name in wanted or num in wanted
    ]


def _setup_django(args: argparse.Namespace, context: Context, sqlite_path: str) -> None:
    # bench.settings reads the environment when Django imports it: set it first.
    from .db import DEFAULT_PG_URL, ensure_postgres_database

    choice: str = args.db
    if choice in ("postgres", "both"):
        url = args.pg_url or DEFAULT_PG_URL
        os.environ["BENCH_PG_URL"] = url
        why = ensure_postgres_database(url)
        if why is not None:
            context.unavailable["postgres"] = why
            if choice == "postgres":
                raise SystemExit(f"python -m bench: PostgreSQL unavailable: {why}")
            choice = "sqlite"
    os.environ["BENCH_DB"] = choice
    os.environ["BENCH_SQLITE_PATH"] = sqlite_path
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

    import django

    from . import settings as bench_settings
    from .db import migrate, truncate

    django.setup()
    aliases = bench_settings.BENCH_ALIASES
    for label, alias in aliases.items():
        migrate(alias)
        truncate(alias)
        context.databases[label] = alias


def _run_scenario(
    module: object, name: str, context: Context
) -> tuple[list[Row], tuple[Load, Load]]:
    run: Callable[[Context], list[Row]] = getattr(module, "run")  # noqa: B009
    start = os.getloadavg()
    try:
        rows = run(context)
    except Exception as exc:
        traceback.print_exc()
        rows = [
            Row(
                scenario=getattr(module, "SCENARIO", name),
                case=name,
                value=f"failed: {type(exc).__name__}: {exc}",
            )
        ]
    return rows, (start, os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("python -m bench: --repeat must be 1 or more")
    names = _selected(args.only)
    context = Context(quick=args.quick, broker_url=args.broker_url)
    started = time.perf_counter()
    descriptor, sqlite_path = tempfile.mkstemp(
        prefix="messagebus-bench-", suffix=".sqlite3"
    )
    os.close(descriptor)
    rows: list[Row] = []
    loads: dict[str, list[tuple[Load, Load]]] = {}
    try:
        _setup_django(args, context, sqlite_path)
        for name in names:
            number, module_name = SCENARIOS[name]
            module = importlib.import_module(f"bench.scenarios.{module_name}")
            print(f"[bench] {number}. {name} ...", file=sys.stderr, flush=True)
            began = time.perf_counter()
            runs: list[list[Row]] = []
            repeat = args.repeat if getattr(module, "REPEATABLE", True) else 1
            for _ in range(repeat):
                run_rows, scenario_load = _run_scenario(module, name, context)
                runs.append(run_rows)
                title = getattr(module, "SCENARIO", name)
                loads.setdefault(title, []).append(scenario_load)
            rows += merge_runs(runs)
            print(
                f"[bench] {number}. {name}: {time.perf_counter() - began:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    finally:
        from .db import remove_sqlite_file

        _close_connections()
        remove_sqlite_file(sqlite_path)
    elapsed = time.perf_counter() - started
    print(format_table(rows, loads))
    notes = [f"{label}: skipped ({why})" for label, why in context.unavailable.items()]
    print()
    for note in notes:
        print(note)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        "ratio: tput = ours/baseline in operations per second (higher is better); "
        "time = ours/baseline in time per operation (lower is better); "
        "Δ/op = ours - baseline per operation. Medians over batches. "
        "cpu: the same in CPU time (time.process_time of this process, all threads; "
        "of the server processes for the HTTP rows). "
        "wall/cpu: the target checked on the wall-clock and the CPU-time ratio."
    )
    if args.repeat > 1:
        print(
            f"--repeat {args.repeat}: each ratio is the median of {args.repeat} runs; "
            "min-max is their spread."
        )
    print(
        f"{'--quick, ' if args.quick else ''}{elapsed:.0f} s in all; "
        f"load average at the end: {load} ({os.cpu_count()} CPUs)."
    )
    options = {
        "quick": args.quick,
        "repeat": args.repeat,
        "load_average_per_scenario": loads,
        "only": names,
        "databases": dict(context.databases),
        "unavailable": dict(context.unavailable),
        "seconds": round(elapsed, 1),
    }
    write_json(args.json, rows, options)
    print(f"results: {args.json}")
    # Missed targets are results, not errors; a scenario that broke is one.
    return 1 if any(row.failed for row in rows) else 0


def _close_connections() -> None:
    if "django" not in sys.modules:
        return
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
