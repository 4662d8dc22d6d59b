"""Free text of the books domain: titles, authors, reasons.

Control characters (NUL, escape, line breaks, Unicode line separators and
bidirectional controls...) are refused here, in the
messages, so the form, the API, the admin and the CLI all refuse them alike:
PostgreSQL cannot store a NUL, and none belongs in a one-line title. (Lone
surrogates, which could not be encoded at all, pydantic refuses itself.)
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

__all__ = ["Reason", "Text", "refuse_control_characters"]


# Not category Cc, yet they break a line (U+2028, U+2029) or reorder how the
# text around them reads (the bidi embeddings, overrides and isolates).
_LINE_SEPARATORS = frozenset("\u2028\u2029")
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def refuse_control_characters(value: str) -> str:
    """``value`` unchanged, or ``ValueError`` naming its first control character.

    Refused: control characters (category Cc), the line and paragraph
    separators, and the bidirectional embedding, override and isolate
    controls.
    """
    for char in value:
        if unicodedata.category(char) == "Cc":
            raise ValueError(
                f"Control characters are not allowed (found U+{ord(char):04X})."
            )
        if char in _LINE_SEPARATORS:
            raise ValueError(
                f"Line and paragraph separators are not allowed: one line of "
                f"text (found U+{ord(char):04X})."
            )
        if char in _BIDI_CONTROLS:
            raise ValueError(
                f"Bidirectional text controls are not allowed (found "
                f"U+{ord(char):04X})."
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
