"""The proof that both sides of a comparison did the same work.

A ratio means something only when both sides wrote the same rows, on the
database they were meant for. A :class:`Ledger` counts, around every batch of
each side (outside the timed part), the rows of the database the comparison
is meant for: books, book activities, stored messages, pending outbox rows,
outbox rows marked sent and enqueued tasks (django-tasks-db; one query); the other configured databases are
counted when the ledger starts and when it proves, and must not have changed. Work that is not in a table (messages a broker routed) is added
with :meth:`Ledger.add`. :meth:`Ledger.prove` raises :class:`WorkMismatch`
when the sides differ, when anything was written on another database, or
when nothing was written at all: the scenario then fails, loudly, instead of
reporting a ratio of two different things.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Literal, TypeVar

__all__ = ["Ledger", "Side", "WorkMismatch", "count_alias", "count_rows", "describe"]

Side = Literal["ours", "baseline"]
Tally = dict[str, int]
"""``{"<alias>: <what>": rows}``."""

T = TypeVar("T")


class WorkMismatch(RuntimeError):
    """The two sides of a comparison did not do the same work."""


def count_rows(aliases: Iterable[str] | None = None) -> Tally:
    """The rows the scenarios write, per database (every configured one by default)."""
    from django.conf import settings

    tally: Tally = {}
    for alias in settings.DATABASES if aliases is None else aliases:
        tally.update(count_alias(alias))
    return tally


_ROWS_SQL = (
    "SELECT (SELECT COUNT(*) FROM {book}), (SELECT COUNT(*) FROM {activity}), "
    "(SELECT COUNT(*) FROM {stored}), "
    "(SELECT COUNT(*) FROM {stored} WHERE published AND published_at IS NULL "
    "AND NOT dead), "
    "(SELECT COUNT(*) FROM {stored} WHERE published_at IS NOT NULL), "
    "(SELECT COUNT(*) FROM {tasks})"
)
_WHAT = (
    "books",
    "book activities",
    "stored messages",
    "outbox rows pending",
    "outbox rows sent",
    "tasks enqueued",
)


def count_alias(alias: str) -> Tally:
    """:func:`count_rows` of one database in one query (it runs around every batch)."""
    from django.db import connections
    from django_tasks_db.models import DBTaskResult

    from books.models import Book, BookActivity
    from messagebus_django.models import StoredMessage

    connection = connections[alias]
    sql = _ROWS_SQL.format(
        book=connection.ops.quote_name(Book._meta.db_table),
        activity=connection.ops.quote_name(BookActivity._meta.db_table),
        stored=connection.ops.quote_name(StoredMessage._meta.db_table),
        tasks=connection.ops.quote_name(DBTaskResult._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        counts = cursor.fetchone()
    return {
        f"{alias}: {what}": int(count)
        for what, count in zip(_WHAT, counts, strict=True)
    }


def _others(alias: str | None) -> list[str]:
    from django.conf import settings

    return [name for name in settings.DATABASES if name != alias]


def _difference(after: Mapping[str, int], before: Mapping[str, int]) -> Tally:
    return {key: after[key] - before.get(key, 0) for key in after}


def describe(tally: Mapping[str, int], operations: int) -> str:
    """``"1 books, 2 stored messages on 'default'"`` per operation."""
    parts = [
        f"{count / operations:g} {key}"
        for key, count in sorted(tally.items())
        if count and operations
    ]
    return ", ".join(parts) or "nothing"


class Ledger:
    """The rows each side of one comparison wrote, batch by batch."""

    def __init__(self, expected_alias: str | None) -> None:
        """``expected_alias``: the only database either side may write to
        (``None``: the sides write no rows, only :meth:`add` counts)."""
        self.expected_alias = expected_alias
        self.work: dict[Side, Tally] = {"ours": {}, "baseline": {}}
        self.operations: dict[Side, int] = {"ours": 0, "baseline": 0}
        self.elsewhere_before = (
            None if expected_alias is None else count_rows(_others(expected_alias))
        )

    def _record(self, side: Side, tally: Mapping[str, int], operations: int) -> None:
        work = self.work[side]
        for key, count in tally.items():
            work[key] = work.get(key, 0) + count
        self.operations[side] += operations

    def add(self, side: Side, what: str, count: int, operations: int = 0) -> None:
        """Count work done outside the databases (e.g. messages a queue received)."""
        self._record(side, {what: count}, operations)

    def track(self, side: Side, batch: Callable[[int], T]) -> Callable[[int], T]:
        """``batch``, with the rows it wrote counted around it."""
        if self.expected_alias is None:

            def counted(size: int) -> T:
                result = batch(size)
                self.operations[side] += size
                return result

            return counted

        alias = self.expected_alias

        def tracked(size: int) -> T:
            before = count_alias(alias)
            result = batch(size)
            self._record(side, _difference(count_alias(alias), before), size)
            return result

        return tracked

    def atrack(
        self, side: Side, batch: Callable[[int], Awaitable[T]]
    ) -> Callable[[int], Awaitable[T]]:
        """:meth:`track` for a coroutine batch (the counts run on a sync thread)."""
        from asgiref.sync import sync_to_async

        count = sync_to_async(count_alias)
        alias = self.expected_alias
        if alias is None:
            raise ValueError("atrack() counts rows: give the Ledger a database")

        async def tracked(size: int) -> T:
            before = await count(alias)
            result = await batch(size)
            self._record(side, _difference(await count(alias), before), size)
            return result

        return tracked

    def prove(self) -> str:
        """One line saying what both sides did; :class:`WorkMismatch` if they differ."""
        ours, theirs = self.work["ours"], self.work["baseline"]
        ops, base_ops = self.operations["ours"], self.operations["baseline"]
        if not ops or not base_ops:
            raise WorkMismatch(
                f"a side ran no operation (ours {ops}, baseline {base_ops})"
            )
        keys = sorted(set(ours) | set(theirs))
        differ = [
            key
            for key in keys
            # Per operation, without floating point.
            if ours.get(key, 0) * base_ops != theirs.get(key, 0) * ops
        ]
        if differ:
            raise WorkMismatch(
                "the two sides did not do the same work: "
                f"ours did {describe(ours, ops)} per operation, "
                f"the baseline {describe(theirs, base_ops)} "
                f"(differ in: {', '.join(differ)})"
            )
        if not any(ours.values()):
            raise WorkMismatch("neither side did any counted work")
        if self.elsewhere_before is not None:
            now = count_rows(_others(self.expected_alias))
            changed = _difference(now, self.elsewhere_before)
            if any(changed.values()):
                raise WorkMismatch(
                    f"rows changed outside the database {self.expected_alias!r}: "
                    f"{describe(changed, 1)} in all"
                )
        if self.expected_alias is not None:
            prefix = f"{self.expected_alias}: "
            elsewhere = [
                key
                for key in keys
                if ours.get(key, 0) and ":" in key and not key.startswith(prefix)
            ]
            if elsewhere:
                raise WorkMismatch(
                    f"work landed outside the database {self.expected_alias!r}: "
                    f"{describe({k: ours[k] for k in elsewhere}, ops)} per operation"
                )
        return f"same work, per op: {describe(ours, ops)}"
