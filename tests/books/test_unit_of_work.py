"""The bus's unit of work is the one the books handlers are typed with."""

from __future__ import annotations

import inspect
from typing import get_type_hints

from books.adapters.repositories import DjangoActivityRepository, DjangoBookRepository
from books.adapters.unit_of_work import BooksUnitOfWork
from books.service.unit_of_work import AbstractUnitOfWork, BooksTransaction
from messagebus_django import get_bus, message_type_name


def test_the_django_unit_of_work_implements_the_handlers_interface() -> None:
    # mypy checks this line: BooksUnitOfWork is a subtype of the interface,
    # each repository one of its port, and nothing abstract is left (mypy
    # refuses to instantiate an abstract class).
    uow: AbstractUnitOfWork = BooksUnitOfWork()

    assert isinstance(uow.books, DjangoBookRepository)
    assert isinstance(uow.activities, DjangoActivityRepository)


def test_the_bus_runs_the_service_handlers_typed_with_the_interface() -> None:
    registrations = [
        registration
        for registration in get_bus().registrations()
        if registration.qualified_name.startswith("books.service.handlers:")
    ]

    assert {message_type_name(r.message_type) for r in registrations} == {
        "register_book_v1",
        "discontinue_book_v1",
        "book_registered_v1",
        "book_discontinued_v1",
    }
    for registration in registrations:
        handler = registration.handler
        uow_parameter = list(inspect.signature(handler).parameters)[1]
        assert get_type_hints(handler)[uow_parameter] == BooksTransaction, handler
