"""The project's bus explains a missing handler or dependency in Django's terms."""

from __future__ import annotations

import pytest

from messagebus_django import (
    Command,
    Metadata,
    MissingDependencyError,
    MissingHandlerError,
    dispatch,
)
from messagebus_django.bus import ProjectMessageBus, build_bus, get_bus
from tests.django.commands import ScratchUnitOfWork
from tests.django.dependent_handlers import SendWelcome

pytestmark = pytest.mark.django_db


class NobodyHandlesThis(Command):
    metadata: Metadata = Metadata(name="nobody_handles_this", schema_version=1)


def test_the_project_bus_speaks_django() -> None:
    assert isinstance(get_bus(), ProjectMessageBus)


def test_a_missing_handler_points_at_apps_and_settings() -> None:
    with pytest.raises(MissingHandlerError) as raised:
        dispatch(NobodyHandlesThis(), uow=ScratchUnitOfWork())
    message = str(raised.value)
    assert "tests.django.test_error_hints.NobodyHandlesThis" in message
    assert "'handlers.py' module (or package) of an installed app" in message
    assert "MESSAGEBUS_HANDLER_MODULES" in message
    assert "bus.scan" not in message


def test_a_missing_dependency_points_at_the_setting() -> None:
    bus = build_bus(["tests.django.dependent_handlers"])
    with pytest.raises(MissingDependencyError) as raised:
        dispatch(SendWelcome(), bus=bus, uow=ScratchUnitOfWork())
    assert str(raised.value) == "Missing messagebus dependency 'mailer'"
    [note] = raised.value.__notes__
    assert "tests.django.dependent_handlers.send_welcome" in note
    assert "add 'mailer' to MESSAGEBUS_DEPENDENCIES" in note
    assert "dispatch(..., mailer=...)" in note
    assert "AsyncMessageBus(" not in note


def test_the_hinted_fix_works() -> None:
    bus = build_bus(["tests.django.dependent_handlers"])
    assert (
        dispatch(SendWelcome(), bus=bus, uow=ScratchUnitOfWork(), mailer="smtp")
        == "sent with 'smtp'"
    )
