"""Control characters and non-ASCII digits, refused alike at every entry point.

The rule lives in the domain (``books.domain.text``, ``books.domain.isbn``);
these tests check that the register form, the API, the admin (in
test_admin.py) and ``manage.py register_book`` all say so, per field, and
store nothing.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from books.domain.isbn import InvalidISBN, normalize_isbn
from books.models import Book
from books.payloads import InvalidPayload, register_book_command
from tests.books.conftest import DDD, RegisterFn

DIGITS_MESSAGE = (
    "An ISBN has only the digits 0-9 (an ISBN-10 may end in X), "
    "with hyphens or spaces between them."
)
ARABIC_INDIC = "978\u0666\u0662\u0662\u0666\u0667\u0665\u0663\u0668\u0668\u0663"
"""The digits of 9786226753883 in Arabic-Indic (the issue's example)."""
ARABIC_INDIC_ASCII = "9786226753883"

# Python's str.isdigit() accepts all of these; int() some of them.
NOT_ASCII_DIGITS = {
    "arabic-indic": ARABIC_INDIC,
    "superscript": "97862267538\u00b23",
    "fullwidth": "\uff19786226753883",
    "devanagari-isbn10": "0-321-12521-\u096b",
}


@pytest.mark.parametrize("isbn", NOT_ASCII_DIGITS.values(), ids=NOT_ASCII_DIGITS)
def test_only_ascii_digits_make_an_isbn(isbn: str) -> None:
    with pytest.raises(InvalidISBN) as raised:
        normalize_isbn(isbn)

    assert str(raised.value) == DIGITS_MESSAGE


@pytest.mark.parametrize(
    "isbn", ["978-6-22-675388-3", "978 6 22 675388 3", " 9786226753883 "]
)
def test_hyphens_and_spaces_separate_digits(isbn: str) -> None:
    assert normalize_isbn(isbn) == ARABIC_INDIC_ASCII


@pytest.mark.parametrize(
    "isbn", ["978_6226753883", "978.6226753883", "97862267538\t83"]
)
def test_other_separators_are_refused(isbn: str) -> None:
    with pytest.raises(InvalidISBN, match="only the digits 0-9"):
        normalize_isbn(isbn)


CONTROL = {
    "nul": ("\x00", "U+0000"),
    "escape": ("\x1b", "U+001B"),
    "newline": ("\n", "U+000A"),
    "delete": ("\x7f", "U+007F"),
    "c1": ("\x85", "U+0085"),
}


@pytest.mark.parametrize(("char", "code"), CONTROL.values(), ids=CONTROL)
@pytest.mark.parametrize("field", ["title", "author"])
def test_text_fields_refuse_control_characters(
    field: str, char: str, code: str
) -> None:
    with pytest.raises(InvalidPayload) as raised:
        register_book_command({**DDD, field: f"Domain{char}Driven"})

    assert raised.value.errors == {
        field: [f"Control characters are not allowed (found {code})."]
    }


NOT_ONE_LINE = {
    "line-separator": ("\u2028", "Line and paragraph separators are not allowed"),
    "paragraph-separator": (
        "\u2029",
        "Line and paragraph separators are not allowed",
    ),
    **{
        f"bidi-{ord(char):04x}": (char, "Bidirectional text controls are not allowed")
        for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    },
}


@pytest.mark.parametrize(("char", "message"), NOT_ONE_LINE.values(), ids=NOT_ONE_LINE)
@pytest.mark.parametrize("field", ["title", "author"])
def test_text_fields_refuse_separators_and_bidi_controls(
    field: str, char: str, message: str
) -> None:
    with pytest.raises(InvalidPayload) as raised:
        register_book_command({**DDD, field: f"Domain{char}Driven"})

    [error] = raised.value.errors[field]
    assert error.startswith(message)
    assert error.endswith(f"(found U+{ord(char):04X}).")


@pytest.mark.parametrize("field", ["title", "author"])
def test_text_fields_refuse_lone_surrogates(field: str) -> None:
    # pydantic's own rule: a str that cannot be encoded is no valid string.
    with pytest.raises(InvalidPayload) as raised:
        register_book_command({**DDD, field: "Domain\ud800Driven"})

    assert list(raised.value.errors) == [field]


def test_a_discontinue_reason_refuses_control_characters() -> None:
    from books.payloads import discontinue_book_command
    from messagebus_django import uuid7

    with pytest.raises(InvalidPayload) as raised:
        discontinue_book_command(uuid7(), "out\x00of print")

    assert raised.value.errors == {
        "reason": ["Control characters are not allowed (found U+0000)."]
    }


def test_letters_of_every_script_and_inner_spaces_are_fine() -> None:
    command = register_book_command(
        {**DDD, "title": "Le Petit Prince — 小王子 ٦", "author": "Antoine\u00a0de St"}
    )

    assert command.title == "Le Petit Prince — 小王子 ٦"


# The entry points.

API = reverse("books:api-list")
FORM = reverse("books:register")


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["title", "author"])
def test_the_api_refuses_a_nul_per_field(librarian_client: Client, field: str) -> None:
    response = librarian_client.post(
        API, json.dumps({**DDD, field: "A\x00B"}), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "errors": {field: ["Control characters are not allowed (found U+0000)."]}
    }
    assert not Book.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_a_lone_surrogate(librarian_client: Client) -> None:
    # json.dumps escapes it as \ud800, which json.loads turns back into one.
    response = librarian_client.post(
        API, json.dumps({**DDD, "title": "A\ud800"}), content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["title"]
    assert not Book.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("isbn", NOT_ASCII_DIGITS.values(), ids=NOT_ASCII_DIGITS)
def test_the_api_refuses_non_ascii_digits(librarian_client: Client, isbn: str) -> None:
    response = librarian_client.post(
        API, json.dumps({**DDD, "isbn": isbn}), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"errors": {"isbn": [DIGITS_MESSAGE]}}
    assert not Book.objects.exists()


@pytest.mark.django_db
def test_arabic_indic_digits_are_no_second_copy_of_a_book(
    librarian_client: Client, register: RegisterFn
) -> None:
    register(**{**DDD, "isbn": ARABIC_INDIC_ASCII})

    response = librarian_client.post(
        API,
        json.dumps({**DDD, "isbn": ARABIC_INDIC}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert list(Book.objects.values_list("isbn", flat=True)) == [ARABIC_INDIC_ASCII]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "title",
            "Domain\x1bDriven",
            "Control characters are not allowed (found U+001B).",
        ),
        ("title", "Domain\x00Driven", "Null characters are not allowed."),
        ("isbn", ARABIC_INDIC, DIGITS_MESSAGE),
    ],
    ids=["escape", "nul", "arabic-indic"],
)
def test_the_register_form_refuses_per_field(
    librarian_client: Client, field: str, value: str, message: str
) -> None:
    response = librarian_client.post(FORM, {**DDD, field: value})

    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message]}
    assert not Book.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("option", "value", "line"),
    [
        (
            "--title",
            "A\x1bB",
            "title: Control characters are not allowed (found U+001B).",
        ),
        # A file name's undecodable bytes reach argv as lone surrogates.
        (
            "--author",
            "A\udcffB",
            "author: Input should be a valid string, unable to parse raw data as a unicode string.",
        ),
        ("--isbn", "97862267538\u00b23", f"isbn: {DIGITS_MESSAGE}"),
    ],
    ids=["escape", "surrogate-escape", "superscript"],
)
def test_the_command_refuses_with_one_line(option: str, value: str, line: str) -> None:
    args = {"--isbn": DDD["isbn"], "--title": DDD["title"], "--author": DDD["author"]}
    args[option] = value

    with pytest.raises(CommandError) as raised:
        call_command(
            "register_book", *(a for kv in args.items() for a in kv), stdout=StringIO()
        )

    assert str(raised.value) == line
    assert not Book.objects.exists()
