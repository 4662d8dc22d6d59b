"""A command handler, and a function that is not a handler."""

from __future__ import annotations

from typing import Any

from messagebus_django.core import AsyncUnitOfWorkTransaction, async_listen

from .messages import PkgCommand, PkgEvent


@async_listen
async def handle_pkg_command(
    command: PkgCommand, transaction: AsyncUnitOfWorkTransaction[Any]
) -> str:
    return "handled"


async def not_a_handler(
    event: PkgEvent, transaction: AsyncUnitOfWorkTransaction[Any]
) -> None:
    """Not decorated: scanning must not register it."""
