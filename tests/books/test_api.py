"""The JSON API: an async view that dispatches with ``adispatch``."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core import mail
from django.test import AsyncClient, Client
from django.urls import reverse

from books.models import Book, BookActivity
from messagebus_django import uuid7
from tests.books.conftest import (
    BAD_ISBN,
    BAD_ISBN_MESSAGE,
    DDD,
    DDD_ISBN13,
    EFFECTIVE_JAVA,
    DatabaseOutage,
    MakeUser,
    RegisterFn,
)

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db

URL = reverse("books:api-list")
CaptureOnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def post_raw(client: Client, body: str | bytes, **extra: Any) -> TestResponse:
    return client.post(URL, body, content_type="application/json", **extra)


def post(client: Client, payload: Any, **extra: Any) -> TestResponse:
    return post_raw(client, json.dumps(payload), **extra)


def detail_url(id: UUID | str) -> str:
    return reverse("books:api-detail", args=[id])


def test_registering_returns_201_the_id_and_the_location(
    librarian_client: Client,
) -> None:
    response = post(librarian_client, DDD)

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    id = UUID(response.json()["id"])
    assert response["Location"] == detail_url(id)
    book = Book.objects.get(pk=id)
    assert (book.isbn, book.title, book.author, book.discontinued) == (
        DDD_ISBN13,
        "Domain-Driven Design",
        "Eric Evans",
        False,
    )
    assert list(BookActivity.objects.values_list("book_id", "kind")) == [
        (id, "registered")
    ]


def test_the_api_under_the_async_request_handler(librarian: User) -> None:
    client = AsyncClient()
    client.force_login(librarian)

    created = async_to_sync(client.post)(
        URL, json.dumps(DDD), content_type="application/json"
    )
    detail = async_to_sync(client.get)(created["Location"])

    assert created.status_code == 201
    assert detail.status_code == 200
    assert detail.json()["id"] == created.json()["id"]
    assert detail.json()["isbn"] == DDD_ISBN13
    assert BookActivity.objects.filter(kind="registered").count() == 1


def test_the_caller_may_choose_the_id(librarian_client: Client) -> None:
    id = uuid7()

    response = post(librarian_client, {**DDD, "id": str(id)})

    assert response.status_code == 201
    assert response.json() == {"id": str(id)}
    assert Book.objects.filter(pk=id).exists()


def test_the_librarians_are_mailed_after_commit(
    librarian_client: Client,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert post(librarian_client, DDD).status_code == 201
        assert mail.outbox == []

    assert [m.subject for m in mail.outbox] == ["New book: Domain-Driven Design"]


@pytest.mark.parametrize(
    "body",
    # (An empty body has no Content-Type: that is the 415 below.)
    ['{"isbn": ', b"\xff\xfe", " "],
    ids=["truncated", "not-utf8", "blank"],
)
def test_invalid_json_is_a_400(librarian_client: Client, body: str | bytes) -> None:
    response = post_raw(librarian_client, body)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["__all__"]
    assert errors["__all__"][0].startswith("Invalid JSON: ")
    assert not Book.objects.exists()


@pytest.mark.parametrize("payload", [[], "a string", 42, None])
def test_a_json_value_other_than_an_object_is_a_400(
    librarian_client: Client, payload: Any
) -> None:
    response = post(librarian_client, payload)

    assert response.status_code == 400
    assert response.json() == {
        "errors": {"__all__": ["Expected an object with isbn, title and author."]}
    }


def test_missing_fields_are_400_keyed_by_field(librarian_client: Client) -> None:
    response = post(librarian_client, {"title": "Domain-Driven Design"})

    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "isbn": ["This field is required."],
            "author": ["This field is required."],
        }
    }
    assert not Book.objects.exists()


def test_a_bad_isbn_is_a_400_on_the_isbn_field(librarian_client: Client) -> None:
    response = post(librarian_client, {**DDD, "isbn": BAD_ISBN})

    assert response.status_code == 400
    assert response.json() == {"errors": {"isbn": [BAD_ISBN_MESSAGE]}}
    assert not Book.objects.exists()


def test_wrong_types_and_a_bad_id_are_400_keyed_by_field(
    librarian_client: Client,
) -> None:
    response = post(
        librarian_client,
        {"id": "not-a-uuid", "isbn": 9780321125217, "title": " ", "author": "A"},
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"id", "isbn", "title"}
    assert errors["id"][0].startswith("Input should be a valid UUID")
    assert errors["isbn"] == ["Input should be a valid string."]
    assert errors["title"] == ["String should have at least 1 character."]


def test_metadata_in_the_payload_is_ignored(librarian_client: Client) -> None:
    response = post(
        librarian_client,
        {**DDD, "metadata": {"name": "evil", "schema_version": 99}},
    )

    assert response.status_code == 201
    assert Book.objects.count() == 1


def test_a_duplicate_isbn_is_a_409(
    librarian_client: Client, register: RegisterFn
) -> None:
    register(**DDD)

    response = post(librarian_client, {**DDD, "isbn": DDD_ISBN13})

    assert response.status_code == 409
    assert response.json() == {
        "errors": {"isbn": ["A book with this ISBN already exists."]}
    }
    assert Book.objects.count() == 1
    assert BookActivity.objects.count() == 1


def test_a_duplicate_id_is_a_409_on_the_id(
    librarian_client: Client, register: RegisterFn
) -> None:
    book = register(**DDD)

    response = post(librarian_client, {**EFFECTIVE_JAVA, "id": str(book.id)})

    assert response.status_code == 409
    assert response.json() == {
        "errors": {"id": ["A book with this id already exists."]}
    }
    assert list(Book.objects.values_list("title", flat=True)) == [
        "Domain-Driven Design"
    ]


def test_anonymous_users_get_a_json_401(client: Client) -> None:
    response = post(client, DDD)

    assert response.status_code == 401
    assert response.json() == {"error": "authentication required"}
    assert not Book.objects.exists()


def test_users_without_add_book_get_a_json_403(reader_client: Client) -> None:
    response = post(reader_client, DDD)

    assert response.status_code == 403
    assert response.json() == {"error": "permission denied"}
    assert not Book.objects.exists()


def test_only_post_is_allowed_on_the_collection(librarian_client: Client) -> None:
    response = librarian_client.get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_csrf_is_enforced_and_the_header_passes_it(
    make_user: MakeUser,
) -> None:
    librarian: User = make_user("csrf-librarian", "add_book")
    client = Client(enforce_csrf_checks=True)
    client.force_login(librarian)

    refused = post(client, DDD)
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    assert not Book.objects.exists()

    client.get(reverse("books:list"))  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value

    accepted = post(client, DDD, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201
    assert Book.objects.count() == 1


def test_the_detail_is_readable_by_anyone(client: Client, register: RegisterFn) -> None:
    book = register(**DDD)

    response = client.get(detail_url(book.id))

    assert response.status_code == 200
    assert response.json() == {
        "id": str(book.id),
        "isbn": DDD_ISBN13,
        "title": "Domain-Driven Design",
        "author": "Eric Evans",
        "discontinued": False,
    }


def test_an_unknown_book_is_a_json_404(client: Client) -> None:
    response = client.get(detail_url(uuid7()))

    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


def test_a_malformed_id_is_no_route(client: Client) -> None:
    assert client.get("/api/books/not-a-uuid").status_code == 404


def test_the_detail_is_read_only(
    librarian_client: Client, register: RegisterFn
) -> None:
    book = register(**DDD)

    response = librarian_client.post(detail_url(book.id))

    assert response.status_code == 405


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", json.dumps(DDD)),
        ("application/x-www-form-urlencoded", "isbn=0-321-12521-5&title=T&author=A"),
        ("", json.dumps(DDD)),
    ],
    ids=["text", "urlencoded", "none"],
)
def test_a_body_that_is_not_json_is_a_415(
    librarian_client: Client, content_type: str, body: str
) -> None:
    response = librarian_client.post(URL, body, content_type=content_type)

    assert response.status_code == 415
    assert response.json() == {"error": "Content-Type must be application/json"}
    assert response["Accept-Post"] == "application/json"
    assert not Book.objects.exists()


def test_a_multipart_form_is_a_415_not_a_500(librarian: User) -> None:
    # The test client's default encoding. The CSRF middleware, enforced as in
    # production, reads such a body as a form first; request.body cannot be
    # read after that.
    client = Client(enforce_csrf_checks=True)
    client.force_login(librarian)
    client.get(reverse("books:list"))  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value

    response = client.post(URL, DDD, headers={"X-CSRFToken": token})

    assert response.status_code == 415
    assert response.json() == {"error": "Content-Type must be application/json"}
    assert not Book.objects.exists()


def test_json_with_a_charset_is_json(librarian_client: Client) -> None:
    response = librarian_client.post(
        URL, json.dumps(DDD), content_type="application/json; charset=utf-8"
    )

    assert response.status_code == 201


# Past every supported Python's limit: from 3.12 the JSON parser recurses in C
# with a limit of its own, and takes 1 000 levels in its stride.
@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_json_nested_too_deep_is_a_400(librarian_client: Client, depth: int) -> None:
    response = post_raw(librarian_client, "[" * depth + "]" * depth)

    assert response.status_code == 400
    assert response.json() == {"errors": {"__all__": ["JSON nested too deeply."]}}
    assert not Book.objects.exists()


def test_a_nested_field_value_is_a_field_error(librarian_client: Client) -> None:
    response = post(librarian_client, {**DDD, "title": [[[["deep"]]]]})

    assert response.status_code == 400
    assert response.json() == {"errors": {"title": ["Input should be a valid string."]}}


def test_a_body_over_the_upload_limit_is_a_json_413(
    librarian_client: Client, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = post(librarian_client, {**DDD, "title": "t" * 200})

    assert response.status_code == 413
    assert response.json() == {"error": "request body too large"}
    assert not Book.objects.exists()


def assert_json_503(response: TestResponse) -> None:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json() == {"error": "database unavailable, try again later"}


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_is_a_json_503_with_retry_after(
    librarian: User, database_outage: DatabaseOutage
) -> None:
    client = Client()
    client.force_login(librarian)  # before the outage: that writes a session
    with database_outage():
        response = post(client, DDD)

    assert_json_503(response)
    assert not Book.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_detail_during_a_database_outage_is_a_json_503(
    client: Client, register: RegisterFn, database_outage: DatabaseOutage
) -> None:
    book = register(**DDD)
    with database_outage():
        response = client.get(detail_url(book.id))

    assert_json_503(response)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_an_oversized_form_body_is_a_json_415(
    librarian: User, settings: Any, encoding: str
) -> None:
    # CSRF enforced, as in production: the check must not read the form.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    client = Client(enforce_csrf_checks=True)
    client.force_login(librarian)
    client.get(reverse("books:list"))  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    form = {**DDD, "title": "t" * 200}

    if encoding == "multipart":
        response = client.post(URL, form, headers={"X-CSRFToken": token})
    else:
        response = client.post(
            URL,
            urlencode(form),
            content_type="application/x-www-form-urlencoded",
            headers={"X-CSRFToken": token},
        )

    assert response.status_code == 415
    assert response.json() == {"error": "Content-Type must be application/json"}
    assert not Book.objects.exists()


def test_csrf_is_checked_before_the_body_is_read(librarian: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(librarian)

    refused = post_raw(client, "{not json")

    assert refused.status_code == 403
    assert b"CSRF" in refused.content
