"""The books admin: browse freely, change only through the bus.

Adding a book dispatches :class:`~books.domain.messages.RegisterBook` inside
the admin's own transaction; the "Discontinue selected books" action
dispatches one :class:`~books.domain.messages.DiscontinueBook` per book. There
is no command to edit or delete a book, so an existing book can only be
viewed (a change is refused, never "saved" without effect) and Django's
"Delete selected" action is not offered. New arrivals are written only by
the event-stream consumer (:mod:`books.consumers`): read-only too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from books.domain.isbn import InvalidISBN, normalize_isbn
from books.domain.messages import RegisterBook
from books.models import Book, BookActivity, NewArrival
from books.payloads import (
    InvalidPayload,
    discontinue_book_command,
    register_book_command,
)
from books.service.repositories import BookRepositoryOperationResult
from messagebus_django import Err, dispatch

DISCONTINUED_REASON = "Discontinued from the admin"

# Django's admin and form classes are generic only in django-stubs.
if TYPE_CHECKING:
    _InlineBase = admin.TabularInline[BookActivity, Book]
    _FormBase = forms.ModelForm[Book]
    _AdminBase = admin.ModelAdmin[Book]
    _NewArrivalAdminBase = admin.ModelAdmin[NewArrival]
else:
    _InlineBase = admin.TabularInline
    _FormBase = forms.ModelForm
    _AdminBase = admin.ModelAdmin
    _NewArrivalAdminBase = admin.ModelAdmin


class BookActivityInline(_InlineBase):
    """A book's history, written by the event handlers: read-only."""

    model = BookActivity
    extra = 0
    fields = ("kind", "detail", "at")
    readonly_fields = ("kind", "detail", "at")
    can_delete = False

    def has_view_permission(
        self, request: HttpRequest, obj: Book | BookActivity | None = None
    ) -> bool:
        # The history is part of the book: whoever may see the book sees it.
        user = request.user
        return (
            super().has_view_permission(request)
            or user.has_perm("books.view_book")
            or user.has_perm("books.change_book")
        )

    def has_add_permission(self, request: HttpRequest, obj: Book | None = None) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Book | BookActivity | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Book | BookActivity | None = None
    ) -> bool:
        return False


class BookAddForm(_FormBase):
    """The add form: validated by :class:`RegisterBook`; :attr:`command` is the result.

    The ISBN is normalised first, so that the model's uniqueness check sees
    its 13-digit form; every other rule (such as no control characters in
    the title) is the command's, as in the site's form, the API and the CLI.
    """

    isbn = forms.CharField(
        label="ISBN", max_length=20, help_text="ISBN-10 or ISBN-13, hyphens allowed."
    )

    command: RegisterBook | None = None

    class Meta:
        model = Book
        fields = ("isbn", "title", "author")

    def clean_isbn(self) -> str:
        try:
            return normalize_isbn(self.cleaned_data["isbn"])
        except InvalidISBN as error:
            raise forms.ValidationError(str(error), code="invalid_isbn") from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned_data = self.cleaned_data
        if self.errors:
            return cleaned_data
        try:
            self.command = register_book_command(
                {**cleaned_data, "id": self.instance.id}
            )
        except InvalidPayload as invalid:
            for field, messages_ in invalid.errors.items():
                for message in messages_:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned_data


@admin.register(Book)
class BookAdmin(_AdminBase):
    form = BookAddForm
    list_display = ("title", "author", "isbn", "discontinued", "created_at")
    search_fields = ("title", "author", "isbn")
    list_filter = ("discontinued", "created_at")
    inlines = (BookActivityInline,)
    actions = ("discontinue_books",)

    add_fields = ("isbn", "title", "author")
    change_fields = (
        "id",
        "isbn",
        "title",
        "author",
        "discontinued",
        "created_at",
        "updated_at",
    )

    def get_fields(self, request: HttpRequest, obj: Book | None = None) -> Any:
        return self.add_fields if obj is None else self.change_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Book | None = None) -> Any:
        # No command changes a book's details, and DiscontinueBook is the
        # action: an existing book is read-only here.
        return () if obj is None else self.change_fields

    def get_inlines(
        self, request: HttpRequest, obj: Book | None
    ) -> list[type[InlineModelAdmin[Any, Any]]]:
        # A book has no history before it is registered.
        return [] if obj is None else list(self.inlines)

    def has_change_permission(
        self, request: HttpRequest, obj: Book | None = None
    ) -> bool:
        # No command edits a book: its page is view-only, and a POST to it is
        # refused rather than answered "changed successfully" with nothing
        # saved. Without an object this is the permission the "Discontinue"
        # action asks for.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(
        self, request: HttpRequest, obj: Book | None = None
    ) -> bool:
        # Deleting would bypass the bus (no command, no event, no history):
        # books are discontinued instead.
        return False

    def save_model(
        self, request: HttpRequest, obj: Book, form: Any, change: bool
    ) -> None:
        # Only an add gets here (a book cannot be changed), with the form's
        # command, whose id is the one the admin's redirect links to.
        command: RegisterBook = form.command
        # The admin's changeform already runs inside ``atomic``: join it.
        result: BookRepositoryOperationResult = dispatch(command, durable=False)
        # The form checked the ISBN is free; losing a race to another insert
        # rolls the whole add back.
        result.unwrap()

    @admin.action(description="Discontinue selected books", permissions=["change"])
    def discontinue_books(self, request: HttpRequest, queryset: QuerySet[Book]) -> None:
        """One command, one transaction, per book; report what failed."""
        succeeded = 0
        failed: list[str] = []
        for book in queryset:
            command = discontinue_book_command(book.id, DISCONTINUED_REASON)
            result: BookRepositoryOperationResult = dispatch(command)
            if isinstance(result, Err):
                failed.append(f"{book} ({result.error.value.replace('_', ' ')})")
            else:
                succeeded += 1
        if succeeded:
            self.message_user(
                request,
                f"Discontinued {succeeded} {_books(succeeded)}.",
                messages.SUCCESS,
            )
        if failed:
            self.message_user(
                request,
                f"Could not discontinue {len(failed)} {_books(len(failed))}: "
                + ", ".join(failed),
                messages.ERROR,
            )


def _books(count: int) -> str:
    return "book" if count == 1 else "books"


@admin.register(NewArrival)
class NewArrivalAdmin(_NewArrivalAdminBase):
    """The read model kept by the event-stream consumer (``books.consumers``): read-only."""

    list_display = ("title", "author", "arrived_at", "book_id")
    search_fields = ("title", "author")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: NewArrival | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: NewArrival | None = None
    ) -> bool:
        return False
