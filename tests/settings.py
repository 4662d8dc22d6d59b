"""Settings of the test suite (apart from the example project's).

SQLite in a file (so several threads and ASGI requests share it), or the
database of ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import django

from bookstore_project.database import database_from_url, sqlite_database

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "messagebus_django",
    "messagebus_django.eventstream",
    "tests.testapp",
    # Background handlers (tests/background) and the Tasks transport
    # (tests/eventstream/test_tasks_*.py): django-tasks-db stores their
    # tasks; on Django 5.2 the django-tasks backport is the framework.
    "django_tasks_db",
    *([] if find_spec("django.tasks") else ["django_tasks"]),
    # The example, for tests/books (its conftest applies the bookstore's
    # MESSAGEBUS_* settings) and the tests that run its pages.
    "books",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "messagebus_django.middleware.CorrelationIdMiddleware",
]
ROOT_URLCONF = "bookstore_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    _test_db = (
        Path(tempfile.gettempdir()) / f"messagebus-django-tests-{os.getpid()}.sqlite3"
    )
    DATABASES = {"default": sqlite_database(_test_db)}
    DATABASES["default"]["TEST"] = {"NAME": str(_test_db)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Django 6.1 configures mail with MAILERS and deprecates EMAIL_BACKEND.
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
BOOKS_LIBRARIANS = ["librarians@bookstore.example"]
LOGIN_URL = "admin:login"

# The library's tests run on a test app of their own, not on the example.
MESSAGEBUS_HANDLER_MODULES = ["tests.testapp.message_handlers"]
MESSAGEBUS_UNIT_OF_WORK = "tests.testapp.unit_of_work.DocumentsUnitOfWork"
MESSAGEBUS_DEPENDENCIES = {"notifier": "tests.testapp.notifications.ListNotifier"}

# The event stream: the real broker when BROKER_URL is set (.ci/run sets it),
# the in-memory transport otherwise.
MESSAGEBUS_TRANSPORTS: dict[str, dict[str, Any]]
if os.environ.get("BROKER_URL"):
    MESSAGEBUS_TRANSPORTS = {
        "default": {
            "BACKEND": "messagebus_django.eventstream.transports.kombu.KombuTransport",
            "OPTIONS": {
                "url": os.environ["BROKER_URL"],
                "exchange": f"messagebus-tests-{os.getpid()}",
            },
        }
    }
else:
    MESSAGEBUS_TRANSPORTS = {
        "default": {
            "BACKEND": "messagebus_django.eventstream.transports.InMemoryTransport"
        }
    }
