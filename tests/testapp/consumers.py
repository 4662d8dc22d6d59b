"""Handlers of the test app's event-stream consumer (``messagebus_consume --handlers``).

Not scanned by the project bus (the module is not named in
``MESSAGEBUS_HANDLER_MODULES``): only a consumer runs them.
"""

from __future__ import annotations

from typing import Any

from messagebus_django import AsyncUnitOfWorkTransaction, async_listen
from tests.testapp.messages import DocumentRegistered
from tests.testapp.models import DocumentArrival


@async_listen
async def record_arrival(
    event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
) -> None:
    """Add the registered document to the arrivals read model."""
    await DocumentArrival.objects.acreate(
        document_id=event.id,
        code=event.code,
        title=event.title,
        author=event.author,
        message_id=event.message_id,
    )
