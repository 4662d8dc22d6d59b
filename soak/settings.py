"""The bookstore's settings for a soak run: its own exchange, quiet e-mail."""

from __future__ import annotations

import os

from bookstore_project import settings as bookstore
from bookstore_project.settings import *  # noqa: F403

# Without BROKER_URL the bookstore leaves MESSAGEBUS_TRANSPORTS unset (the
# Tasks transport is the default); with it, the soak's own exchange.
if hasattr(bookstore, "MESSAGEBUS_TRANSPORTS"):
    MESSAGEBUS_TRANSPORTS = {
        name: {
            **entry,
            "OPTIONS": {
                **entry.get("OPTIONS", {}),
                "exchange": os.environ["SOAK_EXCHANGE"],
            },
        }
        for name, entry in bookstore.MESSAGEBUS_TRANSPORTS.items()
    }
# One notification per registered book: not worth thousands of printed e-mails.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

# A 500 is what the soak looks for: log its traceback whatever DEBUG says.
LOGGING = {
    **LOGGING,  # noqa: F405
    "loggers": {
        **LOGGING["loggers"],  # type: ignore[dict-item]  # noqa: F405
        "django.request": {"handlers": ["console"], "level": "ERROR"},
    },
}
