"""``make run``: the bookstore's site and its background processes, under one Ctrl-C.

    python -m bookstore_project.run [ADDRPORT]

Starts, with this Python, from the repository's root:

- ``manage.py runserver ADDRPORT`` (default ``127.0.0.1:8000``): the site;
- ``manage.py messagebus_db_worker --queue-name '*' --requeue-older-than 0``:
  the task worker, which applies the published events to the *New arrivals*
  read model (the Tasks transport) and runs the background handlers. It first
  puts the tasks a killed worker left RUNNING back to READY: no other worker
  runs yet, so whatever is RUNNING is stale (``--requeue-older-than 0``);
- ``manage.py messagebus_relay``: sends what the outbox still holds (events
  the admin's *Retry* made pending again; with ``BROKER_URL``, whatever the
  after-commit send could not hand to RabbitMQ).

Each runs in a process group of its own. Ctrl-C (or SIGTERM) here is passed
on to each group as SIGINT, so each stops the way it does on a Ctrl-C of its
own (the worker finishes the task it runs); what is still running
``GRACE`` seconds later is killed, with its group. A second Ctrl-C kills at
once. If one of them exits by itself, the others are stopped and this exits
with its status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
GRACE = 15.0
"""Seconds a process has to stop after the SIGINT, before it is killed."""


def commands(addrport: str) -> dict[str, list[str]]:
    manage = [sys.executable, str(ROOT / "manage.py")]
    return {
        "site": [*manage, "runserver", addrport],
        # Every queue (background handlers may name theirs). --no-reload: the
        # reloader would kill its worker 0.25 s after a Ctrl-C, possibly in
        # the middle of a task. A worker killed last time (kill -9) left its
        # task RUNNING: none runs yet, so whatever is RUNNING is stale.
        "worker": [
            *manage,
            "messagebus_db_worker",
            "--queue-name",
            "*",
            "--no-reload",
            "--requeue-older-than",
            "0",
        ],
        "relay": [*manage, "messagebus_relay", "--verbosity", "0"],
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m bookstore_project.run [ADDRPORT]", file=sys.stderr)
        return 2
    addrport = args[0] if args else "127.0.0.1:8000"
    stop = threading.Event()
    force = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            force.set()
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    processes: dict[str, subprocess.Popen[bytes]] = {}
    status = 0
    try:
        for name, command in commands(addrport).items():
            processes[name] = subprocess.Popen(command, cwd=ROOT, process_group=0)
        while not stop.wait(0.2):
            ended = [
                (name, code)
                for name, process in processes.items()
                if (code := process.poll()) is not None
            ]
            if ended:
                name, status = ended[0]
                print(
                    f"run: the {name} exited with status {status}; stopping the others",
                    file=sys.stderr,
                )
                status = status or 1
                break
    finally:
        _stop_all(processes, force)
    return status


def _stop_all(
    processes: dict[str, subprocess.Popen[bytes]], force: threading.Event
) -> None:
    for process in processes.values():
        _signal_group(process, signal.SIGINT)
    for name, process in processes.items():
        try:
            _wait(process, force)
        except subprocess.TimeoutExpired:
            print(f"run: the {name} did not stop; killing it", file=sys.stderr)
        # Its group too: runserver's reloader has a child of its own.
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _wait(process: subprocess.Popen[bytes], force: threading.Event) -> None:
    """Wait for ``process``, at most ``GRACE`` seconds or until a second Ctrl-C."""
    waited = 0.0
    while not force.is_set():
        try:
            process.wait(0.2)
            return
        except subprocess.TimeoutExpired:
            waited += 0.2
            if waited >= GRACE:
                raise
    raise subprocess.TimeoutExpired(process.args, waited)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    # Its pid is its group's id (process_group=0); the group may be gone.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


if __name__ == "__main__":
    sys.exit(main())
