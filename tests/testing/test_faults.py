"""The testing kit's TCP proxy (``messagebus_django.testing.faults``).

In front of a plain socket server standing for a service; the fault tests
(tests/faults) and ``make soak`` use it in front of RabbitMQ and PostgreSQL.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from messagebus_django.testing.faults import TcpProxy

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
MARKER = "<!-- run by tests/testing/test_faults.py -->"


def test_the_docs_example_runs() -> None:
    text = DOCS.read_text()
    found = re.search(re.escape(MARKER) + r"\n```python\n(.*?)```", text, re.S)
    assert found, f"docs/testing.md has no python block after {MARKER!r}"
    exec(compile(found.group(1), str(DOCS), "exec"), {})


@pytest.fixture
def service() -> Iterator[socket.socket]:
    """A listening socket on a free port: the service behind the proxy."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(10)
        yield server


def address(server: socket.socket) -> tuple[str, int]:
    host, port = server.getsockname()[:2]
    return host, port


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "amqp://guest:secret@rabbitmq:5672/vhost?heartbeat=5",
            "amqp://guest:secret@127.0.0.1:{port}/vhost?heartbeat=5",
        ),
        ("postgres://db.example:5433/app", "postgres://127.0.0.1:{port}/app"),
        ("amqp://user@host//", "amqp://user@127.0.0.1:{port}//"),
    ],
)
def test_url_through_points_a_url_at_the_proxy(
    service: socket.socket, url: str, expected: str
) -> None:
    with TcpProxy(*address(service)) as proxy:
        assert proxy.url_through(url) == expected.format(port=proxy.port)


@pytest.mark.parametrize(
    ("url", "upstream"),
    [
        ("amqp://guest:guest@rabbitmq:5673//", ("rabbitmq", 5673)),
        ("amqp://guest:guest@rabbitmq//", ("rabbitmq", 5672)),
        ("amqp:///", ("127.0.0.1", 5672)),
    ],
)
def test_in_front_of_reads_the_host_and_port_of_a_url(
    url: str, upstream: tuple[str, int]
) -> None:
    with TcpProxy.in_front_of(url, 5672) as proxy:
        assert proxy.upstream == upstream
        assert proxy.mode == "forward"


def test_answers_flow_back_and_connections_are_counted(service: socket.socket) -> None:
    with (
        TcpProxy(*address(service)) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as one,
    ):
        upstream, _ = service.accept()
        with upstream:
            upstream.sendall(b"pong")
            assert one.recv(4) == b"pong"
            assert proxy.accepted == 1
            assert not proxy.stalled.is_set()


def test_a_client_of_a_service_that_is_down_is_closed_at_once(
    service: socket.socket,
) -> None:
    down = address(service)
    service.close()  # nothing listens on that port any more
    with (
        TcpProxy(*down) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as client,
    ):
        assert client.recv(1) == b""


def test_close_ends_the_connections_and_stops_listening(
    service: socket.socket,
) -> None:
    proxy = TcpProxy(*address(service))
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as client:
        upstream, _ = service.accept()
        with upstream:
            proxy.close()
            assert client.recv(1) == b""
            assert upstream.recv(1) == b""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
