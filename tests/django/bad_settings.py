"""Settings with mistakes, for `manage.py check` run as a real process."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

MESSAGEBUS_HANDLER_MODULES = ["tests.testapp.no_such_handlers"]
MESSAGEBUS_DEPENDENCIES = {"notifier": "tests.testapp.notifications.NoSuchNotifier"}
