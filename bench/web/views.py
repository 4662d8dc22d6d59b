"""The baseline of the end-to-end rows: ``POST /api/books`` without the bus.

What a developer would write by hand in place of ``books.views.api_book_list``:
the same checks (session, permission, JSON, the same validation through
``books.payloads.register_book_command``), then the same rows written in
one ``atomic`` block: the book, its activity, the stored command and the
stored (published, so pending in the outbox) event, and the librarians'
e-mail as a task of Django's tasks framework enqueued in the same block (as
the bookstore's background handler is). The same answers: 201 with the
book's ``Location``, 400, 401, 403, 409.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from books.domain.messages import RegisterBook
from books.models import Book, BookActivity
from books.payloads import (
    DUPLICATE_BOOK,
    NON_FIELD_ERRORS,
    InvalidPayload,
    register_book_command,
)
from messagebus_django import uuid7
from messagebus_django.background.compat import framework
from messagebus_django.models import StoredMessage

ADD_BOOK = "books.add_book"


# django.tasks on Django 6, the django-tasks backport on 5.2.
_as_task: Callable[[Callable[..., None]], Any] = framework().task()


@_as_task
def notify_librarians(title: str, author: str, isbn: str) -> None:
    """The hand-written side's e-mail task (no worker runs it during the bench)."""
    send_mail(
        f"New book: {title}",
        f"{title} by {author} (ISBN {isbn}) joined the catalogue.",
        None,
        list(getattr(settings, "BOOKS_LIBRARIANS", [])),
    )


def _stored(kind: str, name: str, payload: dict[str, Any], published: bool) -> Any:
    return StoredMessage(
        id=uuid7(),
        type=f"{name}_v1",
        name=name,
        schema_version=1,
        kind=kind,
        payload=payload,
        created_at=timezone.now(),
        published=published,
        headers={},
    )


def _register(command: RegisterBook) -> None:
    payload = {
        "id": str(command.id),
        "isbn": command.isbn,
        "title": command.title,
        "author": command.author,
    }
    with transaction.atomic():
        book = Book.objects.create(
            id=command.id, isbn=command.isbn, title=command.title, author=command.author
        )
        BookActivity.objects.create(
            book=book, kind=BookActivity.Kind.REGISTERED, detail=command.title
        )
        StoredMessage.objects.bulk_create(
            [
                _stored("command", "register_book", payload, published=False),
                _stored("event", "book_registered", payload, published=True),
            ]
        )
        notify_librarians.enqueue(
            title=command.title, author=command.author, isbn=command.isbn
        )


def _errors(status: int, errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


@require_http_methods(["POST"])
async def hand_api_book_list(request: HttpRequest) -> JsonResponse:
    """``POST /hand/api/books``: register a book without the bus."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "authentication required"}, status=401)
    if not await user.ahas_perm(ADD_BOOK):
        return JsonResponse({"error": "permission denied"}, status=403)
    try:
        payload: Any = json.loads(request.body)
    except ValueError as invalid_json:
        return _errors(400, {NON_FIELD_ERRORS: [f"Invalid JSON: {invalid_json}"]})
    try:
        command = register_book_command(payload)
    except InvalidPayload as invalid:
        return _errors(400, invalid.errors)
    try:
        await sync_to_async(_register)(command)
    except IntegrityError:
        return _errors(409, {NON_FIELD_ERRORS: [DUPLICATE_BOOK]})
    response = JsonResponse({"id": str(command.id)}, status=201)
    response["Location"] = reverse("books:api-detail", args=[command.id])
    return response
