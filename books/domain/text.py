"""Free text of the books domain: titles, authors, reasons.

Control characters (NUL, escape, line breaks...) are refused here, in the
messages, so the form, the API, the admin and the CLI all refuse them alike:
PostgreSQL cannot store a NUL, and none belongs in a one-line title. (Lone
surrogates, which could not be encoded at all, pydantic refuses itself.)
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

__all__ = ["Reason", "Text", "refuse_control_characters"]


def refuse_control_characters(value: str) -> str:
    """``value`` unchanged, or ``ValueError`` naming its first control character."""
    for char in value:
        if unicodedata.category(char) == "Cc":
            raise ValueError(
                f"Control characters are not allowed (found U+{ord(char):04X})."
            )
    return value


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(refuse_control_characters),
]
"""One line of text, 1 to 255 characters once stripped."""

Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=255),
    AfterValidator(refuse_control_characters),
]
"""Like :data:`Text`, but may be empty."""
