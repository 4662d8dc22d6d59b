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
``MESSAGEBUS_TRANSPORTS``
    The event stream's transports by name, like ``CACHES``: ``{"default":
    {"BACKEND": "messagebus_django.eventstream.transports.kombu.KombuTransport",
    "OPTIONS": {"url": ..., "exchange": ...}}}``. The relay sends through
    ``"default"``. Default: the Tasks transport when ``MESSAGEBUS_CONSUMERS``
    declares consumers, Django's Tasks framework is installed and no
    deprecated broker setting is (see below); else none (published events
    wait in the outbox).
``MESSAGEBUS_CONSUMERS``
    This project's own consumers of its event stream, by name (the inbox's
    consumer name): ``{"name": {"HANDLERS": ["module", ...], "TYPES":
    ["book_registered_v1", ...]}}`` (``TYPES`` optional: every event type the
    handlers listen to). The Tasks transport delivers to them. Default: ``{}``.
``MESSAGEBUS_BROKER_URL``, ``MESSAGEBUS_TRANSPORT``, ``MESSAGEBUS_EXCHANGE``
    Deprecated (``messagebus_django.W005``): read only while
    ``MESSAGEBUS_TRANSPORTS`` is unset, as its ``"default"`` entry.
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
``MESSAGEBUS_BROKER_CONNECT_TIMEOUT``
    Seconds to connect to the broker (relay and consumer). Default: ``5.0``.
``MESSAGEBUS_BROKER_HEARTBEAT``
    AMQP heartbeat of the consumer's connection, in seconds (``0``: none); a
    broker silent for two of them is treated as lost. Default: ``30``.
``MESSAGEBUS_PUBLISH_TIMEOUT``
    Seconds ``messagebus_relay`` (and the consumer's dead letters) wait for a
    publish and its confirm. Default: ``10.0``.
``MESSAGEBUS_RELAY_ON_COMMIT_TIMEOUT``
    Seconds the after-commit send may keep the request's thread waiting on
    the broker (connect, publish, confirm); what is not confirmed by then
    stays in the outbox. Default: ``1.0``.
``MESSAGEBUS_RELAY_LEASE``
    Seconds a relay's claim on the rows it is sending lasts; a relay killed
    mid-batch leaves them to another relay once it expires. Default: ``60.0``.
``MESSAGEBUS_CONSUMER_MAX_REDELIVERIES``
    Times a delivery may come back unsettled (its consumer died on it) before
    it is dead-lettered unprocessed. Default: ``3``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from django.conf import settings
from django.core.signals import setting_changed

from messagebus_django.background.compat import framework_name

__all__ = ["DEFAULTS", "SETTING_NAMES", "conf"]

KOMBU_TRANSPORT = "messagebus_django.eventstream.transports.kombu.KombuTransport"
TASKS_TRANSPORT = "messagebus_django.eventstream.transports.tasks.TasksTransport"
_DERIVED = object()

DEFAULTS: dict[str, Any] = {
    "UNIT_OF_WORK": "messagebus_django.dispatching.unit_of_work.DjangoUnitOfWork",
    "HANDLER_MODULES": (),
    "AUTODISCOVER": True,
    "DATABASE": "default",
    "DEPENDENCIES": {},
    "STORE_MESSAGES": True,
    # None: derived from the deprecated flat settings below.
    "TRANSPORTS": None,
    "BROKER_URL": None,
    # The kombu transport when MESSAGEBUS_BROKER_URL is set, else none.
    "TRANSPORT": _DERIVED,
    "EXCHANGE": "messagebus",
    "RELAY_ON_COMMIT": True,
    "RELAY_MAX_ATTEMPTS": 10,
    "RELAY_BACKOFF": (2.0, 600.0),
    "METRICS": True,
    "CORRELATION_HEADER": "X-Request-ID",
    "BROKER_CONNECT_TIMEOUT": 5.0,
    "BROKER_HEARTBEAT": 30.0,
    "PUBLISH_TIMEOUT": 10.0,
    "RELAY_ON_COMMIT_TIMEOUT": 1.0,
    "RELAY_LEASE": 60.0,
    "CONSUMER_MAX_REDELIVERIES": 3,
    "CONSUMERS": {},
    "TASKS_LEASE": 600.0,
}
"""Each setting's default, without its ``MESSAGEBUS_`` prefix."""

SETTING_NAMES = frozenset(f"MESSAGEBUS_{name}" for name in DEFAULTS)
"""Every setting of this module, so a change of any of them resets what depends on it."""


class Settings:
    """Typed access to the settings.

    Values are remembered once read (an unset setting costs Django a raised
    ``AttributeError`` on every read, and several are read per command) and
    forgotten whenever ``setting_changed`` names one (``override_settings``).
    """

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def raw(self, name: str) -> Any:
        """The value of ``MESSAGEBUS_<name>`` as set, or its default."""
        cache = self._cache
        try:
            return cache[name]
        except KeyError:
            value = getattr(settings, f"MESSAGEBUS_{name}", DEFAULTS[name])
            if value is _DERIVED:
                value = KOMBU_TRANSPORT if self.BROKER_URL else None
            cache[name] = value
            return value

    def forget(self) -> None:
        # A new dict, not clear(): a thread that read a setting just before
        # the change stores it in the old dict, where nobody reads it again
        # (with clear(), it could put the old value back after the change).
        self._cache = {}

    @property
    def UNIT_OF_WORK(self) -> str:
        value: str = self.raw("UNIT_OF_WORK")  # read per command: no cast() call
        return value

    @property
    def HANDLER_MODULES(self) -> Sequence[str]:
        return cast(Sequence[str], self.raw("HANDLER_MODULES"))

    @property
    def AUTODISCOVER(self) -> bool:
        return cast(bool, self.raw("AUTODISCOVER"))

    @property
    def DATABASE(self) -> str:
        value: str = self.raw("DATABASE")  # read per command: no cast() call
        return value

    @property
    def DEPENDENCIES(self) -> Mapping[str, Any]:
        return cast(Mapping[str, Any], self.raw("DEPENDENCIES"))

    @property
    def STORE_MESSAGES(self) -> bool:
        value: bool = self.raw("STORE_MESSAGES")  # read per command: no cast() call
        return value

    @property
    def TRANSPORTS(self) -> Mapping[str, Any]:
        value = self.raw("TRANSPORTS")
        if value is None:
            return self.legacy_transports() or self.embedded_transports()
        return cast(Mapping[str, Any], value)

    def embedded_transports(self) -> dict[str, Any]:
        """The default with no broker: the Tasks transport, to the project's own consumers.

        Only when ``MESSAGEBUS_CONSUMERS`` declares some (else there is no one
        to deliver to, and events wait in the outbox as before) and a Tasks
        framework is importable (``django.tasks``, or the ``django-tasks``
        backport).
        """
        if not self.CONSUMERS or not framework_name():
            return {}
        return {"default": {"BACKEND": TASKS_TRANSPORT, "OPTIONS": {}}}

    def legacy_transports(self) -> dict[str, Any]:
        """``MESSAGEBUS_TRANSPORTS`` as the deprecated flat settings describe it."""
        path = self.TRANSPORT
        if not path:
            return {}
        options: dict[str, Any] = {}
        if path == KOMBU_TRANSPORT:
            options = {"url": self.BROKER_URL, "exchange": self.EXCHANGE}
        return {"default": {"BACKEND": path, "OPTIONS": options}}

    @property
    def BROKER_URL(self) -> str | None:
        return cast("str | None", self.raw("BROKER_URL"))

    @property
    def TRANSPORT(self) -> str | None:
        return cast("str | None", self.raw("TRANSPORT"))

    @property
    def EXCHANGE(self) -> str:
        return cast(str, self.raw("EXCHANGE"))

    @property
    def RELAY_ON_COMMIT(self) -> bool:
        return cast(bool, self.raw("RELAY_ON_COMMIT"))

    @property
    def RELAY_MAX_ATTEMPTS(self) -> int:
        return cast(int, self.raw("RELAY_MAX_ATTEMPTS"))

    @property
    def RELAY_BACKOFF(self) -> tuple[float, float]:
        first, longest = self.raw("RELAY_BACKOFF")
        return float(first), float(longest)

    @property
    def METRICS(self) -> bool:
        value: bool = self.raw("METRICS")  # read per command: no cast() call
        return value

    @property
    def CORRELATION_HEADER(self) -> str:
        return cast(str, self.raw("CORRELATION_HEADER"))

    @property
    def BROKER_CONNECT_TIMEOUT(self) -> float:
        return float(self.raw("BROKER_CONNECT_TIMEOUT"))

    @property
    def BROKER_HEARTBEAT(self) -> float:
        return float(self.raw("BROKER_HEARTBEAT"))

    @property
    def PUBLISH_TIMEOUT(self) -> float:
        return float(self.raw("PUBLISH_TIMEOUT"))

    @property
    def RELAY_ON_COMMIT_TIMEOUT(self) -> float:
        return float(self.raw("RELAY_ON_COMMIT_TIMEOUT"))

    @property
    def RELAY_LEASE(self) -> float:
        return float(self.raw("RELAY_LEASE"))

    @property
    def TASKS_LEASE(self) -> float:
        return float(self.raw("TASKS_LEASE"))

    @property
    def CONSUMER_MAX_REDELIVERIES(self) -> int:
        return cast(int, self.raw("CONSUMER_MAX_REDELIVERIES"))

    @property
    def CONSUMERS(self) -> Mapping[str, Any]:
        return cast(Mapping[str, Any], self.raw("CONSUMERS"))


conf = Settings()


def _forget_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting in SETTING_NAMES:
        conf.forget()


setting_changed.connect(_forget_on_change, dispatch_uid="messagebus_django.conf")
