"""Scenario 6: ``POST /api/books`` end to end, through uvicorn and through gunicorn.

The bench starts each server on a free port of 127.0.0.1 (a socket it binds
and hands over), serving :mod:`bench.web`: ``books``' own API view (the bus,
every ``MESSAGEBUS_*`` setting at its default: message store and metrics on)
and a hand-written view that validates the same input and writes the same
rows (book, activity, the stored command and event) in one ``atomic`` block
(:mod:`bench.web.views`). One logged-in session, ``CONCURRENCY`` requests in
flight on kept-alive connections; the two views alternate every ``CHUNK``
requests. Every answer must be a 201, and both sides must have written the
same rows on the bench's database, or the scenario fails.

The CPU time is the servers' (every process of the server's process group,
from ``/proc``): the bus runs there, not in the bench's client threads.
Linux only (``/proc``); the number of requests and the time are bounded.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..context import Context
from ..db import truncate
from ..report import Row
from ..timing import Spent, compare
from ..work import Ledger

SCENARIO = "6. POST /api/books through real servers vs a hand-written view (same rows)"
TARGET = 0.9
CONCURRENCY = 8
CHUNK = 40
REQUEST_TIMEOUT = 30.0
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
SCENARIO_TIMEOUT = 300.0
"""Per server and database: past it, the batches stop and the scenario fails."""
ROOT = Path(__file__).resolve().parent.parent.parent
OURS_PATH = "/api/books"
HAND_PATH = "/hand/api/books"
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

_isbns = itertools.count(1)


def _isbn() -> str:
    from books.domain.isbn import complete_isbn13

    return complete_isbn13(f"979{next(_isbns):09d}")


@dataclass(frozen=True)
class ServerKind:
    name: str
    describe: str
    command: Callable[[int], list[str]]


SERVERS = (
    ServerKind(
        "uvicorn",
        "uvicorn, 1 worker (ASGI: async views)",
        lambda fd: [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.web.asgi:application",
            "--fd",
            str(fd),
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
        ],
    ),
    ServerKind(
        "gunicorn",
        "gunicorn, 2 sync workers (WSGI)",
        lambda fd: [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.web.wsgi:application",
            "--bind",
            f"fd://{fd}",
            "--workers",
            "2",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
        ],
    ),
)


def _database_url(alias: str) -> str:
    from django.conf import settings

    database = settings.DATABASES[alias]
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    credentials = database.get("USER") or ""
    if database.get("PASSWORD"):
        credentials += f":{database['PASSWORD']}"
    host = database.get("HOST") or "127.0.0.1"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{database['NAME']}"


def login(alias: str) -> dict[str, str]:
    """The headers of a logged-in superuser's session, written on ``alias``."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    users = get_user_model()._default_manager.db_manager(alias)
    user = users.filter(username="bench").first()
    if user is None:
        user = (
            get_user_model()
            ._default_manager.db_manager(alias)
            .create_superuser("bench", "bench@example.invalid", None)
        )
    session_key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
    data = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }
    Session.objects.using(alias).create(
        session_key=session_key,
        session_data=SessionStore().encode(data),
        expire_date=timezone.now() + timedelta(hours=2),
    )
    csrf = get_random_string(32)
    return {
        "Content-Type": "application/json",
        "Cookie": f"sessionid={session_key}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
    }


def _server_cpu(group: int) -> float:
    """CPU seconds of every live process of the process group ``group``."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the name: state ppid pgrp ... utime (12th) stime (13th).
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / TICKS


@contextlib.contextmanager
def serve(kind: ServerKind, database_url: str) -> Iterator[tuple[int, int]]:
    """Start ``kind`` on a free port; ``(port, process group)`` until it is stopped."""
    from django.conf import settings

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.web.settings",
        "BENCH_WEB_DATABASE_URL": database_url,
        "BENCH_SECRET_KEY": settings.SECRET_KEY,
        "PYTHONPATH": str(ROOT),
    }
    with tempfile.TemporaryFile() as log:
        try:
            process = subprocess.Popen(
                kind.command(listener.fileno()),
                cwd=ROOT,
                env=env,
                pass_fds=(listener.fileno(),),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            listener.close()
        try:
            _wait_ready(port, process, log)
            yield port, process.pid
        finally:
            _stop(process)


def _server_log(log: Any) -> str:
    log.seek(0)
    return str(log.read().decode(errors="replace")[-2000:])


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Any) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {process.returncode}: {_server_log(log)}"
            )
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", f"/api/books/{uuid.uuid4()}")
                if connection.getresponse().status == 404:
                    return
            finally:
                connection.close()
        time.sleep(0.1)
    raise RuntimeError(
        f"the server did not answer within {START_TIMEOUT:.0f} s: {_server_log(log)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)


class Client:
    """``CONCURRENCY`` threads, each with its own kept-alive connection."""

    def __init__(self, port: int, headers: dict[str, str], deadline: float) -> None:
        self.port = port
        self.headers = headers
        self.deadline = deadline
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="bench-http")
        self.connections: list[http.client.HTTPConnection] = []
        self.lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(
            self.local, "connection", None
        )
        if connection is None:
            connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT
            )
            self.local.connection = connection
            with self.lock:
                self.connections.append(connection)
        return connection

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        connection = self._connection()
        try:
            connection.request("POST", path, body=body, headers=self.headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (http.client.HTTPException, OSError):
            # A server that closed a kept-alive connection: once more, on a new one.
            connection.close()
            connection.request("POST", path, body=body, headers=self.headers)
            response = connection.getresponse()
            return response.status, response.read()

    def batch(self, path: str, server_group: int) -> Callable[[int], Spent]:
        def run(size: int) -> Spent:
            if time.monotonic() > self.deadline:
                raise RuntimeError(
                    f"over {SCENARIO_TIMEOUT:.0f} s for one server: stopped"
                )
            bodies = [
                json.dumps(
                    {"isbn": _isbn(), "title": "Bench", "author": "Bench"}
                ).encode()
                for _ in range(size)
            ]
            cpu = _server_cpu(server_group)
            start = time.perf_counter()
            answers = list(self.pool.map(lambda body: self.post(path, body), bodies))
            wall = time.perf_counter() - start
            spent = Spent(wall, _server_cpu(server_group) - cpu)
            wrong = [(status, body) for status, body in answers if status != 201]
            if wrong:
                status, body = wrong[0]
                raise RuntimeError(
                    f"{len(wrong)} of {size} POST {path} answered other than 201, "
                    f"e.g. {status}: {body[:300]!r}"
                )
            return spent

        return run

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for connection in self.connections:
            connection.close()


def run(context: Context) -> list[Row]:
    if not Path("/proc/self/stat").exists():
        return [Row(SCENARIO, "POST /api/books", value="skipped: needs Linux's /proc")]
    size = context.size(120, 80, smoke=8)
    chunk = min(CHUNK, size // 2)
    batches = context.batches(4, 3)
    rows: list[Row] = []
    for label, alias in context.databases.items():
        for kind in SERVERS:
            truncate(alias)
            ledger = Ledger(alias)
            headers = login(alias)
            try:
                with serve(kind, _database_url(alias)) as (port, group):
                    client = Client(port, headers, time.monotonic() + SCENARIO_TIMEOUT)
                    try:
                        comparison = compare(
                            ledger.track("ours", client.batch(OURS_PATH, group)),
                            ledger.track("baseline", client.batch(HAND_PATH, group)),
                            size=size,
                            batches=batches,
                            warmup=1,
                            chunk=chunk,
                        )
                    finally:
                        client.close()
            finally:
                truncate(alias)
            proof = ledger.prove()
            rows.append(
                Row.compared(
                    SCENARIO,
                    f"{label}: {kind.describe}",
                    comparison,
                    kind="throughput",
                    target=TARGET,
                    note=f"{batches} batches of {size} requests each side, "
                    f"{CONCURRENCY} in flight, alternating every {chunk}; "
                    f"cpu = the server's; {proof}",
                )
            )
    return rows
