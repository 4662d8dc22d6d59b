"""Django's tasks framework: ``django.tasks`` (Django 6.0+), else the backport.

On Django 5.2 the ``django-tasks`` package provides the same API under
``django_tasks``; ``django.tasks`` is preferred wherever it exists. Typed as
``Any``: which of the two is there depends on the Django version.
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from types import ModuleType
from typing import Any

from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "PIP_INSTALL",
    "TasksFrameworkMissing",
    "backends",
    "framework",
    "framework_name",
]

PIP_INSTALL = 'pip install "messagebus-django[tasks]"'
"""What installs the backport (and django-tasks-db) on Django 5.2."""


class TasksFrameworkMissing(ImproperlyConfigured):
    """Background handlers, but no tasks framework to run them."""


def framework_name() -> str | None:
    """``"django.tasks"``, ``"django_tasks"`` (the backport) or ``None``."""
    if find_spec("django.tasks") is not None:  # pragma: no cover - Django 6+
        return "django.tasks"
    if find_spec("django_tasks") is not None:
        return "django_tasks"
    return None


_found: ModuleType | None = None
"""The framework, once :func:`framework` found it: which one is installed does
not change while the process runs, and the lookup searches the import path."""


def framework() -> ModuleType:
    """The tasks framework's package; :class:`TasksFrameworkMissing` if none.

    Its ``signals`` module is imported too: it resets the backends when the
    ``TASKS`` setting changes, and logs each task's end.
    """
    global _found
    if _found is not None:
        return _found
    name = framework_name()
    if name is None:
        raise TasksFrameworkMissing(
            "Background handlers (background=True) run on Django's tasks "
            "framework: Django 6.0+, or on Django 5.2 the django-tasks backport. "
            f"Install it: {PIP_INSTALL}"
        )
    module = importlib.import_module(name)
    importlib.import_module(f"{name}.signals")
    _found = module
    return module


def backends() -> Any:
    """The framework's ``task_backends``: the configured ``TASKS``, by name."""
    return framework().task_backends
