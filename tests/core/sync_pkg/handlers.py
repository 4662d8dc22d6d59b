"""One ``@sync_listen`` and one ``@async_listen`` handler of the same event."""

from __future__ import annotations

from typing import Any

from messagebus_django.core import (
    AsyncUnitOfWorkTransaction,
    Event,
    Metadata,
    SyncUnitOfWorkTransaction,
    async_listen,
    sync_listen,
)


class Pinged(Event):
    metadata: Metadata = Metadata(name="sync_pkg_pinged", schema_version=1)


@sync_listen
def on_pinged(event: Pinged, transaction: SyncUnitOfWorkTransaction[Any]) -> None:
    """Plain ``def``: both buses register it."""


@async_listen
async def on_pinged_async(
    event: Pinged, transaction: AsyncUnitOfWorkTransaction[Any]
) -> None:
    """``async def``: only the async bus registers it."""
