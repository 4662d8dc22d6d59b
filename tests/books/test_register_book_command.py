"""``manage.py register_book``: a thin shell around the RegisterBook command."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from uuid import UUID

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from books.models import Book, BookActivity
from messagebus_django import uuid7
from tests.books.conftest import (
    BAD_ISBN,
    BAD_ISBN_MESSAGE,
    DDD,
    DDD_ISBN13,
    EFFECTIVE_JAVA,
    DatabaseOutage,
    RegisterFn,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]


def register_book(*args: str) -> str:
    out = StringIO()
    call_command("register_book", *args, stdout=out)
    return out.getvalue()


def options(data: dict[str, str]) -> list[str]:
    return [arg for key, value in data.items() for arg in (f"--{key}", value)]


@pytest.mark.django_db
def test_registering_prints_the_new_id() -> None:
    output = register_book(*options(DDD))

    id = UUID(output.strip())
    assert output == f"{id}\n"
    book = Book.objects.get(pk=id)
    assert (book.isbn, book.title, book.author) == (
        DDD_ISBN13,
        "Domain-Driven Design",
        "Eric Evans",
    )
    assert list(book.activities.values_list("kind", flat=True)) == ["registered"]


@pytest.mark.django_db
def test_the_id_may_be_given() -> None:
    id = uuid7()

    output = register_book(*options(DDD), "--id", str(id))

    assert output == f"{id}\n"
    assert Book.objects.filter(pk=id).exists()


@pytest.mark.django_db
def test_a_bad_isbn_is_a_one_line_command_error() -> None:
    with pytest.raises(CommandError) as raised:
        register_book(*options({**DDD, "isbn": BAD_ISBN}))

    assert str(raised.value) == f"isbn: {BAD_ISBN_MESSAGE}"
    assert not Book.objects.exists()


@pytest.mark.django_db
def test_every_bad_field_is_named_on_one_line() -> None:
    with pytest.raises(CommandError) as raised:
        register_book(
            "--isbn", "12", "--title", " ", "--author", "A", "--id", "not-a-uuid"
        )

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("id: Input should be a valid UUID")
    assert "; isbn: An ISBN has 10 or 13 characters, not counting hyphens." in message
    assert message.endswith("; title: String should have at least 1 character.")
    assert not Book.objects.exists()


@pytest.mark.django_db
def test_a_duplicate_is_a_command_error(register: RegisterFn) -> None:
    book = register(**DDD)

    with pytest.raises(
        CommandError, match=r"^A book with this ISBN or id already exists\.$"
    ):
        register_book(*options({**DDD, "isbn": DDD_ISBN13}))
    with pytest.raises(
        CommandError, match=r"^A book with this ISBN or id already exists\.$"
    ):
        register_book(*options(EFFECTIVE_JAVA), "--id", str(book.id))

    assert Book.objects.count() == 1
    assert BookActivity.objects.count() == 1


def test_the_options_are_required() -> None:
    with pytest.raises(CommandError, match="--isbn"):
        register_book("--title", "T", "--author", "A")


def test_bad_input_fails_from_the_shell_with_one_line() -> None:
    """The real ``manage.py``: exit status 1 and one ``CommandError`` line.

    The subprocess cannot see the test database, so only a path that fails
    before touching it is run here.
    """
    completed = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "register_book",
            *options({**DDD, "isbn": BAD_ISBN}),
        ],
        cwd=PROJECT_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bookstore_project.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [f"CommandError: isbn: {BAD_ISBN_MESSAGE}"]


def test_the_help_describes_the_command() -> None:
    completed = subprocess.run(
        [sys.executable, "manage.py", "help", "register_book"],
        cwd=PROJECT_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bookstore_project.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert "Register a book through the message bus" in completed.stdout
    for option in ("--isbn", "--title", "--author", "--id UUID"):
        assert option in completed.stdout


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_is_one_command_error_line(
    database_outage: DatabaseOutage,
) -> None:
    with database_outage(), pytest.raises(CommandError) as raised:
        register_book(*options(DDD))

    message = str(raised.value)
    assert message.startswith("The database is unavailable, nothing was registered: ")
    assert "\n" not in message
    assert not Book.objects.exists()


def test_the_example_prints_only_the_id_on_stdout(tmp_path: Path) -> None:
    """The bookstore's own settings: the librarians' mail is not on stdout."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bookstore_project.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SECRET_KEY": "tests-only-not-secret",
        "DJANGO_EMAIL_FILE_PATH": str(tmp_path / "sent_emails"),
        "BROKER_URL": "",
    }

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    migrated = manage("migrate", "--noinput", "-v", "0")
    registered = manage("register_book", *options(DDD))

    assert migrated.returncode == 0, migrated.stderr
    assert registered.returncode == 0, registered.stderr
    assert registered.stdout == f"{UUID(registered.stdout.strip())}\n"
    # notify_librarians runs in the background: the task worker mails.
    assert not (tmp_path / "sent_emails").exists()
    worked = manage("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert worked.returncode == 0, worked.stderr
    (mail_file,) = (tmp_path / "sent_emails").iterdir()
    assert "Subject: New book: Domain-Driven Design" in mail_file.read_text()
