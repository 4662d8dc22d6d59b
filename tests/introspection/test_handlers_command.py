"""``manage.py messagebus_handlers``: every message type and its handlers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from messagebus_django.management.commands.messagebus_handlers import (
    Command as HandlersCommand,
)

FIXTURE_APP = "tests.introspection.fixture_app"


def run(*args: str) -> str:
    out = StringIO()
    call_command("messagebus_handlers", *args, stdout=out)
    return out.getvalue()


def by_type(document: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["type"]: entry for entry in document}


@pytest.fixture
def fixture_app_installed() -> Iterator[None]:
    # Overriding INSTALLED_APPS runs every AppConfig.ready() again: the bus is
    # rebuilt with the fixture app's handlers module.
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, FIXTURE_APP]):
        yield


def test_lists_the_test_apps_messages_and_their_handlers() -> None:
    lines = run().splitlines()
    at = lines.index("  register_document_v1  tests.testapp.messages.RegisterDocument")
    assert (
        lines[at + 1]
        == "    -> tests.testapp.message_handlers:register_document  async"
    )
    at = lines.index(
        "  document_registered_v1  tests.testapp.messages.DocumentRegistered  published"
    )
    # Both handlers, in the order they run; the second asks for a notifier.
    assert lines[at + 1 : at + 3] == [
        "    -> tests.testapp.message_handlers:record_registration  async",
        "    -> tests.testapp.message_handlers:notify_readers  async  dependencies: notifier",
    ]
    assert "NO HANDLER" not in lines
    assert lines[-1] == "4 message types, 5 handlers, 0 commands without a handler."


def test_verbosity() -> None:
    assert run("-v", "0") == (
        "4 message types, 5 handlers, 0 commands without a handler.\n"
    )
    lines = run("-v", "2").splitlines()
    assert lines[0] == "Scanned modules: tests.testapp.message_handlers"
    assert lines[1:] == run().splitlines()
    # --json is for machines: the same document at every verbosity.
    assert run("--json", "-v", "0") == run("--json") == run("--json", "-v", "2")


def test_commands_come_before_events() -> None:
    lines = run().splitlines()
    assert lines[0] == "Commands (2)"
    assert lines.index("Events (2)") > lines.index(
        "  discontinue_document_v1  tests.testapp.messages.DiscontinueDocument"
    )


def test_json_output() -> None:
    document = json.loads(run("--json"))
    assert [entry["type"] for entry in document] == [
        "discontinue_document_v1",
        "register_document_v1",
        "document_discontinued_v1",
        "document_registered_v1",
    ]
    entries = by_type(document)
    assert entries["register_document_v1"] == {
        "type": "register_document_v1",
        "kind": "command",
        "class": "tests.testapp.messages.RegisterDocument",
        "published": False,
        "missing_handler": False,
        "handlers": [
            {
                "handler": "tests.testapp.message_handlers:register_document",
                "async": True,
                "background": None,
                "dependencies": [],
                "optional_dependencies": [],
            }
        ],
    }
    registered = entries["document_registered_v1"]
    assert registered["kind"] == "event"
    assert registered["published"] is True
    assert [h["handler"] for h in registered["handlers"]] == [
        "tests.testapp.message_handlers:record_registration",
        "tests.testapp.message_handlers:notify_readers",
    ]
    assert registered["handlers"][1]["dependencies"] == ["notifier"]


def test_strict_passes_when_every_command_has_a_handler() -> None:
    assert "register_document_v1" in run("--strict")


@pytest.mark.usefixtures("fixture_app_installed")
def test_a_command_without_a_handler_is_flagged() -> None:
    lines = run().splitlines()
    at = lines.index(
        "  introspection_orphan_v2  tests.introspection.fixture_app.messages.OrphanCommand"
    )
    assert lines[at + 1] == "    NO HANDLER"
    # The test app's messages are still there.
    assert "  register_document_v1  tests.testapp.messages.RegisterDocument" in lines
    assert lines[-1] == "8 message types, 6 handlers, 2 commands without a handler."


@pytest.mark.usefixtures("fixture_app_installed")
def test_fixture_app_details() -> None:
    output = run()
    # An optional dependency is marked; an event without handlers is no error.
    assert (
        "  introspection_price_changed_v1  "
        "tests.introspection.fixture_app.messages.PriceChanged\n"
        "    -> tests.introspection.fixture_app.handlers:reprice  async  "
        "dependencies: clock?\n"
    ) in output
    assert (
        "  introspection_nobody_listens_v1  "
        "tests.introspection.fixture_app.messages.NobodyListens  published\n"
        "    (no handler)\n"
    ) in output
    # The abstract base without a default Metadata is no message type, and a
    # parametrisation of a generic base is none either.
    assert "AppCommand " not in output
    assert "AppGenericCommand" not in output
    assert "introspection_tagged_v1" in output


@pytest.mark.usefixtures("fixture_app_installed")
def test_json_flags_the_command_without_a_handler() -> None:
    entries = by_type(json.loads(run("--json")))
    assert entries["introspection_orphan_v2"]["missing_handler"] is True
    assert entries["introspection_orphan_v2"]["handlers"] == []
    assert entries["introspection_nobody_listens_v1"]["missing_handler"] is False
    (reprice,) = entries["introspection_price_changed_v1"]["handlers"]
    assert reprice["dependencies"] == []
    assert reprice["optional_dependencies"] == ["clock"]
    assert entries["register_document_v1"]["missing_handler"] is False


@pytest.mark.usefixtures("fixture_app_installed")
def test_strict_fails_when_a_command_has_no_handler() -> None:
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("messagebus_handlers", "--strict", stdout=out)
    assert str(raised.value) == (
        "2 commands without a handler: "
        "introspection_orphan_v2 (tests.introspection.fixture_app.messages.OrphanCommand), "
        "introspection_tagged_v1 (tests.introspection.fixture_app.messages.Tagged)"
    )
    # The listing is printed first, so CI logs show the whole picture.
    assert "    NO HANDLER" in out.getvalue()


@pytest.mark.usefixtures("fixture_app_installed")
def test_strict_json_fails_too() -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="introspection_orphan_v2"):
        call_command("messagebus_handlers", "--json", "--strict", stdout=out)
    assert by_type(json.loads(out.getvalue()))["introspection_orphan_v2"]


@pytest.mark.usefixtures("fixture_app_installed")
def test_without_strict_the_exit_code_is_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    command = HandlersCommand()
    command.run_from_argv(["manage.py", "messagebus_handlers", "--skip-checks"])
    assert "NO HANDLER" in capsys.readouterr().out


@pytest.mark.usefixtures("fixture_app_installed")
def test_strict_exit_code_is_one(capsys: pytest.CaptureFixture[str]) -> None:
    command = HandlersCommand()
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(
            ["manage.py", "messagebus_handlers", "--strict", "--skip-checks"]
        )
    assert exited.value.code == 1
    assert "without a handler" in capsys.readouterr().err
