"""The plugin is registered through its entry point and needs no Django settings."""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from messagebus_django.testing import InMemoryUnitOfWork, plugin

ROOT = Path(__file__).resolve().parents[2]
INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


def test_the_entry_point_names_the_plugin(pytestconfig: pytest.Config) -> None:
    [entry_point] = entry_points(group="pytest11", name="messagebus_django")

    assert entry_point.value == "messagebus_django.testing.plugin"
    assert pytestconfig.pluginmanager.get_plugin("messagebus_django") is plugin


def test_messagebus_uow_has_no_repositories_by_default(
    messagebus_repositories: dict[str, Any], messagebus_uow: InMemoryUnitOfWork
) -> None:
    assert messagebus_repositories == {}
    assert list(messagebus_uow.iter_repositories()) == []


def test_a_project_without_django_settings_gets_the_fixtures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    pytester.makepyfile(
        test_ping="""
        import asyncio
        import sys

        from messagebus_django import AsyncMessageBus, Command, Metadata


        class Ping(Command):
            metadata: Metadata = Metadata(name="ping", schema_version=1)


        async def pong(command: Ping, uow) -> str:
            return "pong"


        def test_handled_in_memory(messagebus_uow):
            bus = AsyncMessageBus()
            bus.add_listener(Ping, pong)

            async def handle():
                async with messagebus_uow as transaction:
                    result = await bus.handle(Ping(), transaction)
                    await transaction.commit()
                return result

            assert asyncio.run(handle()) == "pong"
            assert messagebus_uow.messagestore.messages == [Ping()]
            assert messagebus_uow.committed == 1


        def test_the_plugin_loaded_no_django_layer():
            assert "messagebus_django.testing.plugin" in sys.modules
            assert "messagebus_django.dispatching.bus" not in sys.modules
            assert "messagebus_django.dispatching.unit_of_work" not in sys.modules
        """
    )

    pytester.makeini(INI)
    result = pytester.runpytest_subprocess("-p", "no:randomly")

    result.assert_outcomes(passed=2)


def test_a_failed_seed_reads_well(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    # SQLite in a file of the child's own: on PostgreSQL the child would
    # create, so first destroy, this session's test database.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("BROKER_URL", raising=False)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    pytester.makepyfile(
        test_seeding="""
        from tests.django.commands import WriteBooks, make_bus
        from tests.testapp.messages import RegisterDocument

        DDD = {"code": "0-321-12521-5", "title": "DDD", "author": "Eric Evans"}


        def test_two_documents_with_one_code(messagebus_seed):
            messagebus_seed(RegisterDocument(**DDD), RegisterDocument(**DDD))


        def test_a_handler_that_raises(messagebus_seed):
            messagebus_seed(WriteBooks(titles=["x"], fail="command"), bus=make_bus())
        """
    )

    pytester.makeini(INI)
    result = pytester.runpytest_subprocess("-p", "no:randomly")

    result.assert_outcomes(failed=2)
    # An Err: its message alone, no traceback.
    result.stdout.fnmatch_lines(
        [
            "*_ test_two_documents_with_one_code _*",
            "seeding failed at command 2 of 2, <RegisterDocument *>: it returned "
            "Err(<DocumentRepositoryError.integrity_error: 'integrity_error'>)",
            "*_ test_a_handler_that_raises _*",
        ]
    )
    # An exception: the handler's traceback, then the seeding's message.
    result.stdout.fnmatch_lines(
        [
            "*_ test_a_handler_that_raises _*",
            "*raise Boom(*",
            "E *Boom: command handler failed after writing",
            "*direct cause of the following exception*",
            "E *Failed: seeding failed at command 1 of 1, <WriteBooks *>: it raised "
            "Boom: command handler failed after writing",
        ]
    )
    result.stdout.no_fnmatch_line("*During handling*")
    result.stdout.no_fnmatch_line("*SeedError*")
