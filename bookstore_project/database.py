"""``DATABASE_URL`` to a Django ``DATABASES`` entry, with the standard library.

Only the two databases the project supports: ``sqlite:///path`` and
``postgres://user:password@host:port/name``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

SQLITE_OPTIONS = {
    # Concurrent commands would otherwise fail with "database is locked".
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def sqlite_database(path: Path | str) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": dict(SQLITE_OPTIONS),
    }


def database_from_url(url: str) -> dict[str, Any]:
    """The ``DATABASES`` entry for ``url``; ``ValueError`` for another scheme."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return sqlite_database(
            parts.path[1:] if parts.path.startswith("//") else parts.path
        )
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r} in {url!r}")
