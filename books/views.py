"""The books pages and JSON API; every write is a command on the bus.

The API is session-authenticated, like the pages: it shares their login and
their CSRF protection, so a client sends the ``csrftoken`` cookie's value in
the ``X-CSRFToken`` header (the list page sets the cookie). It answers in
JSON whatever happens: a body that is not JSON, or JSON nested deeper than a
book could need, is a 4xx, and a database outage a 503 with ``Retry-After``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec
from uuid import UUID

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from books.forms import RegisterBookForm
from books.models import Book
from books.payloads import (
    DUPLICATE_ID,
    DUPLICATE_ISBN,
    NON_FIELD_ERRORS,
    InvalidPayload,
    register_book_command,
)
from books.service.repositories import (
    BookRepositoryError,
    BookRepositoryOperationResult,
)
from messagebus_django import Err, Ok, adispatch, dispatch

ADD_BOOK = "books.add_book"
LOGIN_URL = "admin:login"

JSON_CONTENT_TYPE = "application/json"
JSON_TOO_DEEP = "JSON nested too deeply."
RETRY_AFTER_SECONDS = 5
"""What a 503 asks a client to wait before trying again."""

P = ParamSpec("P")


@require_http_methods(["GET", "HEAD"])
@ensure_csrf_cookie
def book_list(request: HttpRequest) -> HttpResponse:
    """The catalogue; also hands out the CSRF cookie the API needs."""
    return render(request, "books/list.html", {"books": Book.objects.all()})


def database_unavailable_page_503(
    view: Callable[P, HttpResponse],
) -> Callable[P, HttpResponse]:
    """A 503 page with ``Retry-After`` when the database cannot be reached.

    Outermost, so that it covers the login and permission checks too (they
    read the session and the user from the database). The page shows no
    user nor messages: reading them would need the database again.
    """

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            return view(*args, **kwargs)
        except (OperationalError, InterfaceError):
            response = HttpResponse(
                render_to_string("books/unavailable.html"), status=503
            )
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response

    return wrapper


@database_unavailable_page_503
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


def database_unavailable_is_503(
    view: Callable[P, Coroutine[Any, Any, HttpResponse]],
) -> Callable[P, Coroutine[Any, Any, HttpResponse]]:
    """A JSON 503 with ``Retry-After`` when the database cannot be reached.

    ``OperationalError`` and ``InterfaceError`` are the database's "cannot
    serve you now" (connection refused or lost, file not openable, the
    server shutting down, SQLite still locked after its timeout); any other
    error is a bug and stays a 500. A command interrupted this way was
    rolled back, so retrying is safe.
    """

    @functools.wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            return await view(*args, **kwargs)
        except (OperationalError, InterfaceError):
            response = JsonResponse(
                {"error": "database unavailable, try again later"}, status=503
            )
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response

    return wrapper


def _not_json() -> JsonResponse:
    response = JsonResponse(
        {"error": f"Content-Type must be {JSON_CONTENT_TYPE}"}, status=415
    )
    response["Accept-Post"] = JSON_CONTENT_TYPE
    return response


def _json_body(request: HttpRequest) -> Any:
    """The request's JSON, or a JSON error response to answer with instead."""
    if request.content_type != JSON_CONTENT_TYPE:
        return _not_json()
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"error": "request body too large"}, status=413)
    try:
        return json.loads(body)
    except ValueError as invalid_json:  # JSONDecodeError and UnicodeDecodeError
        return _errors(400, {NON_FIELD_ERRORS: [f"Invalid JSON: {invalid_json}"]})
    except RecursionError:
        # The parser recurses once per level; Python stops it at its
        # recursion limit, long before a real stack overflow.
        return _errors(400, {NON_FIELD_ERRORS: [JSON_TOO_DEEP]})


# The CSRF middleware reads a form body for its token: an oversized form
# would be Django's HTML 400 before the API could say 415. So the API is
# exempt from the middleware and makes the same check itself, once it knows
# the body is JSON (whose token comes in the X-CSRFToken header).
_csrf = CsrfViewMiddleware(lambda request: HttpResponse())


def _csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """Django's 403 CSRF page if the request fails the CSRF check, else ``None``."""
    # The middleware only asks the view whether it is exempt: this one is not.
    return _csrf.process_view(request, _not_json, (), {})


@csrf_exempt
@require_http_methods(["POST"])
@database_unavailable_is_503
async def api_book_list(request: HttpRequest) -> HttpResponse:
    """``POST /api/books``: register a book from ``{isbn, title, author[, id]}``."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "authentication required"}, status=401)
    if not await user.ahas_perm(ADD_BOOK):
        return JsonResponse({"error": "permission denied"}, status=403)
    if request.content_type != JSON_CONTENT_TYPE:
        return _not_json()
    # Thread-sensitive: with CSRF_USE_SESSIONS the token is in the session.
    refused = await sync_to_async(_csrf_refusal)(request)
    if refused is not None:
        return refused
    payload = _json_body(request)
    if isinstance(payload, JsonResponse):
        return payload
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
@database_unavailable_is_503
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
