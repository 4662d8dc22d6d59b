"""The base app's management commands (messagebus_handlers, messagebus_schema,
the background handlers' ones), and what commands share."""

from __future__ import annotations

from django.db import DatabaseError

__all__ = ["one_line", "seconds"]


def one_line(exc: BaseException) -> str:
    """``exc`` as one line for a ``CommandError``: its type and first line."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(exc, DatabaseError):
        return f"Database error ({type(exc).__name__}): {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def seconds(value: str) -> float:
    """An argparse ``type``: a number of seconds, ``0`` or more (else the
    option's one-line error)."""
    number = float(value)
    if not number >= 0:
        raise ValueError(value)
    return number
