"""The fixture app's handlers, autodiscovered when the app is installed."""

from __future__ import annotations

from typing import Any

from messagebus_django import async_listen

from .messages import PriceChanged


@async_listen
async def reprice(event: PriceChanged, uow: Any, clock: Any = None) -> None:
    """Takes a clock when there is one."""
