"""What the bookstore publishes, asserted with the testing kit's fixtures."""

from __future__ import annotations

from django.contrib.admin import helpers
from django.test import Client
from django.urls import reverse

from books.domain.messages import (
    BookDiscontinued,
    BookRegistered,
    DiscontinueBook,
    RegisterBook,
)
from books.models import Book
from messagebus_django.testing import (
    EventCapture,
    MessagebusSeed,
    MessageRecorder,
    assert_messages,
)
from tests.books.conftest import DDD, DDD_ISBN13, EFFECTIVE_JAVA


def test_the_register_page_publishes_book_registered(
    librarian_client: Client,
    messagebus_recorder: MessageRecorder,
    messagebus_events: EventCapture,
) -> None:
    response = librarian_client.post(reverse("books:register"), DDD)

    assert response.status_code == 302
    assert messagebus_recorder.types() == [RegisterBook, BookRegistered]
    book = Book.objects.get()
    # The relay runs after commit, and the test's transaction never commits.
    assert messagebus_events.types() == []
    messagebus_events.flush()
    assert messagebus_events.messages(BookRegistered) == [
        BookRegistered(
            id=book.id, isbn=DDD_ISBN13, title=DDD["title"], author=DDD["author"]
        )
    ]


def test_the_admin_action_publishes_one_book_discontinued_per_book(
    admin_client: Client,
    messagebus_seed: MessagebusSeed,
    messagebus_recorder: MessageRecorder,
    messagebus_events: EventCapture,
) -> None:
    ddd, java = RegisterBook(**DDD), RegisterBook(**EFFECTIVE_JAVA)
    messagebus_seed(ddd, java)

    admin_client.post(
        reverse("admin:books_book_changelist"),
        {
            "action": "discontinue_books",
            "index": "0",
            helpers.ACTION_CHECKBOX_NAME: [str(ddd.id), str(java.id)],
        },
    )

    reason = "Discontinued from the admin"
    assert_messages(
        messagebus_recorder.events,
        [
            BookDiscontinued(id=ddd.id, reason=reason),
            BookDiscontinued(id=java.id, reason=reason),
        ],
    )
    assert messagebus_recorder.types().count(DiscontinueBook) == 2
    messagebus_events.flush()  # the seeded books' BookRegistered were left out
    assert messagebus_events.types() == ["book_discontinued_v1"] * 2
    assert messagebus_events.payloads(BookDiscontinued) == [
        {"id": str(ddd.id), "reason": reason},
        {"id": str(java.id), "reason": reason},
    ]
