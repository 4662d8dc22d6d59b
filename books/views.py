"""The books pages and JSON API; every write is a command on the bus.

The API is session-authenticated, like the pages: it shares their login and
their CSRF protection, so a client sends the ``csrftoken`` cookie's value in
the ``X-CSRFToken`` header (the list page sets the cookie).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from books.entrypoints import (
    DUPLICATE_ID,
    DUPLICATE_ISBN,
    NON_FIELD_ERRORS,
    InvalidPayload,
    register_book_command,
)
from books.forms import RegisterBookForm
from books.models import Book
from books.service.repositories import (
    BookRepositoryError,
    BookRepositoryOperationResult,
)
from messagebus_django import Err, Ok, adispatch, dispatch

ADD_BOOK = "books.add_book"
LOGIN_URL = "admin:login"


@require_http_methods(["GET", "HEAD"])
@ensure_csrf_cookie
def book_list(request: HttpRequest) -> HttpResponse:
    """The catalogue; also hands out the CSRF cookie the API needs."""
    return render(request, "books/list.html", {"books": Book.objects.all()})


@require_http_methods(["GET", "HEAD", "POST"])
@login_required(login_url=LOGIN_URL)
@permission_required(ADD_BOOK, raise_exception=True)
def register_book(request: HttpRequest) -> HttpResponse:
    """Register a book: anonymous users log in first; others need ``add_book``."""
    form = RegisterBookForm(request.POST if request.method == "POST" else None)
    if form.is_valid() and form.command is not None:
        command = form.command
        result: BookRepositoryOperationResult = dispatch(command)
        match result:
            case Ok():
                messages.success(request, f'"{command.title}" was registered.')
                return redirect("books:list")
            case Err(BookRepositoryError.integrity_error):
                form.add_error("isbn", DUPLICATE_ISBN)
            case Err(error):
                raise RuntimeError(f"RegisterBook failed: {error}")
    return render(request, "books/register.html", {"form": form})


def _errors(status: int, errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


@require_http_methods(["POST"])
async def api_book_list(request: HttpRequest) -> JsonResponse:
    """``POST /api/books``: register a book from ``{isbn, title, author[, id]}``."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "authentication required"}, status=401)
    if not await user.ahas_perm(ADD_BOOK):
        return JsonResponse({"error": "permission denied"}, status=403)
    try:
        payload: Any = json.loads(request.body)
    except ValueError as invalid_json:  # JSONDecodeError and UnicodeDecodeError
        return _errors(400, {NON_FIELD_ERRORS: [f"Invalid JSON: {invalid_json}"]})
    try:
        command = register_book_command(payload)
    except InvalidPayload as invalid:
        return _errors(400, invalid.errors)

    result: BookRepositoryOperationResult = await adispatch(command)
    match result:
        case Ok():
            response = JsonResponse({"id": str(command.id)}, status=201)
            response["Location"] = reverse("books:api-detail", args=[command.id])
            return response
        case Err(BookRepositoryError.integrity_error):
            if await Book.objects.filter(pk=command.id).aexists():
                return _errors(409, {"id": [DUPLICATE_ID]})
            return _errors(409, {"isbn": [DUPLICATE_ISBN]})
        case Err(error):
            raise RuntimeError(f"RegisterBook failed: {error}")


@require_http_methods(["GET", "HEAD"])
async def api_book_detail(request: HttpRequest, id: UUID) -> JsonResponse:
    """``GET /api/books/<id>``: one book, readable by anyone."""
    book = await Book.objects.filter(pk=id).afirst()
    if book is None:
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse(
        {
            "id": str(book.id),
            "isbn": book.isbn,
            "title": book.title,
            "author": book.author,
            "discontinued": book.discontinued,
        }
    )
