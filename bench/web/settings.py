"""Django settings of the servers the end-to-end rows start.

The example project's configuration as a user would run it: the full
``messagebus_django`` app (scanning ``books.service.handlers``), the books
unit of work and notifier, every ``MESSAGEBUS_*`` setting at its default
(message store on, metrics on), and no broker (published events wait in the
outbox). ``bench.scenarios.http`` sets the environment:

``BENCH_WEB_DATABASE_URL``
    The bench's scratch database (``sqlite:///...`` or ``postgres://...``).
``BENCH_SECRET_KEY``
    The bench process's own, so the session it writes is valid here.
"""

from __future__ import annotations

import os
from importlib.util import find_spec

from bookstore_project.database import database_from_url

SECRET_KEY = os.environ["BENCH_SECRET_KEY"]
DEBUG = False  # DEBUG would keep every query in memory
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "messagebus_django",
    "books",
    # As the bookstore runs: its background handler (notify_librarians) is a
    # task stored in the same database, enqueued in the command's
    # transaction; the hand-written view enqueues its own. No worker runs
    # during the bench: both sides stop at the enqueued task.
    "django_tasks_db",
    *([] if find_spec("django.tasks") else ["django_tasks"]),
]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "messagebus_django.middleware.CorrelationIdMiddleware",
]
ROOT_URLCONF = "bench.web.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
    }
]
DATABASES = {"default": database_from_url(os.environ["BENCH_WEB_DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The librarians' e-mail goes nowhere (it would be sent by a task worker,
# which does not run during the bench).
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
BOOKS_LIBRARIANS = ["librarians@bookstore.example"]

MESSAGEBUS_HANDLER_MODULES = ["books.service.handlers"]
MESSAGEBUS_UNIT_OF_WORK = "books.adapters.unit_of_work.BooksUnitOfWork"
MESSAGEBUS_DEPENDENCIES = {"notifier": "books.adapters.notifications.EmailNotifier"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
