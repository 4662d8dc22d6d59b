"""Fixtures of the background handlers' tests: the test app's background
handler on the bus, and a task backend of the test's choice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from messagebus_django.background.compat import framework_name

BACKGROUND_HANDLERS = "tests.testapp.background_handlers"
FRAMEWORK = framework_name()
IMMEDIATE = f"{FRAMEWORK}.backends.immediate.ImmediateBackend"
DUMMY = f"{FRAMEWORK}.backends.dummy.DummyBackend"
DATABASE = "django_tasks_db.DatabaseBackend"


def with_background(backend: str, **params: Any) -> override_settings:
    """The suite's settings plus the background handler, on ``backend``."""
    return override_settings(
        MESSAGEBUS_HANDLER_MODULES=[
            *settings.MESSAGEBUS_HANDLER_MODULES,
            BACKGROUND_HANDLERS,
        ],
        TASKS={"default": {"BACKEND": backend, **params}},
    )


@pytest.fixture
def immediate() -> Iterator[None]:
    with with_background(IMMEDIATE):
        yield


@pytest.fixture
def dummy() -> Iterator[Any]:
    """The DummyBackend: tasks are kept, never run; yields the backend."""
    from messagebus_django.background.compat import backends

    with with_background(DUMMY):
        backend = backends()["default"]
        backend.clear()
        yield backend


@pytest.fixture
def database_backend() -> Iterator[None]:
    with with_background(DATABASE):
        yield
