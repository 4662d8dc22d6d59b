"""The books admin: adding and discontinuing go through the bus."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.admin import helpers
from django.core import mail
from django.test import Client
from django.urls import reverse

from books.domain.messages import DiscontinueBook
from books.models import Book, BookActivity
from messagebus_django import dispatch
from tests.books.conftest import (
    BAD_ISBN,
    BAD_ISBN_MESSAGE,
    DDD,
    DDD_ISBN13,
    EFFECTIVE_JAVA,
    MakeUser,
    RegisterFn,
)

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:books_book_changelist")
ADD = reverse("admin:books_book_add")
CaptureOnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def change_url(book: Book) -> str:
    return reverse("admin:books_book_change", args=[book.pk])


def run_action(client: Client, *books_: Book) -> TestResponse:
    response = client.post(
        CHANGELIST,
        {
            "action": "discontinue_books",
            "index": "0",
            helpers.ACTION_CHECKBOX_NAME: [str(book.pk) for book in books_],
        },
        follow=True,
    )
    return response


def messages_of(response: TestResponse) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def test_the_changelist_searches_and_filters(
    admin_client: Client, register: RegisterFn
) -> None:
    register(**DDD)
    register(**EFFECTIVE_JAVA)

    everything = admin_client.get(CHANGELIST)
    searched = admin_client.get(CHANGELIST, {"q": "Evans", "discontinued__exact": "0"})
    by_isbn = admin_client.get(CHANGELIST, {"q": DDD_ISBN13})
    discontinued = admin_client.get(CHANGELIST, {"discontinued__exact": "1"})

    assert everything.status_code == 200
    assert everything.context["cl"].result_count == 2
    assert searched.status_code == 200
    assert [b.title for b in searched.context["cl"].result_list] == [
        "Domain-Driven Design"
    ]
    assert [b.title for b in by_isbn.context["cl"].result_list] == [
        "Domain-Driven Design"
    ]
    assert discontinued.context["cl"].result_count == 0
    filters = [spec.title for spec in everything.context["cl"].filter_specs]
    assert filters == ["discontinued", "created at"]


def test_the_created_at_filter_works(
    admin_client: Client, register: RegisterFn
) -> None:
    register(**DDD)
    page = admin_client.get(CHANGELIST)
    created_at = page.context["cl"].filter_specs[1]
    (today,) = [
        choice["query_string"]
        for choice in created_at.choices(page.context["cl"])
        if choice["display"] == "Today"
    ]

    response = admin_client.get(CHANGELIST + today)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_the_add_form_has_only_the_commands_fields(admin_client: Client) -> None:
    response = admin_client.get(ADD)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields) == [
        "isbn",
        "title",
        "author",
    ]
    assert response.context["inline_admin_formsets"] == []


def test_adding_a_book_goes_through_the_bus(
    admin_client: Client,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(ADD, DDD)
        assert mail.outbox == []

    book = Book.objects.get()
    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    assert book.isbn == DDD_ISBN13  # normalised by the form and the command
    assert list(book.activities.values_list("kind", flat=True)) == ["registered"]
    assert [m.subject for m in mail.outbox] == ["New book: Domain-Driven Design"]


def test_the_add_form_rejects_a_bad_isbn(admin_client: Client) -> None:
    response = admin_client.post(ADD, {**DDD, "isbn": BAD_ISBN})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"isbn": [BAD_ISBN_MESSAGE]}
    assert not Book.objects.exists()


def test_the_add_form_rejects_a_duplicate_isbn(
    admin_client: Client, register: RegisterFn
) -> None:
    register(**DDD)

    response = admin_client.post(ADD, {**DDD, "isbn": DDD_ISBN13})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "isbn": ["Book with this ISBN already exists."]
    }
    assert Book.objects.count() == 1


def test_an_existing_book_is_view_only_with_its_history(
    admin_client: Client, register: RegisterFn
) -> None:
    book = register(**DDD)

    page = admin_client.get(change_url(book))
    posted = admin_client.post(
        change_url(book),
        {
            "isbn": "0201633612",
            "title": "Changed",
            "author": "Changed",
            "discontinued": "on",
            # The history inline's management form (its rows are view-only).
            "activities-TOTAL_FORMS": "1",
            "activities-INITIAL_FORMS": "1",
        },
    )

    assert page.status_code == 200
    assert list(page.context["adminform"].form.fields) == []
    assert set(page.context["adminform"].readonly_fields) >= {
        "isbn",
        "title",
        "author",
        "discontinued",
    }
    (history,) = page.context["inline_admin_formsets"]
    assert history.has_add_permission is False
    assert history.has_change_permission is False
    assert history.has_delete_permission is False
    assert b"registered" in page.content
    # View-only: no save button, and a POST is refused, not answered
    # "changed successfully" with nothing saved.
    assert page.context["has_change_permission"] is False
    assert b'name="_save"' not in page.content
    assert posted.status_code == 403
    book.refresh_from_db()
    assert (book.isbn, book.title, book.author, book.discontinued) == (
        DDD_ISBN13,
        "Domain-Driven Design",
        "Eric Evans",
        False,
    )
    assert book.activities.count() == 1


def test_the_action_discontinues_the_selected_books(
    admin_client: Client, register: RegisterFn
) -> None:
    ddd = register(**DDD)
    java = register(**EFFECTIVE_JAVA)
    untouched = register(isbn="0201633612", title="Design Patterns", author="GoF")

    response = run_action(admin_client, ddd, java)

    assert response.status_code == 200
    assert messages_of(response) == [("success", "Discontinued 2 books.")]
    assert set(Book.objects.filter(discontinued=True)) == {ddd, java}
    untouched.refresh_from_db()
    assert untouched.discontinued is False
    assert sorted(
        BookActivity.objects.filter(kind="discontinued").values_list(
            "book_id", "detail"
        )
    ) == sorted(
        [
            (ddd.id, "Discontinued from the admin"),
            (java.id, "Discontinued from the admin"),
        ]
    )


def test_the_action_reports_a_book_that_vanished(
    admin_client: Client, register: RegisterFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = register(**DDD)
    gone = register(**EFFECTIVE_JAVA)
    commands: list[DiscontinueBook] = []

    def dispatch_while_another_admin_deletes(
        command: DiscontinueBook, **kwargs: Any
    ) -> Any:
        # Between the changelist's SELECT and this command, the book is gone.
        Book.objects.filter(pk=gone.pk).delete()
        commands.append(command)
        return dispatch(command, **kwargs)

    monkeypatch.setattr("books.admin.dispatch", dispatch_while_another_admin_deletes)

    response = run_action(admin_client, kept, gone)

    assert [command.id for command in commands] == [kept.id, gone.id]
    assert messages_of(response) == [
        ("success", "Discontinued 1 book."),
        (
            "error",
            "Could not discontinue 1 book: Effective Java (Joshua Bloch) (not found)",
        ),
    ]
    kept.refresh_from_db()
    assert kept.discontinued is True
    assert not Book.objects.filter(pk=gone.pk).exists()
    assert list(
        BookActivity.objects.filter(kind="discontinued").values_list(
            "book_id", flat=True
        )
    ) == [kept.id]


def test_discontinuing_twice_is_harmless(
    admin_client: Client, register: RegisterFn
) -> None:
    book = register(**DDD)

    run_action(admin_client, book)
    response = run_action(admin_client, book)

    assert messages_of(response) == [("success", "Discontinued 1 book.")]
    assert BookActivity.objects.filter(kind="discontinued").count() == 1


def test_a_staff_user_who_may_only_view_gets_no_action(
    client: Client, make_user: MakeUser, register: RegisterFn
) -> None:
    book = register(**DDD)
    client.force_login(make_user("viewer", "view_book", is_staff=True))

    page = client.get(CHANGELIST)
    posted = run_action(client, book)

    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert page.context["action_form"] is None  # no action at all
    assert posted.status_code == 200
    assert messages_of(posted) == []
    book.refresh_from_db()
    assert book.discontinued is False
    assert not BookActivity.objects.filter(kind="discontinued").exists()
    history = client.get(change_url(book))
    assert history.status_code == 200
    assert len(history.context["inline_admin_formsets"]) == 1


def test_a_staff_user_who_may_change_gets_the_action(
    client: Client, make_user: MakeUser, register: RegisterFn
) -> None:
    book = register(**DDD)
    client.force_login(make_user("editor", "change_book", is_staff=True))

    page = client.get(CHANGELIST)
    posted = run_action(client, book)

    choices = [name for name, _ in page.context["action_form"].fields["action"].choices]
    assert choices == ["", "discontinue_books"]
    assert messages_of(posted) == [("success", "Discontinued 1 book.")]
    book.refresh_from_db()
    assert book.discontinued is True


def test_no_delete_is_offered_even_to_a_superuser(
    admin_client: Client, register: RegisterFn
) -> None:
    book = register(**DDD)

    page = admin_client.get(CHANGELIST)
    choices = [name for name, _ in page.context["action_form"].fields["action"].choices]
    deleted = admin_client.post(
        CHANGELIST,
        {
            "action": "delete_selected",
            "index": "0",
            helpers.ACTION_CHECKBOX_NAME: [str(book.pk)],
            "post": "yes",
        },
    )
    delete_page = admin_client.post(
        reverse("admin:books_book_delete", args=[book.pk]), {"post": "yes"}
    )

    # Deleting would bypass the bus: discontinuing is the way out.
    assert choices == ["", "discontinue_books"]
    assert deleted.status_code == 302  # "No action selected.", nothing done
    assert delete_page.status_code == 403
    assert Book.objects.filter(pk=book.pk).exists()
    assert b"deletelink" not in admin_client.get(change_url(book)).content


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "Domain\x1bDriven"), ("author", "Eric\u0085Evans")],
    ids=["escape", "next-line"],
)
def test_the_add_form_refuses_control_characters(
    admin_client: Client, field: str, value: str
) -> None:
    response = admin_client.post(ADD, {**DDD, field: value})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert errors[field][0].startswith("Control characters are not allowed (found U+")
    assert not Book.objects.exists()


def test_the_add_form_refuses_non_ascii_digits(admin_client: Client) -> None:
    response = admin_client.post(ADD, {**DDD, "isbn": "978\u0666226753883"})

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["isbn"]
    assert not Book.objects.exists()
