"""The example project fails closed: DEBUG, SECRET_KEY and /metrics."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from bookstore_project.secret_key import load_or_create_secret_key
from tests.books.conftest import BOOKSTORE_MESSAGEBUS_SETTINGS, MakeUser

PROJECT_DIR = Path(__file__).resolve().parents[2]


def bookstore_settings(code: str, **env: str) -> str:
    """Run ``code`` with the bookstore's settings imported as ``s``; its stdout."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_DEBUG", "DJANGO_SECRET_KEY", "METRICS_TOKEN"}
    }
    completed = subprocess.run(
        [sys.executable, "-c", f"import bookstore_project.settings as s; {code}"],
        cwd=PROJECT_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_debug_is_off_unless_the_environment_turns_it_on() -> None:
    key = {"DJANGO_SECRET_KEY": "k"}

    assert bookstore_settings("print(s.DEBUG)", **key) == "False"
    assert bookstore_settings("print(s.DEBUG)", DJANGO_DEBUG="0", **key) == "False"
    assert bookstore_settings("print(s.DEBUG)", DJANGO_DEBUG="yes", **key) == "False"
    assert bookstore_settings("print(s.DEBUG)", DJANGO_DEBUG="1", **key) == "True"


def test_the_environments_secret_key_wins() -> None:
    assert bookstore_settings("print(s.SECRET_KEY)", DJANGO_SECRET_KEY="xyz") == "xyz"


def test_without_one_the_key_is_the_generated_files() -> None:
    # The repository's own git-ignored .secret_key (made here if need be).
    key = bookstore_settings("print(s.SECRET_KEY)")

    assert key == (PROJECT_DIR / ".secret_key").read_text().strip()
    assert "insecure" not in key
    assert len(key) >= 50


def test_a_key_is_generated_once_privately_and_reused(tmp_path: Path) -> None:
    path = tmp_path / ".secret_key"

    first = load_or_create_secret_key(path)
    second = load_or_create_secret_key(path)

    assert first == second
    assert len(first) == 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".secret_key"]


def test_another_process_key_is_kept(tmp_path: Path) -> None:
    path = tmp_path / ".secret_key"
    path.write_text("theirs\n")

    assert load_or_create_secret_key(path) == "theirs"


def test_an_empty_key_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / ".secret_key"
    path.write_text("\n")

    with pytest.raises(ValueError, match=r"is empty: delete it .* DJANGO_SECRET_KEY"):
        load_or_create_secret_key(path)


# /metrics: the test settings use the bookstore's URLs.


@pytest.mark.django_db
def test_metrics_ask_anonymous_users_to_authenticate(client: Client) -> None:
    response = client.get("/metrics")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"messagebus_" not in response.content


@pytest.mark.django_db
def test_metrics_are_forbidden_to_users_who_are_not_staff(
    client: Client, make_user: MakeUser
) -> None:
    client.force_login(make_user("reader"))

    response = client.get("/metrics")

    assert response.status_code == 403
    assert b"messagebus_" not in response.content


@pytest.mark.django_db
def test_metrics_are_served_to_staff(client: Client, make_user: MakeUser) -> None:
    staff: User = make_user("ops", is_staff=True)
    client.force_login(staff)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert b"messagebus_dispatches_total" in response.content


@pytest.mark.django_db
def test_metrics_are_served_for_the_token(client: Client, settings: Any) -> None:
    settings.BOOKSTORE_METRICS_TOKEN = "s3cret"

    served = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})

    assert served.status_code == 200
    assert b"messagebus_dispatches_total" in served.content
    assert wrong.status_code == 403


@pytest.mark.django_db
def test_without_a_token_setting_no_header_gets_in(client: Client) -> None:
    response = client.get("/metrics", headers={"Authorization": "Bearer "})

    assert response.status_code == 403


def test_the_books_tests_run_the_bus_as_the_bookstore_does() -> None:
    names = sorted(BOOKSTORE_MESSAGEBUS_SETTINGS)
    shown = bookstore_settings(
        f"print(repr([getattr(s, name) for name in {names!r}]))",
        DJANGO_SECRET_KEY="k",
    )

    assert shown == repr([BOOKSTORE_MESSAGEBUS_SETTINGS[name] for name in names])


def test_without_a_broker_the_tasks_transport_is_the_default() -> None:
    """No BROKER_URL: MESSAGEBUS_TRANSPORTS unset, the consumer declared, so
    the default transport is the Tasks one; with it, RabbitMQ as before."""
    code = (
        "import django; django.setup(); "
        "from messagebus_django.conf import conf; "
        "print(conf.TRANSPORTS['default']['BACKEND'])"
    )
    key = {
        "DJANGO_SECRET_KEY": "k",
        "DJANGO_SETTINGS_MODULE": "bookstore_project.settings",
    }
    assert (
        bookstore_settings(code, BROKER_URL="", **key)
        == "messagebus_django.eventstream.transports.tasks.TasksTransport"
    )
    assert (
        bookstore_settings(
            code, BROKER_URL="amqp://guest:guest@127.0.0.1:5672//", **key
        )
        == "messagebus_django.eventstream.transports.kombu.KombuTransport"
    )
