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
``MESSAGEBUS_STORE_MESSAGES``
    Record every handled message in the message store (``StoredMessage``),
    in the command's transaction; published events form the outbox.
    Default: ``True``.
``MESSAGEBUS_BROKER_URL``
    The broker of the event stream, e.g. ``amqp://guest:guest@127.0.0.1:5672//``.
    Default: ``None`` (no broker: published events wait in the outbox).
``MESSAGEBUS_TRANSPORT``
    Dotted path of the relay's transport factory. Default: the kombu transport
    when ``MESSAGEBUS_BROKER_URL`` is set, else ``None``.
``MESSAGEBUS_EXCHANGE``
    The topic exchange events are published to. Default: ``"messagebus"``.
``MESSAGEBUS_RELAY_ON_COMMIT``
    Send a command's published events right after it commits (what fails
    stays in the outbox for ``messagebus_relay``). Default: ``True``.
``MESSAGEBUS_RELAY_MAX_ATTEMPTS``
    Refusals by the broker before a message is marked dead. Default: ``10``.
``MESSAGEBUS_RELAY_BACKOFF``
    ``(first, longest)`` seconds between attempts; the wait doubles each time.
    Default: ``(2.0, 600.0)``.
``MESSAGEBUS_METRICS``
    Collect Prometheus metrics when ``prometheus-client`` is installed (the
    ``prometheus`` extra). Default: ``True``.
``MESSAGEBUS_CORRELATION_HEADER``
    The request header ``CorrelationIdMiddleware`` reads the correlation id
    from, and writes back on the response. Default: ``"X-Request-ID"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

__all__ = ["SETTING_NAMES", "conf"]

DEFAULT_UNIT_OF_WORK = "messagebus_django.unit_of_work.DjangoUnitOfWork"
KOMBU_TRANSPORT = "messagebus_django.transports.kombu.KombuTransport"


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

    @property
    def STORE_MESSAGES(self) -> bool:
        value: bool = getattr(settings, "MESSAGEBUS_STORE_MESSAGES", True)
        return value

    @property
    def BROKER_URL(self) -> str | None:
        value: str | None = getattr(settings, "MESSAGEBUS_BROKER_URL", None)
        return value

    @property
    def TRANSPORT(self) -> str | None:
        default = KOMBU_TRANSPORT if self.BROKER_URL else None
        value: str | None = getattr(settings, "MESSAGEBUS_TRANSPORT", default)
        return value

    @property
    def EXCHANGE(self) -> str:
        value: str = getattr(settings, "MESSAGEBUS_EXCHANGE", "messagebus")
        return value

    @property
    def RELAY_ON_COMMIT(self) -> bool:
        value: bool = getattr(settings, "MESSAGEBUS_RELAY_ON_COMMIT", True)
        return value

    @property
    def RELAY_MAX_ATTEMPTS(self) -> int:
        value: int = getattr(settings, "MESSAGEBUS_RELAY_MAX_ATTEMPTS", 10)
        return value

    @property
    def RELAY_BACKOFF(self) -> tuple[float, float]:
        first, longest = getattr(settings, "MESSAGEBUS_RELAY_BACKOFF", (2.0, 600.0))
        return float(first), float(longest)

    @property
    def METRICS(self) -> bool:
        value: bool = getattr(settings, "MESSAGEBUS_METRICS", True)
        return value

    @property
    def CORRELATION_HEADER(self) -> str:
        value: str = getattr(settings, "MESSAGEBUS_CORRELATION_HEADER", "X-Request-ID")
        return value


conf = Settings()

SETTING_NAMES = frozenset(
    f"MESSAGEBUS_{name}" for name in dir(Settings) if name.isupper()
)
"""Every setting of this module, so a change of any of them resets what depends on it."""
