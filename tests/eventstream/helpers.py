"""What the event stream's tests share."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from django.utils import timezone

from messagebus_django.models import StoredMessage


def published_poison(**fields: Any) -> StoredMessage:
    """A published ``document_registered_v1`` of a document that does not
    exist: the consumer's foreign key to it fails, every time. ``fields``
    are more of the row's fields (``published_at``...)."""
    return StoredMessage.objects.create(
        id=uuid4(),
        type="document_registered_v1",
        name="document_registered",
        schema_version=1,
        kind="event",
        payload={
            "id": str(uuid4()),
            "code": "X1",
            "title": "Ghost",
            "author": "Nobody",
        },
        created_at=timezone.now(),
        published=True,
        **fields,
    )
