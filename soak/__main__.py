"""``make soak``: the bookstore under gunicorn and uvicorn, with load and faults.

For each server (gunicorn, uvicorn) and database (SQLite, and PostgreSQL when
``DATABASE_URL`` is set), on free ports:

1. a fresh database (SQLite in a temporary directory; PostgreSQL flushed),
   migrated, with a librarian's session;
2. a consumer (``books.consumers``, the *new arrivals* read model) and a relay,
   both real ``manage.py`` processes; the server and the relay reach the broker
   (and PostgreSQL) through the testing kit's TCP proxy
   (``messagebus_django.testing.faults``);
3. a bounded load: ``--requests`` ``POST /api/books`` from a pool of
   ``--concurrency`` threads, each with a new ISBN; as the load progresses, the
   broker is silenced, restored, cut, restored, and (PostgreSQL) the database
   is cut and restored;
4. once every proxy is restored, a bounded wait until the outbox is empty and
   the consumer has applied every registered book;

then prints a table: requests, statuses, lost (a 201 without its book, or a
book whose event was never applied), duplicated (an event applied twice),
dead (outbox rows given up), 5xx other than 503, p50/p99 latency. Exits 1 when
something was lost, duplicated, dead, or a 5xx other than 503 was answered.
"""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

from books.domain.isbn import complete_isbn13
from messagebus_django.testing.faults import TcpProxy

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
SETTLE = 240.0
"""Seconds the relay and the consumer get to catch up once the faults end."""


@dataclass
class Run:
    server: str
    database: str
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    phase: str = "no fault"
    """The fault in force; each request's latency is counted under it."""
    by_phase: dict[str, list[float]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    settled: bool = False

    @property
    def lost(self) -> int:
        return int(self.report.get("missing_books", 0)) + int(
            self.report.get("missing_arrivals", 0)
        )

    @property
    def server_errors(self) -> int:
        return sum(
            n
            for status, n in self.statuses.items()
            if status.startswith("5") and status != "503"
        )

    @property
    def ok(self) -> bool:
        return (
            self.settled
            and self.lost == 0
            and not self.report.get("duplicated_arrivals")
            and not self.report.get("dead")
            and self.server_errors == 0
            and not self.statuses.get("error")
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Process:
    """A child process whose output goes to a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path):
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(
        self, condition: Callable[[], bool], what: str, timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.output()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: timed out waiting until {what}")
            time.sleep(0.1)  # polling pace

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(30)


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/")
        status = connection.getresponse().status
        connection.close()
    except OSError:
        return False
    return status == 200


@contextmanager
def proxies(broker_url: str, database_url: str | None) -> Iterator[dict[str, TcpProxy]]:
    with ExitStack() as stack:
        found = {"broker": stack.enter_context(TcpProxy.in_front_of(broker_url, 5672))}
        if database_url:
            found["database"] = stack.enter_context(
                TcpProxy.in_front_of(database_url, 5432)
            )
        yield found


def post_book(port: int, session: str, token: str, isbn: str) -> tuple[str, float]:
    body = json.dumps({"isbn": isbn, "title": f"Soak {isbn}", "author": "Soak"})
    started = time.monotonic()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request(
            "POST",
            "/api/books",
            body=body,
            headers={
                "Content-Type": "application/json",
                "Cookie": f"sessionid={session}; csrftoken={token}",
                "X-CSRFToken": token,
            },
        )
        response = connection.getresponse()
        response.read()
        status = str(response.status)
        connection.close()
    except OSError:
        status = "error"
    return status, time.monotonic() - started


def isbn13(number: int) -> str:
    return complete_isbn13(f"979{number:09d}")


def soak(server: str, database: str, args: argparse.Namespace, base: int) -> Run:
    run = Run(server, database)
    broker_url = os.environ.get("BROKER_URL") or DEFAULT_BROKER
    database_url = os.environ.get("DATABASE_URL") if database == "postgresql" else None
    logs = Path(tempfile.mkdtemp(prefix=f"soak-{server}-{database}-"))
    exchange = f"soak-{uuid4()}"
    queue = f"{exchange}.new-arrivals"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "soak.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "SOAK_EXCHANGE": exchange,
        "BROKER_URL": broker_url,
        "DATABASE_URL": database_url or f"sqlite:///{logs / 'db.sqlite3'}",
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(manage("migrate", "--noinput", "-v", "0"), env=env, check=True)
    if database_url:
        subprocess.run(manage("flush", "--noinput"), env=env, check=True)
    setup = subprocess.run(
        [sys.executable, "-m", "soak.db", "setup"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    session = json.loads(setup.stdout)["session"]
    token = secrets.token_hex(16)

    with proxies(broker_url, database_url) as proxy, ExitStack() as processes:
        faulty = {
            **env,
            "BROKER_URL": proxy["broker"].url_through(broker_url),
        }
        if database_url:
            faulty["DATABASE_URL"] = proxy["database"].url_through(database_url)
        started: list[Process] = []
        processes.callback(lambda: [p.stop() for p in reversed(started)])
        consumer = Process(
            "consumer",
            manage(
                "messagebus_consume",
                "--queue",
                queue,
                "--handlers",
                "books.consumers",
                "--type",
                "book_registered_v1",
                "--verbosity",
                "0",
            ),
            env,
            logs,
        )
        started.append(consumer)
        consumer.wait_for(
            lambda: queue_exists(broker_url, queue), "its queue is declared", 60
        )
        started.append(
            Process(
                "relay", manage("messagebus_relay", "--interval", "0.2"), faulty, logs
            )
        )
        port = free_port()
        if server == "gunicorn":
            command = [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--timeout",
                "30",
                "bookstore_project.wsgi:application",
            ]
        else:
            command = [
                str(BIN / "uvicorn"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--no-access-log",
                "bookstore_project.asgi:application",
            ]
        web = Process(server, command, faulty, logs)
        started.append(web)
        web.wait_for(lambda: answers(port), "it answers", 60)

        schedule = fault_schedule(proxy, args.requests)
        done = 0
        lock = threading.Lock()
        deadline = time.monotonic() + args.max_seconds

        def one(number: int) -> None:
            nonlocal done
            if time.monotonic() > deadline:
                return
            isbn = isbn13(base + number)
            with lock:
                phase = run.phase
            status, latency = post_book(port, session, token, isbn)
            with lock:
                run.statuses[status] += 1
                run.latencies.append(latency)
                run.by_phase.setdefault(phase, []).append(latency)
                if status == "201":
                    run.created.append(isbn)
                done += 1
                while schedule and done >= schedule[0][0]:
                    _, name, action = schedule.pop(0)
                    action()
                    run.faults.append(f"{name} at {done}")
                    run.phase = "no fault" if name.endswith("restored") else name

        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(one, range(args.requests)))
        for _, name, action in schedule:  # the load ended early: heal anyway
            if name.endswith("restored"):
                action()
        for each in proxy.values():
            each.restore()

        settle_deadline = time.monotonic() + SETTLE
        while True:
            run.report = report(env, run.created)
            if run.report["pending"] == 0 and run.report["missing_arrivals"] == 0:
                run.settled = True
                break
            if time.monotonic() > settle_deadline:
                break
            time.sleep(1)  # polling pace
    run.report["dead_letters"] = delete_broker_objects(broker_url, exchange, queue)
    if run.ok:
        shutil.rmtree(logs, ignore_errors=True)
    else:
        print(f"{server}/{database}: logs kept in {logs}", file=sys.stderr)
    return run


def fault_schedule(
    proxy: dict[str, TcpProxy], requests: int
) -> list[tuple[int, str, Callable[[], None]]]:
    broker = proxy["broker"]
    steps: list[tuple[float, str, Callable[[], None]]] = [
        (0.15, "broker silent", broker.silence),
        (0.30, "broker restored", broker.restore),
        (0.45, "broker cut", broker.cut),
        (0.60, "broker restored", broker.restore),
    ]
    if "database" in proxy:
        database = proxy["database"]
        steps += [
            (0.70, "database cut", database.cut),
            (0.85, "database restored", database.restore),
        ]
    return [(max(1, int(requests * at)), name, action) for at, name, action in steps]


def report(env: dict[str, str], isbns: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "soak.db", "report"],
        env=env,
        input="\n".join(isbns),
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def queue_exists(broker_url: str, queue: str) -> bool:
    from kombu.connection import Connection
    from kombu.entity import Queue

    try:
        with Connection(broker_url) as connection:
            Queue(queue).bind(connection.default_channel).queue_declare(passive=True)
    except Exception:  # not declared yet (a channel error), or no broker yet
        return False
    return True


def delete_broker_objects(broker_url: str, exchange: str, queue: str) -> int:
    """Delete the run's queues and exchanges; the number of dead letters."""
    from kombu.connection import Connection
    from kombu.entity import Exchange, Queue

    with Connection(broker_url) as connection:
        channel = connection.default_channel
        dead = Queue(f"{queue}.dead").bind(channel)
        try:
            dead_letters = int(dead.queue_declare(passive=True).message_count)
        except Exception:  # no dead-letter queue: nothing died
            dead_letters = 0
            channel = connection.channel()
        for name in (queue, f"{queue}.dead"):
            Queue(name).bind(channel).delete()
        for name in (exchange, f"{exchange}.dead"):
            Exchange(name).bind(channel).delete()
    return dead_letters


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def print_table(runs: list[Run]) -> None:
    header = (
        "server",
        "database",
        "requests",
        "statuses",
        "lost",
        "duplicated",
        "dead",
        "5xx (not 503)",
        "p50 ms",
        "p99 ms",
        "max ms",
        "settled",
    )
    rows = [
        (
            run.server,
            run.database,
            str(sum(run.statuses.values())),
            " ".join(f"{s}:{n}" for s, n in sorted(run.statuses.items())),
            str(run.lost),
            str(run.report.get("duplicated_arrivals", "?")),
            f"{run.report.get('dead', '?')}+{run.report.get('dead_letters', '?')}",
            str(run.server_errors),
            f"{statistics.median(run.latencies) * 1000:.0f}" if run.latencies else "-",
            f"{percentile(run.latencies, 0.99) * 1000:.0f}",
            f"{max(run.latencies, default=0) * 1000:.0f}",
            "yes" if run.settled else "NO",
        )
        for run in runs
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(
            " | ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            )
        )
    for run in runs:
        print(f"{run.server}/{run.database} faults: {', '.join(run.faults) or 'none'}")
        phases = ", ".join(
            f"{phase} {percentile(values, 0.99) * 1000:.0f}/{max(values) * 1000:.0f}"
            for phase, values in run.by_phase.items()
        )
        print(f"  p99/max ms by the fault in force when sent: {phases}")
    print("dead = outbox rows given up + dead letters of the consumer's queue")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--servers", default="gunicorn,uvicorn")
    args = parser.parse_args(argv)
    databases = ["sqlite"] + (["postgresql"] if os.environ.get("DATABASE_URL") else [])
    runs: list[Run] = []
    base = int(time.time()) % 1_000_000 * 1000
    for database in databases:
        for server in args.servers.split(","):
            runs.append(soak(server, database, args, base))
            base += args.requests
    print_table(runs)
    return 0 if all(run.ok for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
