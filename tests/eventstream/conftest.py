from __future__ import annotations

from collections.abc import Iterator

import pytest

from messagebus_django.transports import (
    InMemoryTransport,
    get_transport,
    reset_transport,
)


@pytest.fixture
def memory_transport(settings: pytest.FixtureRequest) -> Iterator[InMemoryTransport]:
    """The project's transport, in memory and empty."""
    settings.MESSAGEBUS_TRANSPORT = "messagebus_django.transports.InMemoryTransport"  # type: ignore[attr-defined]
    reset_transport()
    transport = get_transport()
    assert isinstance(transport, InMemoryTransport)
    yield transport
    reset_transport()
