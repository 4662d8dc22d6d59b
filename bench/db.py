"""The scratch databases: created if missing, migrated, emptied between scenarios."""

from __future__ import annotations

import contextlib
import os
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "DEFAULT_PG_URL",
    "ensure_postgres_database",
    "migrate",
    "remove_sqlite_file",
    "truncate",
]

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/messagebus_bench"


def ensure_postgres_database(url: str) -> str | None:
    """Create the database of ``url`` if it is missing; ``None`` or why it cannot."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        return f"no database name in {url!r}"
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=3) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if found is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    return None


def migrate(alias: str) -> None:
    from django.core.management import call_command

    call_command("migrate", database=alias, verbosity=0, interactive=False)


def truncate(alias: str) -> None:
    """Empty the tables of the ``books``, ``messagebus_django`` and ``django_tasks_database`` (django-tasks-db) apps."""
    from django.apps import apps
    from django.db import connections, transaction

    connection = connections[alias]
    tables = [
        model._meta.db_table
        for label in ("books", "messagebus_django", "django_tasks_database")
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy
    ]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            # Foreign keys are checked at commit: the order does not matter.
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")


def remove_sqlite_file(path: str) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)
