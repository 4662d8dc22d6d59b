"""What every scenario is given: the options and the databases at hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Context", "bench_bus", "bench_settings"]


@dataclass
class Context:
    quick: bool
    databases: dict[str, str] = field(default_factory=dict)
    """``{"sqlite" | "postgres": alias}``: the databases that are ready."""
    unavailable: dict[str, str] = field(default_factory=dict)
    """``{"postgres": why}``: the databases asked for that could not be used."""
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    smoke: bool = False
    """A few operations per side, one batch: for the test that every scenario
    still proves its work (tests/bench), never for a figure."""

    def batches(self, full: int, quick: int) -> int:
        if self.smoke:
            return 1
        return quick if self.quick else full

    def size(self, full: int, quick: int, smoke: int = 4) -> int:
        """Operations per batch."""
        if self.smoke:
            return smoke
        return quick if self.quick else full


# What the scenarios set unless a row says otherwise. conf remembers settings
# until Django's setting_changed signal: assigning to django.conf.settings
# would not reach it, override_settings does.
BENCH_DEFAULTS: dict[str, Any] = {
    "MESSAGEBUS_STORE_MESSAGES": False,
    "MESSAGEBUS_METRICS": False,
    "MESSAGEBUS_RELAY_ON_COMMIT": False,
    "MESSAGEBUS_UNIT_OF_WORK": "messagebus_django.unit_of_work.DjangoUnitOfWork",
    "MESSAGEBUS_DEPENDENCIES": {},
}


def bench_settings(alias: str, **overrides: Any) -> Any:
    """``override_settings`` for a row on ``alias``: the bench defaults, then ``overrides``."""
    from django.test.utils import override_settings

    return override_settings(
        **{**BENCH_DEFAULTS, "MESSAGEBUS_DATABASE": alias, **overrides}
    )


def bench_bus() -> Any:
    """A bus of ``bench.handlers`` (the scenarios pass it: the project's bus may
    scan other modules, e.g. under the test settings)."""
    from messagebus_django import AsyncMessageBus

    bus = AsyncMessageBus()
    bus.scan("bench.handlers")
    return bus
