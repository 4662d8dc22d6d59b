"""Checks of the tutorial's app, run inside the project docs/tutorial.md builds.

``test_tutorial.py`` copies this file into that project and runs it with
the tutorial's own tests (``pytest --ds=mysite.settings``): every entry point
the tutorial writes refuses bad input with field errors (never a 500), and
its admin changes books only through the bus.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

# The tutorial's app exists only in the project the test builds.
from catalog.models import Book  # type: ignore[import-not-found]
from django.contrib.admin import helpers
from django.test import Client

pytestmark = pytest.mark.django_db

DDD = {"isbn": "9780321125217", "title": "Domain-Driven Design", "author": "Eric Evans"}
ISBN_MESSAGE = "An ISBN has 10 or 13 digits (an ISBN-10 may end in X)."
ADD = "/admin/catalog/book/add/"
CHANGELIST = "/admin/catalog/book/"


def api(client: Client, body: Any) -> Any:
    return client.post(
        "/api/books",
        body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
    )


def registered_through_the_bus(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the tutorial's ``log_registration`` event handler logged."""
    return [
        r.getMessage() for r in caplog.records if r.name == "catalog.service.handlers"
    ]


def test_the_api_registers_a_book(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")

    response = api(client, DDD)

    assert response.status_code == 201
    book = Book.objects.get(pk=response.json()["id"])
    assert registered_through_the_bus(caplog) == [
        f"Registered Domain-Driven Design ({book.id})"
    ]


def test_a_missing_field_is_a_field_error(client: Client) -> None:
    response = api(client, {"isbn": DDD["isbn"], "title": DDD["title"]})

    assert response.status_code == 400
    assert response.json() == {"errors": {"author": ["Field required"]}}


def test_an_isbn_of_17_characters_is_a_field_error(client: Client) -> None:
    response = api(client, {**DDD, "isbn": "97803211252171234"})

    assert response.status_code == 400
    assert response.json() == {"errors": {"isbn": [ISBN_MESSAGE]}}
    assert not Book.objects.exists()


@pytest.mark.parametrize(
    ("isbn", "title"),
    [("978\u0660321125217", "DDD"), (DDD["isbn"], "t" * 256), (DDD["isbn"], " ")],
    ids=["arabic-indic-digit", "title-too-long", "blank-title"],
)
def test_bad_fields_are_400(client: Client, isbn: str, title: str) -> None:
    response = api(client, {**DDD, "isbn": isbn, "title": title})

    assert response.status_code == 400
    assert len(response.json()["errors"]) == 1
    assert not Book.objects.exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [("{", "Invalid JSON."), ("[1]", "Expected an object.")],
    ids=["not-json", "not-an-object"],
)
def test_a_body_that_is_no_object_is_400(client: Client, body: str, error: str) -> None:
    response = api(client, body)

    assert response.status_code == 400
    assert response.json() == {"errors": {"__all__": [error]}}


def test_a_duplicate_is_a_409(client: Client) -> None:
    api(client, DDD)

    response = api(client, DDD)

    assert response.status_code == 409
    assert Book.objects.count() == 1


def test_the_register_page(client: Client) -> None:
    refused = client.post("/books/new", {**DDD, "isbn": "12345"})
    registered = client.post("/books/new", DDD)
    duplicate = client.post("/books/new", DDD)

    assert refused.status_code == 200
    assert refused.context["form"].errors == {"isbn": [ISBN_MESSAGE]}
    assert registered.status_code == 302
    assert duplicate.status_code == 200
    assert list(duplicate.context["form"].errors) == ["isbn"]
    assert Book.objects.count() == 1


def test_the_admin_add_form_has_only_the_commands_fields(admin_client: Client) -> None:
    response = admin_client.get(ADD)

    assert list(response.context["adminform"].form.fields) == [
        "isbn",
        "title",
        "author",
    ]


def test_adding_in_the_admin_goes_through_the_bus(
    admin_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")

    refused = admin_client.post(ADD, {**DDD, "isbn": "97803211252171234"})
    added = admin_client.post(ADD, DDD)

    assert refused.status_code == 200
    assert "isbn" in refused.context["adminform"].form.errors
    assert added.status_code == 302
    book = Book.objects.get()
    assert registered_through_the_bus(caplog) == [
        f"Registered Domain-Driven Design ({book.id})"
    ]
    # The success message links to the book the command registered.
    assert admin_client.get(f"{CHANGELIST}{book.pk}/change/").status_code == 200


def test_a_books_page_is_view_only(admin_client: Client) -> None:
    admin_client.post(ADD, DDD)
    book = Book.objects.get()

    page = admin_client.get(f"{CHANGELIST}{book.pk}/change/")
    posted = admin_client.post(
        f"{CHANGELIST}{book.pk}/change/",
        {"isbn": "0201633612", "title": "Changed", "author": "Changed"},
    )

    assert page.context["has_change_permission"] is False
    assert posted.status_code == 403  # not "changed successfully", nothing saved
    book.refresh_from_db()
    assert book.title == "Domain-Driven Design"


def test_books_are_discontinued_not_deleted(admin_client: Client) -> None:
    admin_client.post(ADD, DDD)
    book = Book.objects.get()

    page = admin_client.get(CHANGELIST)
    choices = [name for name, _ in page.context["action_form"].fields["action"].choices]
    deleted = admin_client.post(f"{CHANGELIST}{book.pk}/delete/", {"post": "yes"})
    discontinued = admin_client.post(
        CHANGELIST,
        {
            "action": "discontinue",
            "index": "0",
            helpers.ACTION_CHECKBOX_NAME: [str(book.pk)],
        },
    )

    assert choices == ["", "discontinue"]
    assert deleted.status_code == 403
    assert discontinued.status_code == 302
    book.refresh_from_db()
    assert book.discontinued is True


@pytest.mark.django_db(transaction=True)
def test_the_background_handler_runs_after_the_commit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Step 9: no TASKS setting, so the ImmediateBackend runs the task at once.
    from catalog.domain.messages import RegisterBook  # type: ignore[import-not-found]

    from messagebus_django import dispatch
    from messagebus_django.models import HandledEvent

    caplog.set_level("INFO", logger="catalog.announcements")

    dispatch(RegisterBook(**DDD))

    assert [
        r.getMessage() for r in caplog.records if r.name == "catalog.announcements"
    ] == ["New in the catalogue: Domain-Driven Design by Eric Evans"]
    assert HandledEvent.objects.get().handler == (
        "catalog.service.handlers:announce_book"
    )
