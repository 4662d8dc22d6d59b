"""System checks: every settings mistake has an id.

===========================  =====================================================
``messagebus_django.E001``   ``MESSAGEBUS_UNIT_OF_WORK`` cannot be imported
``messagebus_django.E002``   ``MESSAGEBUS_UNIT_OF_WORK`` is not a ``DjangoUnitOfWork``
``messagebus_django.E003``   ``MESSAGEBUS_HANDLER_MODULES`` is not a list of module names
``messagebus_django.E004``   a ``MESSAGEBUS_HANDLER_MODULES`` entry cannot be imported
``messagebus_django.E005``   ``MESSAGEBUS_DEPENDENCIES`` is not a dict of importable factories
``messagebus_django.E006``   ``MESSAGEBUS_DATABASE`` is not in ``DATABASES``
``messagebus_django.E007``   ``ATOMIC_REQUESTS`` is on for the bus's database
``messagebus_django.E008``   a on/off setting (``MESSAGEBUS_AUTODISCOVER``, ``_STORE_MESSAGES``,
                             ``_RELAY_ON_COMMIT``, ``_METRICS``) is not a bool
``messagebus_django.E009``   (the event stream's: see :mod:`messagebus_django.eventstream.checks`)
``messagebus_django.E010``   ``MESSAGEBUS_RELAY_MAX_ATTEMPTS`` / ``_RELAY_BACKOFF`` out of range
``messagebus_django.E011``   a broker timeout, ``MESSAGEBUS_RELAY_LEASE`` or
                             ``_CONSUMER_MAX_REDELIVERIES`` out of range
``messagebus_django.W001``   SQLite without ``"transaction_mode": "IMMEDIATE"``
``messagebus_django.W002``   a command class of an installed app has no handler
``messagebus_django.W003``   a ``MESSAGEBUS_*`` setting that does not exist (a typo?)
``messagebus_django.W004``   a handler needs a dependency ``MESSAGEBUS_DEPENDENCIES`` lacks
``messagebus_django.E020``   (background handlers': see :mod:`messagebus_django.background.checks`)
===========================  =====================================================
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence
from typing import Any, TypeGuard

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from messagebus_django.conf import DEFAULTS, SETTING_NAMES, conf
from messagebus_django.operations.introspection import command_classes

__all__ = [
    "check_background",
    "check_commands_have_handlers",
    "check_database",
    "check_handler_dependencies",
    "check_setting_names",
    "check_settings",
]

PREFIX = "messagebus_django"


@register(Tags.compatibility)
def check_settings(
    *,
    app_configs: Sequence[AppConfig] | None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    from messagebus_django.dispatching.unit_of_work import DjangoUnitOfWork

    errors: list[CheckMessage] = []
    path = conf.UNIT_OF_WORK
    try:
        uow_class = import_string(path)
    except ImportError as exc:
        errors.append(
            Error(
                f"MESSAGEBUS_UNIT_OF_WORK {path!r} cannot be imported: {exc}",
                hint="Give the dotted path of a DjangoUnitOfWork subclass.",
                id=f"{PREFIX}.E001",
            )
        )
    else:
        if not (
            isinstance(uow_class, type) and issubclass(uow_class, DjangoUnitOfWork)
        ):
            errors.append(
                Error(
                    f"MESSAGEBUS_UNIT_OF_WORK {path!r} is not a DjangoUnitOfWork subclass.",
                    hint="Subclass messagebus_django.DjangoUnitOfWork and declare "
                    "its repositories.",
                    id=f"{PREFIX}.E002",
                )
            )

    modules = conf.HANDLER_MODULES
    if isinstance(modules, str) or not all(isinstance(m, str) for m in modules):
        errors.append(
            Error(
                f"MESSAGEBUS_HANDLER_MODULES must be a list of module names, got {modules!r}.",
                id=f"{PREFIX}.E003",
            )
        )
    else:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError as exc:
                errors.append(
                    Error(
                        f"MESSAGEBUS_HANDLER_MODULES entry {name!r} cannot be imported: {exc}",
                        hint="Use an absolute module name.",
                        id=f"{PREFIX}.E004",
                    )
                )

    dependencies = conf.DEPENDENCIES
    if not isinstance(dependencies, dict):
        errors.append(
            Error(
                f"MESSAGEBUS_DEPENDENCIES must be a dict, got {dependencies!r}.",
                id=f"{PREFIX}.E005",
            )
        )
    else:
        for name, factory in dependencies.items():
            problem = None
            if isinstance(factory, str):
                try:
                    factory = import_string(factory)
                except ImportError as exc:
                    problem = f"cannot be imported: {exc}"
            if problem is None and not callable(factory):
                problem = "is not callable"
            if problem:
                errors.append(
                    Error(
                        f"MESSAGEBUS_DEPENDENCIES[{name!r}] {problem}",
                        hint="Give the dotted path of a class (or factory) that "
                        "takes no arguments.",
                        id=f"{PREFIX}.E005",
                    )
                )

    for name in ("AUTODISCOVER", "STORE_MESSAGES", "RELAY_ON_COMMIT", "METRICS"):
        flag: object = getattr(conf, name)
        if not isinstance(flag, bool):
            errors.append(
                Error(
                    f"MESSAGEBUS_{name} must be True or False, got {flag!r}.",
                    id=f"{PREFIX}.E008",
                )
            )
    errors.extend(_check_event_stream())
    errors.extend(_check_fault_bounds())
    return errors


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_fault_bounds() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in (
        "BROKER_CONNECT_TIMEOUT",
        "PUBLISH_TIMEOUT",
        "RELAY_ON_COMMIT_TIMEOUT",
        "RELAY_LEASE",
        "TASKS_LEASE",
    ):
        value: object = conf.raw(name)
        if not (_is_number(value) and value > 0):
            errors.append(
                Error(
                    f"MESSAGEBUS_{name} must be a number of seconds above 0, "
                    f"got {value!r}.",
                    hint="Without a bound, a silent broker hangs what waits on it.",
                    id=f"{PREFIX}.E011",
                )
            )
    heartbeat: object = conf.raw("BROKER_HEARTBEAT")
    if not (_is_number(heartbeat) and heartbeat >= 0):
        errors.append(
            Error(
                f"MESSAGEBUS_BROKER_HEARTBEAT must be a number of seconds "
                f"(0 for none), got {heartbeat!r}.",
                id=f"{PREFIX}.E011",
            )
        )
    redeliveries: object = conf.raw("CONSUMER_MAX_REDELIVERIES")
    if not (
        isinstance(redeliveries, int)
        and not isinstance(redeliveries, bool)
        and redeliveries >= 1
    ):
        errors.append(
            Error(
                f"MESSAGEBUS_CONSUMER_MAX_REDELIVERIES must be a whole number of at "
                f"least 1, got {redeliveries!r}.",
                id=f"{PREFIX}.E011",
            )
        )
    if not errors and conf.RELAY_LEASE <= conf.PUBLISH_TIMEOUT:
        errors.append(
            Error(
                f"MESSAGEBUS_RELAY_LEASE ({conf.RELAY_LEASE}) must be longer than "
                f"MESSAGEBUS_PUBLISH_TIMEOUT ({conf.PUBLISH_TIMEOUT}).",
                hint="A claim that expires while its relay still waits for the broker "
                "lets another relay send the same rows.",
                id=f"{PREFIX}.E011",
            )
        )
    return errors


def _check_event_stream() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    attempts: object = conf.raw("RELAY_MAX_ATTEMPTS")
    if not (
        isinstance(attempts, int) and not isinstance(attempts, bool) and attempts >= 1
    ):
        errors.append(
            Error(
                f"MESSAGEBUS_RELAY_MAX_ATTEMPTS must be a whole number of at least 1, "
                f"got {attempts!r}.",
                id=f"{PREFIX}.E010",
            )
        )
    backoff: object = conf.raw("RELAY_BACKOFF")
    if not (
        isinstance(backoff, tuple | list)
        and len(backoff) == 2
        and all(isinstance(v, int | float) and v >= 0 for v in backoff)
        and backoff[0] <= backoff[1]
    ):
        errors.append(
            Error(
                f"MESSAGEBUS_RELAY_BACKOFF must be (first, longest) seconds with "
                f"0 <= first <= longest, got {backoff!r}.",
                id=f"{PREFIX}.E010",
            )
        )
    return errors


@register(Tags.database)
def check_database(
    *,
    app_configs: Sequence[AppConfig] | None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Database checks; they read settings only, never the database itself."""
    alias = conf.DATABASE
    database = settings.DATABASES.get(alias)
    if database is None:
        return [
            Error(
                f"MESSAGEBUS_DATABASE {alias!r} is not in DATABASES.",
                id=f"{PREFIX}.E006",
            )
        ]
    messages: list[CheckMessage] = []
    if database.get("ATOMIC_REQUESTS"):
        messages.append(
            Error(
                f"ATOMIC_REQUESTS is on for the database {alias!r}.",
                hint="Commands open their own durable transaction, and Django cannot "
                "wrap async views in ATOMIC_REQUESTS: turn it off.",
                id=f"{PREFIX}.E007",
            )
        )
    if database.get("ENGINE") == "django.db.backends.sqlite3":
        mode = (database.get("OPTIONS") or {}).get("transaction_mode")
        if str(mode).upper() != "IMMEDIATE":
            messages.append(
                Warning(
                    f"The SQLite database {alias!r} does not start transactions with "
                    "IMMEDIATE.",
                    hint='Set DATABASES[...]["OPTIONS"]["transaction_mode"] = "IMMEDIATE": '
                    'otherwise concurrent commands fail with "database is locked".',
                    id=f"{PREFIX}.W001",
                )
            )
    return messages


@register(Tags.compatibility)
def check_commands_have_handlers(
    *,
    app_configs: Sequence[AppConfig] | None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Warn about command classes of installed apps that no handler handles.

    Only command classes already imported are seen: those the handlers
    modules, views or models import.
    """
    from messagebus_django.dispatching.bus import get_bus

    try:
        bus = get_bus()
    except Exception:  # the settings checks report why the bus cannot be built
        return []
    configs = app_configs if app_configs is not None else list(apps.get_app_configs())
    return [
        Warning(
            f"The command {cls.__module__}.{cls.__qualname__} has no handler.",
            hint="Decorate a handler with @async_listen (or a plain def with "
            "@sync_listen) in the app's handlers module, or list its module in "
            "MESSAGEBUS_HANDLER_MODULES.",
            obj=cls,
            id=f"{PREFIX}.W002",
        )
        for cls in command_classes(configs)
        if not bus.has_handler(cls)
    ]


@register(Tags.compatibility)
def check_setting_names(
    *,
    app_configs: Sequence[AppConfig] | None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Warn about ``MESSAGEBUS_*`` settings that do not exist: a typo is ignored."""
    prefix = "MESSAGEBUS_"
    messages: list[CheckMessage] = []
    for name in sorted(dir(settings)):
        if not name.startswith(prefix) or name in SETTING_NAMES:
            continue
        close = difflib.get_close_matches(name.removeprefix(prefix), DEFAULTS, n=1)
        hint = (
            f"Did you mean {prefix}{close[0]}?"
            if close
            else "The settings are listed in docs/settings.md."
        )
        messages.append(
            Warning(
                f"{name} is not a messagebus_django setting: it has no effect.",
                hint=hint,
                id=f"{PREFIX}.W003",
            )
        )
    return messages


@register(Tags.compatibility)
def check_handler_dependencies(
    *,
    app_configs: Sequence[AppConfig] | None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Warn about handlers that need a dependency ``MESSAGEBUS_DEPENDENCIES`` lacks.

    Without it, every ``dispatch()`` that reaches the handler must pass the
    dependency itself, or fails with ``MissingDependencyError``.
    """
    from messagebus_django.dispatching.bus import get_bus

    try:
        bus = get_bus()
    except Exception:  # the settings checks report why the bus cannot be built
        return []
    return [
        Warning(
            f"The handler {registration.qualified_name} needs the dependency "
            f"{name!r}, which MESSAGEBUS_DEPENDENCIES does not provide.",
            hint=f'Add "{name}": "dotted.path.Factory" to MESSAGEBUS_DEPENDENCIES, '
            f"or pass {name}=... to every dispatch() whose command reaches this "
            "handler.",
            obj=registration.handler,
            id=f"{PREFIX}.W004",
        )
        for registration in bus.registrations()
        for name in registration.required
        if name not in bus.dependencies
    ]


@register(Tags.compatibility)
def check_background(
    *,
    app_configs: Sequence[AppConfig] | None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Background handlers need a tasks framework and a backend that takes their task."""
    from messagebus_django.background.checks import check_background_handlers
    from messagebus_django.dispatching.bus import get_bus

    try:
        bus = get_bus()
    except Exception:  # the settings checks report why the bus cannot be built
        return []
    return check_background_handlers(bus.registrations())
