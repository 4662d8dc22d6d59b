"""ISBN-10 and ISBN-13: checksum validation and normalisation.

Every ISBN is stored as its 13-digit form without separators, so the same
book entered as ISBN-10 or ISBN-13, with or without hyphens, is one book.
Only the ASCII digits 0-9 count as digits: ``str.isdigit()`` also accepts
Arabic-Indic or superscript digits, which would store a second copy of a book
under another spelling, or fail in ``int()``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

__all__ = ["ISBN", "InvalidISBN", "complete_isbn13", "normalize_isbn"]


class InvalidISBN(ValueError):
    """Not a valid ISBN-10 or ISBN-13."""


_DIGITS = frozenset("0123456789")
_SEPARATORS = str.maketrans("", "", "- ")


def _digits(chars: str) -> bool:
    return _DIGITS.issuperset(chars)


def _isbn10_ok(digits: str) -> bool:
    total = sum(
        (10 - index) * (10 if char == "X" else int(char))
        for index, char in enumerate(digits)
    )
    return total % 11 == 0


def complete_isbn13(first12: str) -> str:
    """The ISBN-13 that starts with these 12 digits (its check digit added)."""
    return first12 + str(_isbn13_check_digit(first12))


def _isbn13_check_digit(first12: str) -> int:
    total = sum(
        int(char) * (3 if index % 2 else 1) for index, char in enumerate(first12)
    )
    return (10 - total % 10) % 10


def normalize_isbn(value: str) -> str:
    """Return the 13-digit form of ``value`` or raise :class:`InvalidISBN`."""
    compact = value.translate(_SEPARATORS).upper()
    if not _digits(compact.removesuffix("X")):
        raise InvalidISBN(
            "An ISBN has only the digits 0-9 (an ISBN-10 may end in X), "
            "with hyphens or spaces between them."
        )
    if len(compact) == 10:
        if not _isbn10_ok(compact):
            raise InvalidISBN("This ISBN-10's check digit is wrong.")
        return complete_isbn13("978" + compact[:9])
    if len(compact) == 13:
        if not _digits(compact):
            raise InvalidISBN("An ISBN-13 has 13 digits.")
        if not compact.startswith(("978", "979")):
            raise InvalidISBN("An ISBN-13 starts with 978 or 979.")
        if _isbn13_check_digit(compact[:12]) != int(compact[12]):
            raise InvalidISBN("This ISBN-13's check digit is wrong.")
        return compact
    raise InvalidISBN("An ISBN has 10 or 13 characters, not counting hyphens.")


ISBN = Annotated[str, AfterValidator(normalize_isbn)]
"""A pydantic string type that validates and normalises an ISBN."""
