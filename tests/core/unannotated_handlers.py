"""A handler whose message parameter has no annotation: scanning it fails."""

from __future__ import annotations

from typing import Any

from messagebus_django.core import async_listen


@async_listen
async def forgot_the_annotation(command, transaction: Any) -> None:  # type: ignore[no-untyped-def]
    """The bus cannot tell which message this handles."""
