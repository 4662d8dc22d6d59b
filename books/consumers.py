"""Handlers run by the bookstore's event-stream consumer, not by the project bus.

An entry point, like the views: the project bus does not scan this module
(``MESSAGEBUS_HANDLER_MODULES`` does not name it, and it is not called
``handlers``), so these handlers run only in the consumer process, from the
queue of the events they read::

    python manage.py messagebus_consume --consumer bookstore.new-arrivals

(``MESSAGEBUS_CONSUMERS`` in the settings names this module and the type;
without a broker, the Tasks transport delivers to the same consumer).

Each delivery is applied once: the consumer records the event's id in its
inbox in the handler's transaction, and a redelivery is acknowledged unapplied.
"""

from __future__ import annotations

from typing import Any

from books.domain.messages import BookRegistered
from books.models import NewArrival
from messagebus_django import AsyncUnitOfWorkTransaction, async_listen


@async_listen
async def record_new_arrival(
    event: BookRegistered, uow: AsyncUnitOfWorkTransaction[Any]
) -> None:
    """Add the registered book to the "new arrivals" read model."""
    await NewArrival.objects.acreate(
        book_id=event.id,
        title=event.title,
        author=event.author,
        message_id=event.message_id,
    )
