"""Until these tests move to the test app (tests/testapp), they run on the
bookstore's handlers, unit of work and notifier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from tests.books.conftest import BOOKSTORE_MESSAGEBUS_SETTINGS


@pytest.fixture(autouse=True)
def bookstore_messagebus_settings() -> Iterator[None]:
    with override_settings(**BOOKSTORE_MESSAGEBUS_SETTINGS):
        yield
