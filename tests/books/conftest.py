"""Fixtures of the books entry points: users, logged-in clients, books."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client, override_settings

from books.models import Book
from books.payloads import register_book_command
from books.service.repositories import BookRepositoryOperationResult
from messagebus_django import dispatch

DDD = {"isbn": "0-321-12521-5", "title": "Domain-Driven Design", "author": "Eric Evans"}
"""A valid ISBN-10; stored as ``DDD_ISBN13``."""
DDD_ISBN13 = "9780321125217"
EFFECTIVE_JAVA = {
    "isbn": "978-0-13-468599-1",
    "title": "Effective Java",
    "author": "Joshua Bloch",
}
BAD_ISBN = "0-321-12521-4"
"""DDD's ISBN-10 with a wrong check digit."""
BAD_ISBN_MESSAGE = "This ISBN-10's check digit is wrong."

RegisterFn = Callable[..., Book]

BOOKSTORE_MESSAGEBUS_SETTINGS: dict[str, Any] = {
    "MESSAGEBUS_HANDLER_MODULES": ["books.service.handlers"],
    "MESSAGEBUS_UNIT_OF_WORK": "books.adapters.unit_of_work.BooksUnitOfWork",
    "MESSAGEBUS_DEPENDENCIES": {
        "notifier": "books.adapters.notifications.EmailNotifier"
    },
}
"""The bookstore's own (``bookstore_project/settings.py``; a test compares them)."""


@pytest.fixture(autouse=True)
def bookstore_messagebus_settings() -> Iterator[None]:
    """The bookstore's handlers, unit of work and notifier, whatever the suite's are.

    ``tests/settings.py`` configures the bus for the library's own tests; the
    bus and ``conf`` forget what they built when these settings change.
    """
    with override_settings(**BOOKSTORE_MESSAGEBUS_SETTINGS):
        yield


def permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="books", codename=codename)


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(django_user_model: type[User]) -> MakeUser:
    """``make_user(username, *permission_codenames, is_staff=False)``."""

    def make(username: str, *codenames: str, is_staff: bool = False) -> User:
        user = django_user_model.objects.create_user(
            username=username, password="secret", is_staff=is_staff
        )
        user.user_permissions.add(*(permission(codename) for codename in codenames))
        return user

    return make


@pytest.fixture
def librarian(make_user: MakeUser) -> User:
    """A user who may register books (``books.add_book``)."""
    return make_user("librarian", "add_book")


@pytest.fixture
def librarian_client(client: Client, librarian: User) -> Client:
    client.force_login(librarian)
    return client


@pytest.fixture
def reader_client(client: Client, make_user: MakeUser) -> Client:
    """Logged in, without any permission."""
    client.force_login(make_user("reader"))
    return client


@pytest.fixture
def register() -> RegisterFn:
    """Register a book through the bus, as the entry points do."""

    def register(**data: Any) -> Book:
        command = register_book_command(data)
        result: BookRepositoryOperationResult = dispatch(command)
        assert result.is_ok()
        return Book.objects.get(pk=command.id)

    return register


DatabaseOutage = Callable[[], AbstractContextManager[None]]


@pytest.fixture
def database_outage(tmp_path: Path) -> DatabaseOutage:
    """``with database_outage():`` the default database cannot be reached.

    A real outage, not a mock: SQLite gets a file in a directory that does
    not exist ("unable to open database file"); PostgreSQL a port that is
    bound but never listens ("connection refused"). The connection's settings
    are restored at the end of the block. Needs
    ``django_db(transaction=True)``: the connection is closed, which a test
    transaction would not survive.
    """

    @contextmanager
    def outage() -> Iterator[None]:
        settings_dict = connection.settings_dict
        saved = dict(settings_dict)
        connection.close()
        with socket.socket() as never_listening:
            if connection.vendor == "sqlite":
                settings_dict["NAME"] = str(tmp_path / "missing" / "db.sqlite3")
            else:
                never_listening.bind(("127.0.0.1", 0))
                settings_dict["HOST"] = "127.0.0.1"
                settings_dict["PORT"] = str(never_listening.getsockname()[1])
            try:
                yield
            finally:
                connection.close()
                settings_dict.update(saved)

    return outage
