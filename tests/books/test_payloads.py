"""The payload-to-command mapping the form, the API, the admin and the CLI share."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from books.domain.messages import DiscontinueBook, RegisterBook
from books.payloads import (
    InvalidPayload,
    discontinue_book_command,
    register_book_command,
)
from tests.books.conftest import BAD_ISBN, BAD_ISBN_MESSAGE, DDD, DDD_ISBN13

ID = UUID("0190b4f2-8d1e-7c3a-9e7d-3f2a1b0c4d5e")


def errors_of(data: Any) -> dict[str, list[str]]:
    with pytest.raises(InvalidPayload) as raised:
        register_book_command(data)
    return raised.value.errors


def test_a_valid_payload_makes_the_command() -> None:
    command = register_book_command({**DDD, "id": str(ID), "title": "  DDD  "})

    assert isinstance(command, RegisterBook)
    assert (command.id, command.isbn, command.title, command.author) == (
        ID,
        DDD_ISBN13,
        "DDD",
        "Eric Evans",
    )


@pytest.mark.parametrize("blank", [None, ""])
def test_a_blank_id_gets_a_new_one(blank: str | None) -> None:
    first = register_book_command({**DDD, "id": blank})
    second = register_book_command(DDD)

    assert first.id.version == 7
    assert first.id != second.id


def test_only_the_commands_input_fields_are_read() -> None:
    command = register_book_command(
        {
            **DDD,
            "metadata": {"name": "evil", "schema_version": 99},
            "message_id": str(ID),
            "unknown": 1,
        }
    )

    assert command.metadata.name == "register_book"
    assert command.message_id != ID


def test_a_checksum_error_keeps_the_validators_words() -> None:
    assert errors_of({**DDD, "isbn": BAD_ISBN}) == {"isbn": [BAD_ISBN_MESSAGE]}


def test_missing_fields_are_required() -> None:
    assert errors_of({}) == {
        "isbn": ["This field is required."],
        "title": ["This field is required."],
        "author": ["This field is required."],
    }


@pytest.mark.parametrize("data", [None, [], "isbn", 3])
def test_a_payload_that_is_not_an_object_is_a_non_field_error(data: Any) -> None:
    assert errors_of(data) == {
        "__all__": ["Expected an object with isbn, title and author."]
    }


def test_other_pydantic_messages_end_with_a_full_stop() -> None:
    errors = errors_of({"isbn": 978, "title": "t" * 256, "author": "A"})

    assert errors == {
        "isbn": ["Input should be a valid string."],
        "title": ["String should have at most 255 characters."],
    }


def test_one_line_joins_the_fields() -> None:
    error = InvalidPayload({"isbn": ["Bad.", "Worse."], "title": ["Required."]})

    assert error.one_line() == "isbn: Bad. Worse.; title: Required."
    assert str(error) == error.one_line()


def test_discontinue_book_command() -> None:
    command = discontinue_book_command(ID, "  Out of print ")

    assert isinstance(command, DiscontinueBook)
    assert (command.id, command.reason) == (ID, "Out of print")
    with pytest.raises(InvalidPayload) as raised:
        discontinue_book_command(ID, "x" * 256)
    assert raised.value.errors == {
        "reason": ["String should have at most 255 characters."]
    }


def test_complete_isbn13_adds_the_check_digit() -> None:
    from books.domain.isbn import complete_isbn13, normalize_isbn

    assert complete_isbn13("978032112521") == "9780321125217"
    assert normalize_isbn(complete_isbn13("979100000001")) == complete_isbn13(
        "979100000001"
    )
