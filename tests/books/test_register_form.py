"""The register page: a Django form validated by the RegisterBook command."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from books.models import Book, BookActivity
from tests.books.conftest import (
    BAD_ISBN,
    BAD_ISBN_MESSAGE,
    DDD,
    DDD_ISBN13,
    EFFECTIVE_JAVA,
    DatabaseOutage,
    RegisterFn,
)

pytestmark = pytest.mark.django_db

URL = reverse("books:register")
CaptureOnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def test_the_form_renders_for_a_librarian(librarian_client: Client) -> None:
    response = librarian_client.get(URL)

    assert response.status_code == 200
    assert "books/register.html" in [t.name for t in response.templates]
    assert set(response.context["form"].fields) == {"isbn", "title", "author"}
    assert b'name="csrfmiddlewaretoken"' in response.content


def test_anonymous_users_are_sent_to_the_admin_login(client: Client) -> None:
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={URL}"


def test_a_posting_anonymous_user_writes_nothing(client: Client) -> None:
    response = client.post(URL, DDD)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not Book.objects.exists()


def test_a_user_without_add_book_is_forbidden(reader_client: Client) -> None:
    assert reader_client.get(URL).status_code == 403
    assert reader_client.post(URL, DDD).status_code == 403
    assert not Book.objects.exists()


def test_registering_goes_through_the_bus_and_redirects_with_a_message(
    librarian_client: Client,
) -> None:
    response = librarian_client.post(URL, DDD, follow=True)

    assert response.redirect_chain == [(reverse("books:list"), 302)]
    book = Book.objects.get()
    assert (book.isbn, book.title, book.author) == (
        DDD_ISBN13,
        "Domain-Driven Design",
        "Eric Evans",
    )
    assert list(book.activities.values_list("kind", "detail")) == [
        ("registered", "Domain-Driven Design")
    ]
    assert [str(m) for m in response.context["messages"]] == [
        '"Domain-Driven Design" was registered.'
    ]
    assert b"Domain-Driven Design" in response.content


def test_the_librarians_are_mailed_only_after_commit(
    librarian_client: Client,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = librarian_client.post(URL, DDD)
        assert response.status_code == 302
        assert mail.outbox == []  # the command's transaction has not committed

    # The outbox relay; notify_librarians's task, enqueued after commit (the
    # suite's TASKS is the immediate backend: it runs there and then, and its
    # own unit of work mails); the command's notifier (nothing queued).
    assert len(callbacks) == 3
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "New book: Domain-Driven Design"
    assert message.to == ["librarians@bookstore.example"]
    assert DDD_ISBN13 in str(message.body)


def test_a_bad_isbn_checksum_is_an_error_on_the_isbn_field(
    librarian_client: Client,
) -> None:
    response = librarian_client.post(URL, {**DDD, "isbn": BAD_ISBN})

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"isbn": [BAD_ISBN_MESSAGE]}
    assert BAD_ISBN_MESSAGE.replace("'", "&#x27;").encode() in response.content
    assert not Book.objects.exists()
    assert not BookActivity.objects.exists()


def test_blank_fields_are_required_once(librarian_client: Client) -> None:
    response = librarian_client.post(URL, {"isbn": "", "title": "  ", "author": ""})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "isbn": ["This field is required."],
        "title": ["This field is required."],
        "author": ["This field is required."],
    }
    assert not Book.objects.exists()


def test_a_duplicate_isbn_is_an_error_and_writes_nothing(
    librarian_client: Client, register: RegisterFn
) -> None:
    register(**DDD)

    # The same book, entered as its ISBN-13.
    response = librarian_client.post(
        URL, {**DDD, "isbn": DDD_ISBN13, "title": "DDD again"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "isbn": ["A book with this ISBN already exists."]
    }
    assert Book.objects.count() == 1
    assert BookActivity.objects.count() == 1
    assert not list(response.context["messages"])


def test_the_list_shows_the_books_and_links_to_the_form(
    client: Client, register: RegisterFn
) -> None:
    register(**DDD)
    register(**EFFECTIVE_JAVA)

    response = client.get(reverse("books:list"))

    assert response.status_code == 200
    assert [book.title for book in response.context["books"]] == [
        "Domain-Driven Design",
        "Effective Java",
    ]
    content = response.content.decode()
    assert DDD_ISBN13 in content
    assert "Joshua Bloch" in content
    assert f'href="{URL}"' in content
    assert "csrftoken" in response.cookies


def test_the_list_is_read_only(client: Client) -> None:
    assert client.post(reverse("books:list")).status_code == 405


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_database_outage_is_a_503_page(
    librarian: User, database_outage: DatabaseOutage, method: str
) -> None:
    client = Client()
    client.force_login(librarian)  # before the outage: that writes a session
    with database_outage():
        response = client.get(URL) if method == "get" else client.post(URL, DDD)

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    assert b"try again" in response.content
    assert not Book.objects.exists()
