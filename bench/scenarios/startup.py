"""Scenario 5a: building a bus by scanning generated handler modules.

For 1, 10 and 100 modules (each one command class and one ``@async_listen``
handler), written to a temporary directory on ``sys.path``: the first scan of
a fresh package (its import included, so each repetition gets a package of its
own) and a re-scan of the same, already imported, modules by a new bus.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from messagebus_django import AsyncMessageBus

from ..context import Context
from ..report import Row
from ..timing import measure

SCENARIO = "5. start-up: AsyncMessageBus().scan(*modules) of generated modules"
# Medians of its own repetitions already; --repeat does not run it again.
REPEATABLE = False

MODULE = """\
from __future__ import annotations

from messagebus_django import AsyncUnitOfWorkTransaction, Command, Metadata, async_listen


class Command{index}(Command):
    value: int
    metadata: Metadata = Metadata(name="{package}_{index}", schema_version=1)


@async_listen
async def handle_{index}(cmd: Command{index}, uow: AsyncUnitOfWorkTransaction) -> int:
    return cmd.value
"""


def _write_package(root: Path, package: str, count: int) -> list[str]:
    directory = root / package
    directory.mkdir()
    (directory / "__init__.py").write_text("")
    names = []
    for index in range(count):
        name = f"handlers_{index:03d}"
        (directory / f"{name}.py").write_text(
            MODULE.format(index=index, package=package)
        )
        names.append(f"{package}.{name}")
    return names


def _scan(names: list[str]) -> float:
    start = time.perf_counter()
    bus = AsyncMessageBus()
    bus.scan(*names)
    elapsed = time.perf_counter() - start
    if len(bus.commands_registry) != len(names):
        raise RuntimeError(f"scanned {len(bus.commands_registry)} of {len(names)}")
    return elapsed


def _scan_next(fresh: Iterator[list[str]]) -> float:
    return _scan(next(fresh))


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def run(context: Context) -> list[Row]:
    repeat = context.batches(7, 3)
    root = Path(tempfile.mkdtemp(prefix="messagebus-bench-scan-"))
    sys.path.insert(0, str(root))
    rows: list[Row] = []
    try:
        for count in (1, 10, 100):
            packages = [
                f"bench_scan_{os.getpid()}_{count}_{rep}" for rep in range(repeat)
            ]
            module_names = [_write_package(root, p, count) for p in packages]
            importlib.invalidate_caches()
            first = measure(partial(_scan_next, iter(module_names)), repeat=repeat)
            again = measure(partial(_scan, module_names[0]), repeat=repeat)
            rows.append(
                Row(
                    SCENARIO,
                    f"{count} module{'s' if count > 1 else ''}",
                    value=(
                        f"first scan (imports included) {_ms(first)}, "
                        f"re-scan {_ms(again)}  "
                        f"(medians of {repeat}; {_ms(first / count)} per module first)"
                    ),
                )
            )
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("bench_scan_")]:
            del sys.modules[name]
        shutil.rmtree(root, ignore_errors=True)
    return rows
