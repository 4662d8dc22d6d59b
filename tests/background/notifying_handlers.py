"""A background handler with a dependency whose hook runs after its commit
(the test app's notifier), as the bookstore's notify_librarians."""

from __future__ import annotations

from messagebus_django import async_listen
from tests.testapp.messages import DocumentRegistered
from tests.testapp.notifications import AbstractNotifier
from tests.testapp.unit_of_work import DocumentsTransaction


@async_listen(background=True)
async def notify_in_background(
    event: DocumentRegistered, uow: DocumentsTransaction, notifier: AbstractNotifier
) -> None:
    if event.title.startswith("Broken"):
        notifier.queue("never sent", event.title)
        raise RuntimeError("broken")
    notifier.queue(f"Background: {event.title}", event.author)
