"""Fixtures of the fault-injection tests: proxies in front of the real services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from messagebus_django.testing.faults import TcpProxy
from tests.broker.helpers import BROKER_URL


@pytest.fixture
def broker_proxy() -> Iterator[TcpProxy]:
    """A proxy in front of RabbitMQ (``BROKER_URL``)."""
    with TcpProxy.in_front_of(BROKER_URL, 5672) as proxy:
        yield proxy


@pytest.fixture
def database_proxy() -> Iterator[TcpProxy]:
    """A proxy in front of PostgreSQL; the test skips on SQLite (no network)."""
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL not set: cutting the database needs PostgreSQL")
    settings = connection.settings_dict
    with TcpProxy(
        settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)
    ) as proxy:
        yield proxy
