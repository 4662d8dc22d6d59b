"""Property-based tests of the bookstore's entry points (hypothesis).

Whatever a client sends, the API answers 2xx or 4xx (never a 5xx),
the register page shows the form again or redirects, ``register_book`` prints
an id or fails with one ``CommandError`` line; and nothing is half-written:
every stored book has its "registered" history line, books appear only for
the requests that said they were created, and what is stored keeps the
rules (a 13-digit ASCII ISBN, one line of text per title and author).
"""

from __future__ import annotations

import json
import re
import unicodedata
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from books.domain.isbn import complete_isbn13
from books.models import Book, BookActivity

pytestmark = pytest.mark.django_db

# No example database (no .hypothesis/ written), no wall-clock deadline; the
# database fixtures are shared by the examples of one test on purpose (rows
# accumulate, and the invariants below hold for the lot).
PROPERTIES = settings(
    max_examples=75,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any text at all: control characters, lone surrogates, other scripts' digits.
ANY_TEXT = st.text(max_size=40) | st.text(max_size=300)
# What a browser or a shell can send: no lone surrogates (not UTF-8 encodable).
SENDABLE_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300)
VALID_ISBN13 = st.from_regex(r"\A97[89][0-9]{9}\Z").map(lambda d: complete_isbn13(d))
ISBN_LIKE = st.text(alphabet="0123456789X -\u0666\u00b2\uff10\x00", max_size=20)
ISBNS = VALID_ISBN13 | ISBN_LIKE | st.sampled_from(["0-321-12521-5", "0321125215"])


def isbns(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return ISBNS | text


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        "isbn": isbns(ANY_TEXT) | JSON_VALUES,
        "title": ANY_TEXT | JSON_VALUES,
        "author": ANY_TEXT | JSON_VALUES,
        "id": st.uuids().map(str) | JSON_VALUES,
        "metadata": JSON_VALUES,
    },
)
BODIES = st.one_of(
    PAYLOADS.map(json.dumps),
    JSON_VALUES.map(json.dumps),
    st.binary(max_size=200),
    st.integers(min_value=1, max_value=20_000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=20_000).map(
        lambda n: '{"a":' * n + "1" + "}" * n
    ),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
    ]
)


def assert_nothing_half_written(created: int) -> None:
    """Whole books only, and only what the rules let in."""
    assert Book.objects.count() == created
    assert BookActivity.objects.filter(kind="registered").count() == created
    assert not Book.objects.exclude(activities__kind="registered").exists()
    for isbn, title, author in Book.objects.values_list("isbn", "title", "author"):
        assert re.fullmatch(r"97[89][0-9]{10}", isbn), isbn
        for text in (title, author):
            assert text == text.strip()
            assert 1 <= len(text) <= 255
            assert not any(unicodedata.category(char) == "Cc" for char in text)


def csrf_client(user: User) -> tuple[Client, str]:
    """A client that enforces CSRF as production does, and its token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("books:list"))
    return client, client.cookies["csrftoken"].value


def test_the_api_never_answers_5xx(librarian: User) -> None:
    client, token = csrf_client(librarian)
    created = 0

    @PROPERTIES
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def post(body: str | bytes, content_type: str) -> None:
        nonlocal created
        response = client.post(
            reverse("books:api-list"),
            body,
            content_type=content_type,
            headers={"X-CSRFToken": token},
        )

        assert 200 <= response.status_code < 500, response.content
        if response["Content-Type"] == "application/json":
            response.json()
        else:
            # A multipart body so malformed that the CSRF middleware cannot
            # read it as a form: Django's own 400, before the view.
            assert response.status_code == 400
            assert content_type.startswith("multipart/")
        if response.status_code == 201:
            created += 1
        assert_nothing_half_written(created)

    post()


def test_the_register_page_never_answers_5xx(librarian: User) -> None:
    client, token = csrf_client(librarian)
    created = 0

    @PROPERTIES
    @given(isbn=isbns(SENDABLE_TEXT), title=SENDABLE_TEXT, author=SENDABLE_TEXT)
    def post(isbn: str, title: str, author: str) -> None:
        nonlocal created
        response = client.post(
            reverse("books:register"),
            {"isbn": isbn, "title": title, "author": author},
            headers={"X-CSRFToken": token},
        )

        assert response.status_code in (200, 302)
        if response.status_code == 302:
            created += 1
        else:
            assert response.context["form"].errors
        assert_nothing_half_written(created)

    post()


def test_register_book_prints_an_id_or_one_error_line() -> None:
    created = 0

    @PROPERTIES
    @given(isbn=isbns(ANY_TEXT), title=ANY_TEXT, author=ANY_TEXT)
    def register(isbn: str, title: str, author: str) -> None:
        nonlocal created
        out = StringIO()
        options: dict[str, Any] = {"isbn": isbn, "title": title, "author": author}
        error: CommandError | None = None
        try:
            call_command("register_book", stdout=out, **options)
        except CommandError as raised:
            error = raised
        if error is None:
            created += 1
            assert Book.objects.filter(pk=out.getvalue().strip()).exists()
        else:
            assert "\n" not in str(error)
            assert out.getvalue() == ""
        assert_nothing_half_written(created)

    register()
