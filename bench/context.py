"""What every scenario is given: the options and the databases at hand."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Context"]


@dataclass
class Context:
    quick: bool
    databases: dict[str, str] = field(default_factory=dict)
    """``{"sqlite" | "postgres": alias}``: the databases that are ready."""
    unavailable: dict[str, str] = field(default_factory=dict)
    """``{"postgres": why}``: the databases asked for that could not be used."""
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"

    def batches(self, full: int, quick: int) -> int:
        return quick if self.quick else full
