"""Scenario 1b: ``SyncMessageBus.handle`` in memory, against the ``messagebus`` library's.

The same operation as scenario 1, with no event loop: a new unit of work,
``handle(RegisterBook)`` (its handler adds the book to the unit of work's
repository and raises ``BookRegistered``, whose one handler runs too) and
``commit()``. Each side uses its own library's ``SyncMessageBus``,
``SyncAbstractUnitOfWork`` and ``SyncAbstractRepository``; the handlers are
added with ``add_listener`` on both. Skipped, with a note, while
messagebus_django has no ``SyncMessageBus``.
"""

# The classes of both sides are built from names looked up at run time (Any).
# mypy: allow-subclassing-any
from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from typing import Any

from ..context import Context
from ..report import Row
from ..timing import Spent, Timer, compare
from ..work import Ledger
from ..work import Side as WorkSide

SCENARIO = "1. in-memory SyncMessageBus.handle (vs messagebus 0.16 from PyPI)"
CASE = "handle: command + 1 event + 1 event handler, no event loop"
TARGET = 2.5
NAMES = (
    "SyncMessageBus",
    "SyncAbstractUnitOfWork",
    "SyncAbstractRepository",
    "Command",
    "Event",
    "Metadata",
    "Model",
)

BusSide = tuple[
    Any, Callable[[uuid.UUID], Any], Callable[[Any, Any], None], dict[str, int]
]


def build(library: Any) -> BusSide:
    """The scenario on ``library`` (messagebus or messagebus_django): its bus,
    a command factory, one ``handle`` with its unit of work, and the count of
    messages its handlers saw (the proof that both sides did the same)."""

    handled = {"commands handled": 0, "events handled": 0}

    class Book(library.Model):
        id: uuid.UUID
        isbn: str
        title: str
        author: str

    class RegisterBook(library.Command):
        id: uuid.UUID
        isbn: str
        title: str
        author: str
        metadata: Any = library.Metadata(name="bench_sync_register", schema_version=1)

    class BookRegistered(library.Event):
        id: uuid.UUID
        isbn: str
        title: str
        author: str
        metadata: Any = library.Metadata(
            name="bench_sync_registered", schema_version=1, published=True
        )

    class BookRepository(library.SyncAbstractRepository):
        def __init__(self) -> None:
            super().__init__()
            self.books: dict[uuid.UUID, Any] = {}
            self.registered: list[uuid.UUID] = []

        def add(self, book: Any) -> None:
            self.books[book.id] = book
            self.seen.append(book)

    class UnitOfWork(library.SyncAbstractUnitOfWork):
        def __init__(self) -> None:
            self.books = BookRepository()

        def commit(self) -> None:
            pass

        def rollback(self) -> None:
            pass

    def register_book(cmd: Any, uow: Any) -> uuid.UUID:
        book = Book(id=cmd.id, isbn=cmd.isbn, title=cmd.title, author=cmd.author)
        uow.books.add(book)
        handled["commands handled"] += 1
        book.messages.append(
            BookRegistered(id=cmd.id, isbn=cmd.isbn, title=cmd.title, author=cmd.author)
        )
        return cmd.id  # type: ignore[no-any-return]

    def book_registered(event: Any, uow: Any) -> None:
        uow.books.registered.append(event.id)
        handled["events handled"] += 1

    bus = library.SyncMessageBus()
    bus.add_listener(RegisterBook, register_book)
    bus.add_listener(BookRegistered, book_registered)

    def make_command(id: uuid.UUID) -> Any:
        return RegisterBook(id=id, isbn="9780134494166", title="Clean", author="Martin")

    def handle(bus: Any, command: Any) -> None:
        uow = UnitOfWork()
        with uow as transaction:
            bus.handle(command, transaction)
            transaction.commit()

    return bus, make_command, handle, handled


def missing() -> str | None:
    """Why the scenario cannot run, or ``None``."""
    ours = importlib.import_module("messagebus_django")
    if not hasattr(ours, "SyncMessageBus"):
        return "skipped: messagebus_django has no SyncMessageBus"
    lacking = [name for name in NAMES if not hasattr(ours, name)]
    if lacking:
        return f"skipped: messagebus_django has no {', '.join(lacking)}"
    try:
        importlib.import_module("messagebus")
    except ImportError:
        return "skipped: the messagebus library is not installed (the bench group)"
    return None


def _batch(side: BusSide) -> Callable[[int], Spent]:
    bus, make_command, handle, _ = side

    def batch(size: int) -> Spent:
        commands = [make_command(uuid.uuid4()) for _ in range(size)]
        with Timer() as timer:
            for command in commands:
                handle(bus, command)
        return timer.spent

    return batch


def run(context: Context) -> list[Row]:
    why = missing()
    if why is not None:
        return [Row(SCENARIO, CASE, value=why)]
    size = context.size(2000, 1000)
    batches = context.batches(9, 5)
    ours = build(importlib.import_module("messagebus_django"))
    theirs = build(importlib.import_module("messagebus"))
    ledger = Ledger(None)
    comparison = compare(
        ledger.track("ours", _batch(ours)),
        ledger.track("baseline", _batch(theirs)),
        size=size,
        batches=batches,
        warmup=1,
    )
    sides: tuple[tuple[WorkSide, BusSide], ...] = (("ours", ours), ("baseline", theirs))
    for side, (*_, handled) in sides:
        for what, count in handled.items():
            ledger.add(side, what, count)
    proof = ledger.prove()
    return [
        Row.compared(
            SCENARIO,
            CASE,
            comparison,
            kind="throughput",
            target=TARGET,
            note=f"{batches} batches of {size} handles each side, interleaved; {proof}",
        )
    ]
