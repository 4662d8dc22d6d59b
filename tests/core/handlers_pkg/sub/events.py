"""Event handlers in a sub-package.

They are defined in the reverse order of their names: scanning registers
them in definition order, whatever order venusian visits them in.
"""

from __future__ import annotations

from typing import Any

from messagebus_django.core import AsyncUnitOfWorkTransaction, async_listen

from ..messages import PkgEvent


@async_listen
async def on_pkg_event(
    event: PkgEvent, transaction: AsyncUnitOfWorkTransaction[Any]
) -> None:
    """Does nothing; only its registration is tested."""


@async_listen
async def audit_pkg_event(
    event: PkgEvent, transaction: AsyncUnitOfWorkTransaction[Any]
) -> None:
    """Does nothing; only its registration is tested."""
