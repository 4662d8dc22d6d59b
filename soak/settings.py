"""The bookstore's settings for a soak run: its own exchange, quiet e-mail."""

from __future__ import annotations

import os

from bookstore_project.settings import *  # noqa: F403

MESSAGEBUS_EXCHANGE = os.environ["SOAK_EXCHANGE"]
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
