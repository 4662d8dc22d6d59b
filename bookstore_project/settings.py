"""Settings of the example bookstore.

SQLite (``db.sqlite3`` beside ``manage.py``, IMMEDIATE transactions) unless
``DATABASE_URL`` is set. They fail closed: ``DEBUG`` is off unless
``DJANGO_DEBUG=1`` (``make run`` sets it for the local server);
``SECRET_KEY`` is ``DJANGO_SECRET_KEY``, or else a random key generated once
into ``.secret_key`` beside ``manage.py`` (git-ignored; every process and host
of a real deployment must share one key, so set the variable there);
``/metrics`` is for staff, or for ``Authorization: Bearer $METRICS_TOKEN``.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from bookstore_project.database import database_from_url, sqlite_database
from bookstore_project.secret_key import load_or_create_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or load_or_create_secret_key(
    BASE_DIR / ".secret_key"
)
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "messagebus_django",
    "messagebus_django.eventstream",
    # Django's Tasks framework (the django-tasks backport on Django 5.2), with
    # its tasks in this database (the worker: manage.py db_worker, which
    # `make run` starts).
    "django_tasks_db",
    *([] if find_spec("django.tasks") else ["django_tasks"]),
    "books",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # X-Request-ID -> the correlation id of the commands a request dispatches.
    "messagebus_django.middleware.CorrelationIdMiddleware",
]

ROOT_URLCONF = "bookstore_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

WSGI_APPLICATION = "bookstore_project.wsgi.application"
ASGI_APPLICATION = "bookstore_project.asgi.application"

DATABASES = {
    "default": (
        database_from_url(os.environ["DATABASE_URL"])
        if os.environ.get("DATABASE_URL")
        else sqlite_database(BASE_DIR / "db.sqlite3")
    )
}

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"

# Sent mail lands in files, one per message: the console backend would print
# it on stdout, mixed with what commands such as register_book promise there.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("DJANGO_EMAIL_FILE_PATH") or BASE_DIR / "sent_emails"
BOOKS_LIBRARIANS = ["librarians@bookstore.example"]

# messagebus_django: see docs/settings.md. The books handlers live in the
# service layer (books/service/handlers.py), not in a books.handlers module
# that autodiscovery would find: name them.
MESSAGEBUS_HANDLER_MODULES = ["books.service.handlers"]
MESSAGEBUS_UNIT_OF_WORK = "books.adapters.unit_of_work.BooksUnitOfWork"
MESSAGEBUS_DEPENDENCIES = {"notifier": "books.adapters.notifications.EmailNotifier"}
# Background work: Django's Tasks framework (django.tasks on Django 6, the
# django-tasks backport on 5.2), its tasks stored in this database by
# django-tasks-db, run by `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# The bookstore's own consumer of its event stream: it keeps the "New
# arrivals" read model (books/consumers.py).
MESSAGEBUS_CONSUMERS = {
    "bookstore.new-arrivals": {
        "HANDLERS": ["books.consumers"],
        "TYPES": ["book_registered_v1"],
    }
}
# The event stream. With a broker (BROKER_URL, e.g.
# amqp://guest:guest@127.0.0.1:5672//) events go to RabbitMQ, and
# `manage.py messagebus_consume --consumer bookstore.new-arrivals` applies them.
# Without one MESSAGEBUS_TRANSPORTS stays unset, and the default is the Tasks
# transport: each event is enqueued, in the command's transaction, as a task
# that db_worker runs for the consumers above.
if os.environ.get("BROKER_URL"):
    MESSAGEBUS_TRANSPORTS: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "messagebus_django.eventstream.transports.kombu.KombuTransport",
            "OPTIONS": {"url": os.environ["BROKER_URL"]},
        }
    }

# The token Prometheus sends to /metrics (bookstore_project.metrics).
BOOKSTORE_METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"messagebus": {"()": "messagebus_django.log.MessageContextFilter"}},
    "formatters": {
        "traced": {
            "format": "%(levelname)s %(name)s [%(correlation_id)s %(message_type)s] %(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["messagebus"],
            "formatter": "traced",
        }
    },
    "loggers": {
        "messagebus_django": {"handlers": ["console"], "level": "INFO"},
        "books": {"handlers": ["console"], "level": "INFO"},
    },
}
