"""A handler whose message type is imported only for the type checker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from messagebus_django.core import AsyncUnitOfWorkTransaction, async_listen

if TYPE_CHECKING:
    from tests.core.handlers_pkg.messages import PkgCommand


@async_listen
async def handle_invisible(
    command: PkgCommand, transaction: AsyncUnitOfWorkTransaction[Any]
) -> None:
    """Its annotation cannot be resolved at run time."""
