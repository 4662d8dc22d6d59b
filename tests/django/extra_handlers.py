"""A handlers module listed in MESSAGEBUS_HANDLER_MODULES by the tests."""

from __future__ import annotations

from typing import Any

from messagebus_django import (
    AsyncUnitOfWorkTransaction,
    Command,
    Metadata,
    async_listen,
)


class Ping(Command):
    metadata: Metadata = Metadata(name="ping", schema_version=1)


@async_listen
async def ping(cmd: Ping, uow: AsyncUnitOfWorkTransaction[Any]) -> str:
    return "pong"
