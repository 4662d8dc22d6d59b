"""The register form: Django fields for the page, the command for the rules."""

from __future__ import annotations

from typing import Any

from django import forms

from books.domain.messages import RegisterBook
from books.payloads import InvalidPayload, register_book_command


class RegisterBookForm(forms.Form):
    """Validates through :class:`RegisterBook`; :attr:`command` is the result.

    The fields only shape the page (labels, required, lengths); the rules,
    such as the ISBN checksum, are the command's, and its errors land on the
    field they concern.
    """

    isbn = forms.CharField(
        label="ISBN",
        max_length=20,
        help_text="ISBN-10 or ISBN-13, hyphens allowed.",
    )
    title = forms.CharField(max_length=255)
    author = forms.CharField(max_length=255)

    command: RegisterBook | None = None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned_data = self.cleaned_data
        if self.errors:
            # Required or too long: the field already says so; the command
            # would only repeat it.
            return cleaned_data
        try:
            self.command = register_book_command(cleaned_data)
        except InvalidPayload as invalid:
            for field, messages in invalid.errors.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned_data
