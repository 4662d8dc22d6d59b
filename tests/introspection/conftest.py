"""Until these tests move to the test app, they list the bookstore's messages:
its settings, and the installed apps without the test app (whose messages
would be listed too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from tests.books.conftest import BOOKSTORE_MESSAGEBUS_SETTINGS


@pytest.fixture(autouse=True)
def bookstore_messagebus_settings() -> Iterator[None]:
    installed = [app for app in settings.INSTALLED_APPS if app != "tests.testapp"]
    with override_settings(INSTALLED_APPS=installed, **BOOKSTORE_MESSAGEBUS_SETTINGS):
        yield
