"""Settings of the ``db_worker`` processes of tests/eventstream/test_tasks_worker.py.

The test suite's, pointed at the test run's database (``FAULTS_SQLITE`` or
``DATABASE_URL``, as tests/faults/processes.py sets them), with django-tasks-db
as the task backend and the Tasks transport to the test app's task consumer.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

if os.environ.get("FAULTS_SQLITE"):
    DATABASES["default"]["NAME"] = os.environ["FAULTS_SQLITE"]

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
MESSAGEBUS_TRANSPORTS = {
    "default": {
        "BACKEND": "messagebus_django.eventstream.transports.tasks.TasksTransport"
    }
}
MESSAGEBUS_CONSUMERS = {
    "testapp.tasks": {"HANDLERS": ["tests.testapp.task_consumers"]},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"messagebus_django": {"handlers": ["stderr"], "level": "INFO"}},
}
