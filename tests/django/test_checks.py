"""Every system check id, and one run of `manage.py check`."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.apps import AppConfig, apps
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from messagebus_django.checks import (
    check_commands_have_handlers,
    check_database,
    check_handler_dependencies,
    check_setting_names,
    check_settings,
)
from messagebus_django.eventstream.checks import check_transports

KOMBU = "messagebus_django.eventstream.transports.kombu.KombuTransport"


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def settings_ids() -> list[str]:
    return ids(check_settings(app_configs=None))


def library_apps() -> list[AppConfig]:
    """The installed apps but the example's, whose handlers tests/books lists."""
    return [config for config in apps.get_app_configs() if config.label != "books"]


def test_project_settings_pass() -> None:
    assert settings_ids() == []
    assert ids(check_database(app_configs=None)) == []
    assert ids(check_commands_have_handlers(app_configs=library_apps())) == []


@override_settings(MESSAGEBUS_UNIT_OF_WORK="tests.testapp.nowhere.UnitOfWork")
def test_e001_unit_of_work_cannot_be_imported() -> None:
    assert settings_ids() == ["messagebus_django.E001"]


@override_settings(MESSAGEBUS_UNIT_OF_WORK="tests.testapp.models.Document")
def test_e002_unit_of_work_is_not_one() -> None:
    assert settings_ids() == ["messagebus_django.E002"]


@pytest.mark.parametrize(
    "value", ["tests.testapp.handlers", ["tests.testapp.handlers", 3]]
)
def test_e003_handler_modules_not_a_list_of_names(value: Any) -> None:
    with override_settings(MESSAGEBUS_HANDLER_MODULES=value):
        assert settings_ids() == ["messagebus_django.E003"]


@override_settings(MESSAGEBUS_HANDLER_MODULES=["tests.testapp.no_such_handlers"])
def test_e004_handler_module_cannot_be_imported() -> None:
    assert settings_ids() == ["messagebus_django.E004"]


@pytest.mark.parametrize(
    "value",
    [
        ["tests.testapp.notifications.ListNotifier"],
        {"notifier": "tests.testapp.notifications.NoSuchNotifier"},
        {"notifier": 42},
    ],
)
def test_e005_dependencies(value: Any) -> None:
    with override_settings(MESSAGEBUS_DEPENDENCIES=value):
        assert settings_ids() == ["messagebus_django.E005"]


def test_e005_accepts_a_factory_object() -> None:
    with override_settings(MESSAGEBUS_DEPENDENCIES={"notifier": dict}):
        assert settings_ids() == []


@override_settings(MESSAGEBUS_DATABASE="other")
def test_e006_database_alias_unknown() -> None:
    assert ids(check_database(app_configs=None)) == ["messagebus_django.E006"]


def database_with(**changes: Any) -> dict[str, Any]:
    from django.conf import settings

    default = dict(settings.DATABASES["default"])
    default.update(changes)
    return {"default": default}


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_e007_atomic_requests() -> None:
    with override_settings(DATABASES=database_with(ATOMIC_REQUESTS=True)):
        assert "messagebus_django.E007" in ids(check_database(app_configs=None))


@pytest.mark.parametrize(
    "name", ["AUTODISCOVER", "STORE_MESSAGES", "RELAY_ON_COMMIT", "METRICS"]
)
def test_e008_flags_must_be_bools(name: str) -> None:
    with override_settings(**{f"MESSAGEBUS_{name}": "yes"}):
        assert settings_ids() == ["messagebus_django.E008"]


def transport_ids() -> list[str]:
    return ids(check_transports(app_configs=None))


@pytest.mark.parametrize(
    "backend",
    [
        "messagebus_django.eventstream.transports.NoSuchTransport",
        "no_such_broker_library.Transport",
        "messagebus_django.eventstream.transports.Envelope",
    ],
)
def test_e009_transport_cannot_be_imported(backend: str) -> None:
    with override_settings(MESSAGEBUS_TRANSPORTS={"default": {"BACKEND": backend}}):
        assert transport_ids() == ["messagebus_django.E009"]
        assert settings_ids() == []


@pytest.mark.parametrize(
    "transports",
    [
        ["default"],
        {"default": "messagebus_django.eventstream.transports.InMemoryTransport"},
        {"default": {"OPTIONS": {}}},
        {"default": {"BACKEND": KOMBU, "OPTIONS": "amqp://"}},
    ],
)
def test_e012_transports_not_a_dict_of_entries(transports: Any) -> None:
    with override_settings(MESSAGEBUS_TRANSPORTS=transports):
        assert transport_ids() == ["messagebus_django.E012"]


@pytest.mark.parametrize(
    ("options", "count"),
    [
        ({}, 1),
        ({"url": "amqp://localhost//", "urls": "x"}, 1),
        ({"url": "amqp://localhost//", "publish_timeout": 0}, 1),
        ({"connect_timeout": "5"}, 2),
    ],
)
def test_e013_the_kombu_backend_checks_its_options(
    options: dict[str, Any], count: int
) -> None:
    with override_settings(
        MESSAGEBUS_TRANSPORTS={"default": {"BACKEND": KOMBU, "OPTIONS": options}}
    ):
        assert transport_ids() == ["messagebus_django.E013"] * count


def test_w005_the_flat_settings_are_deprecated_with_the_new_form_in_the_hint(
    settings: Any, unset_setting: Callable[[str], None]
) -> None:
    unset_setting("MESSAGEBUS_TRANSPORTS")
    settings.MESSAGEBUS_BROKER_URL = "amqp://localhost//"
    [warning] = check_transports(app_configs=None)
    assert warning.id == "messagebus_django.W005"
    assert "MESSAGEBUS_BROKER_URL is deprecated" in warning.msg
    written: dict[str, Any] = {}
    exec(str(warning.hint).removeprefix("Replace them with "), {}, written)
    assert written["MESSAGEBUS_TRANSPORTS"] == {
        "default": {
            "BACKEND": KOMBU,
            "OPTIONS": {"url": "amqp://localhost//", "exchange": "messagebus"},
        }
    }
    # Not once the new setting is there.
    settings.MESSAGEBUS_TRANSPORTS = written["MESSAGEBUS_TRANSPORTS"]
    assert transport_ids() == []


def test_e009_the_kombu_transport_without_kombu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    for name in [n for n in sys.modules if n == "kombu" or n.startswith("kombu.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "kombu", None)
    monkeypatch.delitem(
        sys.modules, "messagebus_django.eventstream.transports.kombu", raising=False
    )
    with override_settings(
        MESSAGEBUS_TRANSPORTS={
            "default": {"BACKEND": KOMBU, "OPTIONS": {"url": "amqp://localhost//"}}
        }
    ):
        assert transport_ids() == ["messagebus_django.E009"]


def settings_module() -> Any:
    from django.conf import settings

    return settings


@pytest.mark.parametrize(
    "overrides",
    [
        {"MESSAGEBUS_RELAY_MAX_ATTEMPTS": 0},
        {"MESSAGEBUS_RELAY_MAX_ATTEMPTS": "3"},
        {"MESSAGEBUS_RELAY_BACKOFF": (10, 1)},
        {"MESSAGEBUS_RELAY_BACKOFF": (1,)},
        {"MESSAGEBUS_RELAY_BACKOFF": (-1, 5)},
    ],
)
def test_e010_relay_settings(overrides: dict[str, Any]) -> None:
    with override_settings(**overrides):
        assert settings_ids() == ["messagebus_django.E010"]


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_w001_sqlite_without_immediate() -> None:
    sqlite: dict[str, Any] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "x.sqlite3",
    }
    with override_settings(DATABASES={"default": sqlite}):
        assert ids(check_database(app_configs=None)) == ["messagebus_django.W001"]
    sqlite["OPTIONS"] = {"transaction_mode": "IMMEDIATE"}
    with override_settings(DATABASES={"default": sqlite}):
        assert ids(check_database(app_configs=None)) == []


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_w001_not_for_postgresql() -> None:
    pg = {"ENGINE": "django.db.backends.postgresql", "NAME": "x"}
    with override_settings(DATABASES={"default": pg}):
        assert ids(check_database(app_configs=None)) == []


def test_w002_command_without_handler() -> None:
    from tests.django.fixture_apps.orphan_app.messages import ForgottenCommand

    with override_settings(
        INSTALLED_APPS=[*_installed(), "tests.django.fixture_apps.orphan_app"]
    ):
        messages = check_commands_have_handlers(app_configs=library_apps())
        assert ids(messages) == ["messagebus_django.W002"]
        assert messages[0].obj is ForgottenCommand
        assert "ForgottenCommand" in messages[0].msg
    # Only the apps being checked count.
    testapp = apps.get_app_config("testapp")
    assert check_commands_have_handlers(app_configs=[testapp]) == []


def test_w002_silent_when_the_bus_cannot_be_built() -> None:
    with override_settings(
        MESSAGEBUS_HANDLER_MODULES=["tests.testapp.no_such_handlers"]
    ):
        assert check_commands_have_handlers(app_configs=None) == []


def _installed() -> list[str]:
    from django.conf import settings

    return list(settings.INSTALLED_APPS)


# Django 6.1's `check` runs the database checks too (5.2's only with --database).
@pytest.mark.django_db
def test_manage_py_check_reports_by_id() -> None:
    out = StringIO()
    # The library's apps and its test app; the example's commands are handled
    # with the bookstore's settings (tests/books).
    call_command("check", "messagebus_django", "testapp", stdout=out)
    assert "no issues" in out.getvalue()
    with (
        override_settings(MESSAGEBUS_UNIT_OF_WORK="tests.testapp.models.Document"),
        pytest.raises(SystemCheckError, match=r"messagebus_django\.E002"),
    ):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_mistaken_settings_are_reported_by_id_not_by_a_start_up_traceback() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.django.bad_settings"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "messagebus_django.E004" in done.stderr
    assert "messagebus_django.E005" in done.stderr
    assert "Traceback" not in done.stderr


def test_project_setting_names_and_dependencies_pass() -> None:
    assert check_setting_names(app_configs=None) == []
    assert check_handler_dependencies(app_configs=None) == []


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("MESSAGEBUS_BROKERURL", "MESSAGEBUS_BROKER_URL"),
        ("MESSAGEBUS_UNIT_OF_WORKS", "MESSAGEBUS_UNIT_OF_WORK"),
        ("MESSAGEBUS_DEPENDENCY", "MESSAGEBUS_DEPENDENCIES"),
    ],
)
def test_w003_a_misspelled_setting_gets_a_did_you_mean(typo: str, meant: str) -> None:
    with override_settings(**{typo: "x"}):
        messages = check_setting_names(app_configs=None)
    assert ids(messages) == ["messagebus_django.W003"]
    assert typo in messages[0].msg
    assert messages[0].hint == f"Did you mean {meant}?"


@override_settings(MESSAGEBUS_COFFEE_MAKER=True)
def test_w003_a_setting_like_none_points_at_the_list() -> None:
    messages = check_setting_names(app_configs=None)
    assert ids(messages) == ["messagebus_django.W003"]
    assert "docs/settings.md" in str(messages[0].hint)


@override_settings(MESSAGEBUS_DEPENDENCIES={})
def test_w004_a_handler_dependency_no_setting_provides() -> None:
    messages = check_handler_dependencies(app_configs=None)
    assert set(ids(messages)) == {"messagebus_django.W004"}
    assert all("'notifier'" in message.msg for message in messages)
    assert all("MESSAGEBUS_DEPENDENCIES" in str(message.hint) for message in messages)
    assert all(callable(message.obj) for message in messages)


def test_w004_silent_when_the_bus_cannot_be_built() -> None:
    with override_settings(
        MESSAGEBUS_HANDLER_MODULES=["tests.testapp.no_such_handlers"]
    ):
        assert check_handler_dependencies(app_configs=None) == []
