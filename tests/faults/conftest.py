"""Fixtures of the fault-injection tests: proxies in front of the real services."""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.db import connection

from tests.broker.helpers import BROKER_URL
from tests.faults.proxy import TcpProxy


@pytest.fixture
def broker_proxy() -> Iterator[TcpProxy]:
    """A proxy in front of RabbitMQ (``BROKER_URL``)."""
    parts = urlsplit(BROKER_URL)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    yield proxy
    proxy.close()


def proxied_broker_url(proxy: TcpProxy) -> str:
    """``BROKER_URL`` with the proxy's address instead of RabbitMQ's."""
    parts = urlsplit(BROKER_URL)
    credentials = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    netloc = (
        f"{credentials}@127.0.0.1:{proxy.port}"
        if credentials
        else (f"127.0.0.1:{proxy.port}")
    )
    return parts._replace(netloc=netloc).geturl()


@pytest.fixture
def database_proxy() -> Iterator[TcpProxy]:
    """A proxy in front of PostgreSQL; the test skips on SQLite (no network)."""
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL not set: cutting the database needs PostgreSQL")
    settings = connection.settings_dict
    proxy = TcpProxy(settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432))
    yield proxy
    proxy.close()
