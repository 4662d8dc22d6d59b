"""Settings of the ``db_worker`` processes the background tests start.

The suite's settings, pointed by the environment at the test run's database
(``FAULTS_SQLITE`` / ``DATABASE_URL``, as tests/faults), with the test app's
background handler and django-tasks-db as the task backend.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, MESSAGEBUS_HANDLER_MODULES

if os.environ.get("FAULTS_SQLITE"):
    DATABASES["default"]["NAME"] = os.environ["FAULTS_SQLITE"]
elif "postgresql" in str(DATABASES["default"]["ENGINE"]):
    # So that the test can wait until the worker's sessions are gone.
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = (
        "messagebus-background-worker"
    )

MESSAGEBUS_HANDLER_MODULES = [
    *MESSAGEBUS_HANDLER_MODULES,
    "tests.testapp.background_handlers",
]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout"}
    },
    "loggers": {"messagebus_django": {"handlers": ["stdout"], "level": "INFO"}},
}
