"""The management commands and what they share."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from messagebus_django.management import one_line

__all__ = ["DATABASE_OUTAGES", "one_line"]

DATABASE_OUTAGES = (OperationalError, InterfaceError)
"""What a database that is down or restarting raises; waited out, not fatal."""
