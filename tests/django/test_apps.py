"""AppConfig discovery: what the bus is built from, and running it twice."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.test import override_settings

from messagebus_django import get_bus
from messagebus_django.apps import MessagebusConfig, SimpleMessagebusConfig
from messagebus_django.dispatching.bus import build_bus, handler_modules, reset_bus
from tests.django.extra_handlers import Ping, ping
from tests.testapp.message_handlers import (
    notify_readers,
    record_registration,
    register_document,
)
from tests.testapp.messages import (
    DiscontinueDocument,
    DocumentRegistered,
    RegisterDocument,
)
from tests.testapp.notifications import ListNotifier


@pytest.fixture(autouse=True)
def _fresh_bus() -> Any:
    yield
    reset_bus()


def test_installed_apps_handlers_are_discovered() -> None:
    bus = get_bus()
    assert bus.handlers_of(RegisterDocument) == [register_document]
    assert bus.has_handler(DiscontinueDocument)
    # Two handlers of one event, in the order the module defines them.
    assert bus.handlers_of(DocumentRegistered) == [record_registration, notify_readers]
    assert bus.dependencies == {"notifier": ListNotifier}
    # Apps without a handlers module are skipped.
    assert handler_modules() == ["tests.testapp.message_handlers"]


@pytest.mark.django_db
def test_ready_twice_is_harmless_and_touches_no_database(
    django_assert_num_queries: Any,
) -> None:
    config = apps.get_app_config("messagebus_django")
    assert isinstance(config, MessagebusConfig)
    with django_assert_num_queries(0):
        config.ready()
        first = get_bus()
        config.ready()
    second = get_bus()
    assert second is not first
    assert second.handlers_of(DocumentRegistered) == [
        record_registration,
        notify_readers,
    ]
    # Scanning the same modules twice into one bus registers nothing twice.
    second.scan("tests.testapp.message_handlers")
    assert second.handlers_of(DocumentRegistered) == [
        record_registration,
        notify_readers,
    ]


def test_extra_handler_modules_setting_is_read_live() -> None:
    assert not get_bus().has_handler(Ping)
    with override_settings(MESSAGEBUS_HANDLER_MODULES=["tests.django.extra_handlers"]):
        assert get_bus().handlers_of(Ping) == [ping]
        assert handler_modules() == ["tests.django.extra_handlers"]
    assert not get_bus().has_handler(Ping)


@override_settings(MESSAGEBUS_AUTODISCOVER=False, MESSAGEBUS_HANDLER_MODULES=[])
def test_autodiscover_off() -> None:
    assert handler_modules() == []
    assert not get_bus().has_handler(RegisterDocument)


def test_simple_config_scans_only_the_listed_modules() -> None:
    assert SimpleMessagebusConfig.autodiscover is False
    assert SimpleMessagebusConfig.default is False
    simple = [
        "messagebus_django.apps.SimpleMessagebusConfig"
        if name == "messagebus_django"
        else name
        for name in _installed()
    ]
    with override_settings(
        INSTALLED_APPS=simple,
        MESSAGEBUS_HANDLER_MODULES=["tests.django.extra_handlers"],
    ):
        assert isinstance(
            apps.get_app_config("messagebus_django"), SimpleMessagebusConfig
        )
        assert handler_modules() == ["tests.django.extra_handlers"]
        bus = get_bus()
        assert bus.has_handler(Ping)
        assert not bus.has_handler(RegisterDocument)
    # Back to the autodiscovering config.
    assert get_bus().has_handler(RegisterDocument)


def test_import_error_inside_a_handlers_module_propagates() -> None:
    with (
        override_settings(
            MESSAGEBUS_HANDLER_MODULES=[
                "tests.django.fixture_apps.broken_handlers_app.handlers"
            ]
        ),
        pytest.raises(ModuleNotFoundError, match="a_module_that_does_not_exist"),
    ):
        build_bus()


def test_import_error_inside_an_autodiscovered_handlers_module_propagates() -> None:
    broken = "tests.django.fixture_apps.broken_handlers_app"
    # Populating the registry runs ready(), which scans the new app's handlers.
    try:
        with (
            pytest.raises(ModuleNotFoundError, match="a_module_that_does_not_exist"),
            override_settings(INSTALLED_APPS=[*_installed(), broken]),
        ):
            pass  # pragma: no cover
    finally:
        # populate() failed half-way and left its re-entrancy flag set.
        apps.loading = False


def _installed() -> list[str]:
    from django.conf import settings

    return list(settings.INSTALLED_APPS)
