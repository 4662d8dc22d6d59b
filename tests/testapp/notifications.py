"""A notifier dependency (``MESSAGEBUS_DEPENDENCIES``): notes sent after commit.

Sent notes land in :data:`SENT`, so tests see what a committed command told,
and that a rolled back one told nothing.
"""

from __future__ import annotations

import abc

from messagebus_django import AsyncDependency

SENT: list[tuple[str, str]] = []
"""Every note :class:`ListNotifier` sent, oldest first; tests clear it."""


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


class ListNotifier(AbstractNotifier):
    async def send(self, subject: str, body: str) -> None:
        SENT.append((subject, body))
