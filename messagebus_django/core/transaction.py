"""The states of a unit of work's transaction, and the error of misusing one."""

from __future__ import annotations

import enum

__all__ = ["TransactionError", "TransactionStatus"]


class TransactionStatus(enum.Enum):
    """Where a transaction is in its life."""

    running = "running"
    """Open: handlers are at work."""
    committed = "committed"
    """``commit()`` was called."""
    rolledback = "rolledback"
    """``rollback()`` was called, or an exception left the block."""
    streaming = "streaming"
    """Detached: kept open after its block, until ``close()``."""
    closed = "closed"
    """Ended, after its block."""


class TransactionError(RuntimeError):
    """A transaction was used out of order (closed twice, never ended...)."""
