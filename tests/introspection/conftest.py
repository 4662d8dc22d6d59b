"""The introspection lists the installed apps' messages: those of the test app
(tests/testapp), without the example's, installed for tests/books."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings


@pytest.fixture(autouse=True)
def without_the_example() -> Iterator[None]:
    installed = [app for app in settings.INSTALLED_APPS if app != "books"]
    with override_settings(INSTALLED_APPS=installed):
        yield
