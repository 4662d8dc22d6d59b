"""What the books app's entry points share: payloads in, commands out.

The register form, the JSON API, the admin and ``manage.py register_book``
all turn user input into a :class:`~books.domain.messages.RegisterBook` here,
and all report pydantic's validation errors the same way: a mapping of field
name to messages, the shape of Django's ``form.errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from books.domain.messages import DiscontinueBook, RegisterBook

__all__ = [
    "DUPLICATE_BOOK",
    "DUPLICATE_ID",
    "DUPLICATE_ISBN",
    "NON_FIELD_ERRORS",
    "REGISTER_BOOK_FIELDS",
    "InvalidPayload",
    "discontinue_book_command",
    "field_errors",
    "register_book_command",
]

NON_FIELD_ERRORS = "__all__"
"""The key of errors that belong to no field (Django's ``NON_FIELD_ERRORS``)."""

REGISTER_BOOK_FIELDS = ("id", "isbn", "title", "author")
"""The fields a caller may set; ``message_id``, ``metadata``... are not input."""

DUPLICATE_ISBN = "A book with this ISBN already exists."
DUPLICATE_ID = "A book with this id already exists."
DUPLICATE_BOOK = "A book with this ISBN or id already exists."

FieldErrors = dict[str, list[str]]


class InvalidPayload(ValueError):
    """The input cannot make a command; :attr:`errors` says why, per field."""

    def __init__(self, errors: FieldErrors) -> None:
        self.errors = errors
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``"isbn: This ISBN-10's check digit is wrong."``, fields joined by ``; ``."""
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in self.errors.items()
        )


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "missing":
        return "This field is required."
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        # An AfterValidator's ValueError: its own words, without pydantic's
        # "Value error, " prefix.
        return str(error["ctx"]["error"])
    message: str = error["msg"]
    return message if message.endswith(".") else f"{message}."


def field_errors(error: ValidationError) -> FieldErrors:
    """pydantic's errors as ``{field: [messages]}``; ``"__all__"`` for the rest."""
    errors: FieldErrors = {}
    for item in error.errors():
        location = item["loc"]
        field = str(location[0]) if location else NON_FIELD_ERRORS
        messages = errors.setdefault(field, [])
        message = _message(item)
        if message not in messages:
            messages.append(message)
    return errors


def register_book_command(data: object) -> RegisterBook:
    """The :class:`RegisterBook` of ``data`` (``id``, ``isbn``, ``title``, ``author``).

    Keys other than those are ignored, so a caller cannot set the command's
    metadata. Raises :class:`InvalidPayload` when ``data`` is not a mapping or
    does not validate.
    """
    if not isinstance(data, Mapping):
        raise InvalidPayload(
            {NON_FIELD_ERRORS: ["Expected an object with isbn, title and author."]}
        )
    fields = {
        name: data[name]
        for name in REGISTER_BOOK_FIELDS
        if name in data and not (name == "id" and data[name] in (None, ""))
    }
    try:
        return RegisterBook.model_validate(fields)
    except ValidationError as error:
        raise InvalidPayload(field_errors(error)) from None


def discontinue_book_command(book_id: UUID, reason: str = "") -> DiscontinueBook:
    """The :class:`DiscontinueBook` of a book; ``reason`` is free text."""
    try:
        return DiscontinueBook.model_validate({"id": book_id, "reason": reason})
    except ValidationError as error:
        raise InvalidPayload(field_errors(error)) from None
