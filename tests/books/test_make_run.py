"""``make run``, end to end: the site, the task worker and the relay, then one Ctrl-C.

A book registered through the API appears in *New arrivals* (the Tasks
transport and the worker, no broker) and its notification is sent; SIGINT to
make's process group then stops every process it started. Run by ``make
test`` (the repository's ``.venv``, which ``make run`` uses); skipped under
another interpreter (nox), where ``make run`` would set up ``.venv`` first.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.faults.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve()
    or shutil.which("make") is None
    or not Path("/proc/self/stat").exists(),
    reason="needs make, /proc and the repository's .venv (make test)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def session_members(session: int) -> list[str]:
    """``pid (command) state ...`` of the live processes of the session ``session``.

    Zombies are dead: only their parent (or init, for an orphan) has yet to
    collect their exit status.
    """
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        # pid (comm) state ppid pgrp session ...: comm may hold spaces.
        fields = text.rpartition(")")[2].split()
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(f"{stat.parent.name} {text.partition(' ')[2][:60]}")
    return found


class Site:
    """A browser of the site at ``base``: cookies, and the CSRF header."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar)
        )

    def up(self) -> bool:
        try:
            with self.opener.open(f"{self.base}/", timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def token(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken" and c.value)

    def log_in(self, username: str, password: str) -> None:
        form = urllib.parse.urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.token(),
                "next": "/",
            }
        ).encode()
        with self.opener.open(f"{self.base}/admin/login/", form, timeout=30) as r:
            assert r.url.endswith("/"), r.url

    def post_json(self, path: str, data: object) -> tuple[int, object]:
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=json.dumps(data).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": self.token()},
        )
        with self.opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())


def test_make_run_serves_delivers_and_stops_on_one_ctrl_c(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    mail = tmp_path / "mail"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"BROKER_URL", "DJANGO_SETTINGS_MODULE", "MAKEFLAGS", "MFLAGS"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_EMAIL_FILE_PATH=str(mail),
        DJANGO_SECRET_KEY="make-run-test",
        DJANGO_SUPERUSER_PASSWORD="make-run-password",
        PYTHONUNBUFFERED="1",
    )
    manage = [sys.executable, "manage.py"]
    for command in (
        ["migrate", "--noinput", "--verbosity", "0"],
        [
            "createsuperuser",
            "--noinput",
            "--username",
            "admin",
            "--email",
            "admin@bookstore.example",
        ],
    ):
        subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, timeout=120)

    port = free_port()
    output: list[str] = []
    make = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make leads a session: every process it starts is in it
    )

    def read() -> None:
        assert make.stdout is not None
        with make.stdout:
            output.extend(make.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        site = Site(f"http://127.0.0.1:{port}")
        wait_until(lambda: site.up() or make.poll() is not None, "the site answers")
        assert make.poll() is None, "".join(output)
        site.log_in("admin", "make-run-password")
        status, body = site.post_json(
            "/api/books",
            {
                "isbn": "978-1-4493-7332-0",
                "title": "Designing Data-Intensive Applications",
                "author": "Martin Kleppmann",
            },
        )
        assert status == 201, body

        def new_arrivals() -> list[str]:
            with sqlite3.connect(database, timeout=20) as db:
                return [
                    row[0] for row in db.execute("SELECT title FROM books_newarrival")
                ]

        wait_until(
            lambda: new_arrivals() == ["Designing Data-Intensive Applications"],
            "the book is in New arrivals",
        )
        wait_until(
            lambda: any(
                "Designing Data-Intensive Applications" in p.read_text()
                for p in (mail.glob("*") if mail.exists() else [])
            ),
            "the librarians' notification is sent",
        )
        assert make.poll() is None
        assert len(session_members(make.pid)) >= 4  # make, run, site, worker, relay...
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGINT)  # Ctrl-C in make's terminal
        try:
            make.wait(60)
        finally:
            reader.join(10)
    # make waits for the run script, which waits for the processes it stopped.
    assert session_members(make.pid) == [], "".join(output)
    log = "".join(output)
    assert "Traceback" not in log, log
