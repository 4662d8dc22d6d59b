"""Handlers of the test app's consumer on Django Tasks (``MESSAGEBUS_CONSUMERS``).

The Tasks transport's tests deliver ``document_registered_v1`` here, in the
producer's own database: each delivery adds a ``delivered`` activity to the
document. An event about a document that does not exist cannot be applied
(the foreign key fails): the poison of those tests.
"""

from __future__ import annotations

from typing import Any

from messagebus_django import AsyncUnitOfWorkTransaction, async_listen
from tests.testapp.messages import DocumentRegistered
from tests.testapp.models import DocumentActivity


@async_listen
async def record_delivery(
    event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
) -> None:
    """Note that the registration reached this consumer."""
    await DocumentActivity.objects.acreate(
        document_id=event.id, kind="delivered", detail=event.title
    )
