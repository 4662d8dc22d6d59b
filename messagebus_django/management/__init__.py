"""The management commands and what they share."""

from __future__ import annotations

from django.db import DatabaseError, InterfaceError, OperationalError

__all__ = ["DATABASE_OUTAGES", "one_line"]

DATABASE_OUTAGES = (OperationalError, InterfaceError)
"""What a database that is down or restarting raises; waited out, not fatal."""


def one_line(exc: BaseException) -> str:
    """``exc`` as one line for a ``CommandError``: its type and first line."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(exc, DatabaseError):
        return f"Database error ({type(exc).__name__}): {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
