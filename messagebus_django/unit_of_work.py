"""The Django-ORM unit of work: one command, one ``transaction.atomic`` block."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from .core import AsyncAbstractRepository, AsyncAbstractUnitOfWork

__all__ = ["DjangoUnitOfWork"]


class DjangoUnitOfWork(AsyncAbstractUnitOfWork[Any]):
    """A unit of work whose transaction is a Django ``atomic`` block.

    Subclasses declare their repositories as class attributes holding the
    repository *classes*; each unit of work gets its own instances::

        class BooksUnitOfWork(DjangoUnitOfWork):
            books = DjangoBookRepository
            activities = DjangoActivityRepository

    The ``atomic`` block is opened and closed by :func:`~messagebus_django.dispatch`
    on the thread that owns the database connection; :meth:`commit` and
    :meth:`rollback` only decide how it ends, so they are safe to await from
    async handlers.
    """

    repository_classes: ClassVar[dict[str, type[AsyncAbstractRepository[Any]]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = dict(cls.repository_classes)
        for name, value in vars(cls).items():
            if isinstance(value, type) and issubclass(value, AsyncAbstractRepository):
                declared[name] = value
        cls.repository_classes = declared

    def __init__(self, *, using: str = "default") -> None:
        self.using = using
        for name, repository_class in self.repository_classes.items():
            repository = repository_class()
            if hasattr(repository, "using"):
                repository.using = using
            setattr(self, name, repository)
        self.rollback_requested = False
        self.after_commit: list[Callable[[], Any]] = []

    async def commit(self) -> None:
        """Let the ``atomic`` block commit when it ends."""
        self.rollback_requested = False

    async def rollback(self) -> None:
        """Make the ``atomic`` block roll back when it ends."""
        self.rollback_requested = True
        self.after_commit.clear()

    async def run_after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Defer ``callback`` until the database has committed (``on_commit``)."""
        self.after_commit.append(callback)

    def on_commit(self, func: Callable[[], Any]) -> None:
        """Call ``func`` after the command's transaction commits.

        Usable from async handlers, unlike ``transaction.on_commit``. ``func``
        may be a plain function or an ``async def``; it runs on the thread that
        dispatched the command, after COMMIT, never after a rollback. An
        exception it raises is logged, not raised (``robust=True``), so make it
        idempotent and safe to fail.
        """
        self.after_commit.append(func)
