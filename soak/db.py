"""What the soak asks the database, in a process with the soak's settings.

``python -m soak.db setup`` prints a logged-in librarian's session key;
``python -m soak.db report`` reads ISBNs (one a line) on standard input and
prints what became of them, as JSON.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import django


def setup() -> dict[str, Any]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Permission, User
    from django.contrib.sessions.backends.db import SessionStore

    user = User.objects.create_user("soak", password=None)
    user.user_permissions.add(Permission.objects.get(codename="add_book"))
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {"session": session.session_key}


def report(isbns: list[str]) -> dict[str, Any]:
    from django.db.models import Count

    from books.models import Book, NewArrival
    from messagebus_django.models import PENDING, OutboxMessage

    books = dict(Book.objects.filter(isbn__in=isbns).values_list("isbn", "id"))
    arrivals = list(
        NewArrival.objects.filter(book_id__in=books.values())
        .values("book_id")
        .annotate(n=Count("id"))
        .values_list("book_id", "n")
    )
    applied = {book_id for book_id, _ in arrivals}
    return {
        "books": len(books),
        "missing_books": len(set(isbns) - books.keys()),
        "arrivals": sum(n for _, n in arrivals),
        "missing_arrivals": len(set(books.values()) - applied),
        "duplicated_arrivals": sum(n - 1 for _, n in arrivals),
        "pending": OutboxMessage.objects.filter(PENDING).count(),
        "dead": OutboxMessage.objects.filter(dead=True).count(),
    }


def main() -> None:
    django.setup()
    if sys.argv[1] == "setup":
        print(json.dumps(setup()))
    else:
        print(json.dumps(report(sys.stdin.read().split())))


if __name__ == "__main__":
    main()
