"""A handler that needs a dependency the test settings do not provide."""

from __future__ import annotations

from typing import Any

from messagebus_django import (
    AsyncUnitOfWorkTransaction,
    Command,
    Metadata,
    async_listen,
)


class SendWelcome(Command):
    metadata: Metadata = Metadata(name="send_welcome", schema_version=1)


@async_listen
async def send_welcome(
    cmd: SendWelcome, uow: AsyncUnitOfWorkTransaction[Any], mailer: Any
) -> str:
    return f"sent with {mailer!r}"
