from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from messagebus_django.eventstream.transports import (
    InMemoryTransport,
    get_transport,
    reset_transport,
)


@pytest.fixture
def memory_transport(settings: Any) -> Iterator[InMemoryTransport]:
    """The project's transport, in memory and empty."""
    settings.MESSAGEBUS_TRANSPORTS = {
        "default": {
            "BACKEND": "messagebus_django.eventstream.transports.InMemoryTransport"
        }
    }
    reset_transport()
    transport = get_transport()
    assert isinstance(transport, InMemoryTransport)
    yield transport
    reset_transport()
