"""Django settings of the benchmarks: a scratch database, never the project's.

``bench.cli`` sets the environment before Django starts:

``BENCH_DB``
    ``sqlite``, ``postgres`` or ``both`` (default ``both``).
``BENCH_SQLITE_PATH``
    The SQLite file (a temporary file made by ``bench.cli``); IMMEDIATE
    transactions, as in the example project.
``BENCH_PG_URL``
    The PostgreSQL database, ``postgres://postgres@127.0.0.1:5432/messagebus_bench``
    by default (``bench.db`` creates it if missing).

The first database chosen is ``default``; with ``both``, PostgreSQL is the
alias ``postgres``.
"""

from __future__ import annotations

import os
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from bench.db import DEFAULT_PG_URL
from bookstore_project.database import database_from_url, sqlite_database

SECRET_KEY = "bench-only-not-secret"
DEBUG = False  # DEBUG would keep every query in memory
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    # auth and sessions: the user and the session of the end-to-end rows.
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    # No autodiscovery: the bus scans MESSAGEBUS_HANDLER_MODULES only.
    "messagebus_django.apps.SimpleMessagebusConfig",
    "messagebus_django.eventstream",
    "books",
    # The tasks of background handlers (the bookstore's notify_librarians),
    # stored in the bench's database as the bookstore stores them.
    "django_tasks_db",
    *([] if find_spec("django.tasks") else ["django_tasks"]),
]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

_choice = os.environ.get("BENCH_DB", "both")
_databases: dict[str, dict[str, Any]] = {}
if _choice in ("sqlite", "both"):
    _databases["sqlite"] = sqlite_database(
        os.environ.get("BENCH_SQLITE_PATH")
        or Path(tempfile.gettempdir()) / f"messagebus-bench-{os.getpid()}.sqlite3"
    )
if _choice in ("postgres", "both"):
    _databases["postgres"] = database_from_url(
        os.environ.get("BENCH_PG_URL") or DEFAULT_PG_URL
    )
if not _databases:
    raise ValueError(f"BENCH_DB: expected sqlite, postgres or both, got {_choice!r}")

_first = next(iter(_databases))
DATABASES = {"default": _databases.pop(_first), **_databases}
BENCH_ALIASES = {_first: "default", **{name: name for name in _databases}}
"""``{"sqlite" | "postgres": database alias}``."""

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MESSAGEBUS_HANDLER_MODULES = ["bench.handlers"]
# The raw-ORM baselines write one row; the message store adds one per message.
# The "store on" rows of the table switch it on.
MESSAGEBUS_STORE_MESSAGES = False
MESSAGEBUS_DATABASE = "default"  # the scenarios switch it per database
MESSAGEBUS_RELAY_ON_COMMIT = False
# Metrics (the prometheus extra) are measured in rows of their own.
MESSAGEBUS_METRICS = False
