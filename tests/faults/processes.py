"""Real ``manage.py`` processes for the fault tests, and waiting on conditions."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

WAIT = 90.0
"""Seconds any wait on a condition may take before the test fails: generous,
since the machine is shared; conditions are met long before on a quiet one."""


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Check ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)  # the pace of polling, not a synchronisation


def database_environment(host_port: tuple[str, int] | None = None) -> dict[str, str]:
    """Environment for a process that uses this test run's database.

    ``host_port`` (a proxy) replaces PostgreSQL's host and port.
    """
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"FAULTS_SQLITE": str(settings["NAME"])}
    host, port = host_port or (settings["HOST"] or "127.0.0.1", settings["PORT"])
    user = settings["USER"]
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return {
        "DATABASE_URL": f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"
    }


class ManagedProcess:
    """``manage.py <args>`` with the fault settings; its output kept line by line."""

    def __init__(
        self,
        *args: str,
        env: Mapping[str, str],
        messagebus: Mapping[str, Any] | None = None,
    ) -> None:
        from messagebus_django.eventstream.transports.kombu import default_broker

        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.faults.settings",
            "FAULTS_EXCHANGE": default_broker()[1],
            "FAULTS_MESSAGEBUS": json.dumps(dict(messagebus or {})),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self._start(args, environment)

    def _start(
        self,
        args: Sequence[str],
        environment: Mapping[str, str],
        stdin: int | None = None,
    ) -> None:
        """Run ``manage.py <args>`` in ``environment``; read its output."""
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=environment,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for_line(
        self, pattern: str, *, after: int = 0, timeout: float = WAIT
    ) -> int:
        """Wait for a line matching ``pattern`` (from line ``after`` on); its index."""
        regex = re.compile(pattern)

        def found() -> int | None:
            for index in range(after, len(self.lines)):
                if regex.search(self.lines[index]):
                    return index
            return None

        with self._changed:
            ok = self._changed.wait_for(
                lambda: found() is not None or self.process.poll() is not None,
                timeout=timeout,
            )
            index = found()
        if index is None:
            state = "exited" if self.process.poll() is not None else "still running"
            raise AssertionError(
                f"no line matching {pattern!r} ({'' if ok else 'timed out, '}"
                f"process {state}); output:\n{self.output}"
            )
        return index

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float = WAIT) -> int:
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def stop(self, timeout: float = WAIT) -> int:
        """SIGTERM, and its exit code."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no cleanup, as a crash or the OOM killer."""
        if self.alive():
            self.process.kill()
        self.process.wait(WAIT)
        self._reader.join(WAIT)
