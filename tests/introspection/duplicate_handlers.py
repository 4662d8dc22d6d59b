"""A command whose wire name is ``RegisterDocument``'s, with a handler.

Listed in ``MESSAGEBUS_HANDLER_MODULES`` by the test of duplicate wire names
only: it is not part of an installed app.
"""

from __future__ import annotations

from typing import Any

from messagebus_django import Command, Metadata, async_listen


class RegisterBookAgain(Command):
    title: str
    metadata: Metadata = Metadata(name="register_document", schema_version=1)


@async_listen
async def register_book_again(cmd: RegisterBookAgain, uow: Any) -> None:
    """Handles the duplicate."""
