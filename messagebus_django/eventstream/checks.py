"""System checks of the event stream's app: its transports.

===========================  =====================================================
``messagebus_django.E009``   a transport's ``BACKEND`` cannot be imported (kombu missing?)
``messagebus_django.E012``   ``MESSAGEBUS_TRANSPORTS`` is not a dict of
                             ``{"BACKEND": str, "OPTIONS": dict}`` entries
``messagebus_django.E013``   a transport's ``OPTIONS`` are wrong (said by its backend)
``messagebus_django.W005``   the deprecated flat settings (``MESSAGEBUS_BROKER_URL``,
                             ``MESSAGEBUS_TRANSPORT``, ``MESSAGEBUS_EXCHANGE``)
===========================  =====================================================
"""

from __future__ import annotations

import pprint
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from messagebus_django.conf import conf

__all__ = ["check_transports"]

PREFIX = "messagebus_django"
LEGACY_SETTINGS = (
    "MESSAGEBUS_BROKER_URL",
    "MESSAGEBUS_TRANSPORT",
    "MESSAGEBUS_EXCHANGE",
)


@register(Tags.compatibility)
def check_transports(
    *,
    app_configs: Sequence[AppConfig] | None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Check ``MESSAGEBUS_TRANSPORTS``; each backend checks its own ``OPTIONS``."""
    from messagebus_django.eventstream.transports import Transport

    messages: list[CheckMessage] = []
    legacy = [name for name in LEGACY_SETTINGS if hasattr(settings, name)]
    if legacy and conf.raw("TRANSPORTS") is None:
        messages.append(
            Warning(
                f"{', '.join(legacy)} {'is' if len(legacy) == 1 else 'are'} "
                "deprecated.",
                hint="Replace them with MESSAGEBUS_TRANSPORTS = "
                f"{pprint.pformat(conf.legacy_transports(), sort_dicts=False)}",
                id=f"{PREFIX}.W005",
            )
        )
    entries: object = conf.TRANSPORTS
    if not isinstance(entries, dict):
        return [*messages, _shape_error(f"got {entries!r}")]
    for alias, entry in entries.items():
        if not (
            isinstance(alias, str)
            and isinstance(entry, dict)
            and isinstance(entry.get("BACKEND"), str)
            and isinstance(entry.get("OPTIONS", {}), dict)
        ):
            messages.append(_shape_error(f"the entry {alias!r} is {entry!r}"))
            continue
        path = entry["BACKEND"]
        try:
            backend = import_string(path)
        except ImportError as exc:
            messages.append(
                Error(
                    f"MESSAGEBUS_TRANSPORTS[{alias!r}]: the BACKEND {path!r} cannot "
                    f"be imported: {exc}",
                    hint="For RabbitMQ install the kombu extra: "
                    "pip install 'messagebus-django[kombu]'; or fix the BACKEND.",
                    id=f"{PREFIX}.E009",
                )
            )
            continue
        if not (isinstance(backend, type) and issubclass(backend, Transport)):
            messages.append(
                Error(
                    f"MESSAGEBUS_TRANSPORTS[{alias!r}]: the BACKEND {path!r} is not a "
                    "Transport subclass.",
                    id=f"{PREFIX}.E009",
                )
            )
            continue
        messages.extend(backend.check(alias, entry.get("OPTIONS", {})))
    return messages


def _shape_error(problem: str) -> Error:
    return Error(
        f"MESSAGEBUS_TRANSPORTS must be a dict of named transports, {problem}.",
        hint='Write {"default": {"BACKEND": "dotted.path.Transport", '
        '"OPTIONS": {...}}}.',
        id=f"{PREFIX}.E012",
    )
