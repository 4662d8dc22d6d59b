"""Telling the librarians about catalogue changes: the notifier's port.

The notifier is a bus dependency: handlers queue notes during the command and
they are sent only once the transaction has committed, never for a command
that was rolled back. :mod:`books.adapters.notifications` sends them by
e-mail.
"""

from __future__ import annotations

import abc

from messagebus_django import AsyncDependency


class AbstractNotifier(AsyncDependency, abc.ABC):
    def __init__(self) -> None:
        self.pending: list[tuple[str, str]] = []

    def queue(self, subject: str, body: str) -> None:
        """Send this note once the transaction has committed."""
        self.pending.append((subject, body))

    async def on_after_commit(self) -> None:
        pending, self.pending = self.pending, []
        for subject, body in pending:
            await self.send(subject, body)

    async def on_after_rollback(self) -> None:
        self.pending = []

    @abc.abstractmethod
    async def send(self, subject: str, body: str) -> None:
        """Deliver one note."""
