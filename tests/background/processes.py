"""A real ``manage.py db_worker`` (django-tasks-db) on the test run's database.

Its output is kept line by line (tests/faults' :class:`ManagedProcess`); its
standard input is a pipe the test writes to, which the test app's gated
background handler reads (``TESTAPP_BACKGROUND_GATE``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

from tests.faults.processes import ManagedProcess, database_environment


class Worker(ManagedProcess):
    """``manage.py db_worker`` (or ``command``, a wrapper of it) polling every
    0.1 s, with the background settings."""

    def __init__(
        self,
        *,
        gate: bool = False,
        command: str = "db_worker",
        options: tuple[str, ...] = (),
        env: Mapping[str, str] = {},
    ) -> None:
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.background.settings",
            "PYTHONUNBUFFERED": "1",
            **database_environment(),
            **({"TESTAPP_BACKGROUND_GATE": "1"} if gate else {}),
            **env,
        }
        self._start(
            [
                command,
                *options,
                "--interval",
                "0.1",
                "--no-startup-delay",
                "--no-reload",
                "--queue-name",
                "*",
            ],
            environment,
            stdin=subprocess.PIPE,
        )

    def open_gate(self) -> None:
        """Let the gated handler go on (one line on its standard input)."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        super().kill()
        if self.process.stdin is not None:
            self.process.stdin.close()

    def stop(self, timeout: float = 90.0) -> int:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        return super().stop(timeout)
