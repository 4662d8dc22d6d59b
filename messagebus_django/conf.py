"""The settings of messagebus_django, read live from ``django.conf.settings``.

Each property is one setting, its type and its default; reading them live
means ``override_settings`` works in tests. Mistakes are reported by the
system checks in :mod:`messagebus_django.checks`.

``MESSAGEBUS_UNIT_OF_WORK``
    Dotted path of the :class:`~messagebus_django.DjangoUnitOfWork` subclass
    that :func:`~messagebus_django.dispatch` uses. Default: the base class,
    which has no repositories.
``MESSAGEBUS_HANDLER_MODULES``
    Modules or packages to scan for ``@async_listen`` handlers, besides each
    installed app's ``handlers`` module. Default: ``[]``.
``MESSAGEBUS_AUTODISCOVER``
    Whether to scan each installed app's ``handlers`` module. Default: ``True``
    (``SimpleMessagebusConfig`` never autodiscovers).
``MESSAGEBUS_DATABASE``
    The database alias whose transaction a command runs in. Default: ``"default"``.
``MESSAGEBUS_DEPENDENCIES``
    ``{"name": "dotted.path.Factory"}``: handler dependencies, instantiated once
    per command for the handlers that ask for a parameter of that name.
    Default: ``{}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

__all__ = ["SETTING_NAMES", "conf"]

DEFAULT_UNIT_OF_WORK = "messagebus_django.unit_of_work.DjangoUnitOfWork"


class Settings:
    @property
    def UNIT_OF_WORK(self) -> str:
        value: str = getattr(settings, "MESSAGEBUS_UNIT_OF_WORK", DEFAULT_UNIT_OF_WORK)
        return value

    @property
    def HANDLER_MODULES(self) -> Sequence[str]:
        value: Sequence[str] = getattr(settings, "MESSAGEBUS_HANDLER_MODULES", ())
        return value

    @property
    def AUTODISCOVER(self) -> bool:
        value: bool = getattr(settings, "MESSAGEBUS_AUTODISCOVER", True)
        return value

    @property
    def DATABASE(self) -> str:
        value: str = getattr(settings, "MESSAGEBUS_DATABASE", "default")
        return value

    @property
    def DEPENDENCIES(self) -> Mapping[str, Any]:
        value: Mapping[str, Any] = getattr(settings, "MESSAGEBUS_DEPENDENCIES", {})
        return value


conf = Settings()

SETTING_NAMES = frozenset(
    f"MESSAGEBUS_{name}"
    for name in (
        "UNIT_OF_WORK",
        "HANDLER_MODULES",
        "AUTODISCOVER",
        "DATABASE",
        "DEPENDENCIES",
    )
)
