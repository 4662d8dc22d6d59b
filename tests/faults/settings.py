"""Settings of the processes the fault tests start (relay, consumer).

The test suite's settings, pointed by the environment at the test run's
database (possibly through a proxy) and exchange, with the event-stream
settings of ``FAULTS_MESSAGEBUS`` (a JSON object, without the prefix).
"""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, MESSAGEBUS_TRANSPORTS

if os.environ.get("FAULTS_SQLITE"):
    DATABASES["default"]["NAME"] = os.environ["FAULTS_SQLITE"]
if os.environ.get("FAULTS_APPLICATION_NAME") and "postgresql" in str(
    DATABASES["default"]["ENGINE"]
):
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = os.environ[
        "FAULTS_APPLICATION_NAME"
    ]
MESSAGEBUS_TRANSPORTS = {
    name: {
        **entry,
        "OPTIONS": {
            **entry.get("OPTIONS", {}),
            "exchange": os.environ["FAULTS_EXCHANGE"],
        },
    }
    for name, entry in MESSAGEBUS_TRANSPORTS.items()
}
for _name, _value in json.loads(os.environ.get("FAULTS_MESSAGEBUS", "{}")).items():
    globals()[f"MESSAGEBUS_{_name}"] = _value

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"messagebus_django": {"handlers": ["stderr"], "level": "INFO"}},
}
