"""The project's bus: built at start-up from the installed apps and settings."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string, module_has_submodule

from .conf import SETTING_NAMES, conf
from .core import AsyncMessageBus, Message

__all__ = ["ProjectMessageBus", "build_bus", "get_bus", "handler_modules", "reset_bus"]

HANDLERS_MODULE = "handlers"

_lock = threading.Lock()
_bus: AsyncMessageBus[Any] | None = None


class ProjectMessageBus(AsyncMessageBus[Any]):
    """The bus :func:`build_bus` makes: its error hints speak of settings and apps."""

    def missing_handler_hint(self, msg_type: type[Message[Any]]) -> str:
        return (
            "decorate a handler whose first parameter is annotated with it with "
            "@async_listen (or @sync_listen) in a 'handlers.py' module (or "
            "package) of an installed app, or list its module in "
            "MESSAGEBUS_HANDLER_MODULES"
        )

    def missing_dependency_hint(self, name: str) -> str:
        return (
            f"add {name!r} to MESSAGEBUS_DEPENDENCIES (a dotted path to its "
            f"factory), or pass it to dispatch(..., {name}=...)"
        )


def handler_modules() -> list[str]:
    """The modules the bus scans, in scan order.

    Each installed app's ``handlers`` module or package when it has one (and
    autodiscovery is on; Django's own apps are skipped), then
    ``MESSAGEBUS_HANDLER_MODULES``.
    """
    modules: list[str] = []
    # The installed app config says whether it may (SimpleMessagebusConfig not).
    app_config = apps.get_app_config("messagebus_django")
    if getattr(app_config, "autodiscover", True) and conf.AUTODISCOVER:
        for app_config in apps.get_app_configs():
            # django.contrib.auth has a "handlers" package of its own (mod_wsgi).
            if app_config.name.startswith("django."):
                continue
            if module_has_submodule(app_config.module, HANDLERS_MODULE):
                modules.append(f"{app_config.name}.{HANDLERS_MODULE}")
    for name in conf.HANDLER_MODULES:
        if name not in modules:
            modules.append(name)
    return modules


def build_bus(modules: Sequence[str] | None = None) -> AsyncMessageBus[Any]:
    """A new bus with the configured dependencies and the scanned handlers.

    ``modules`` replaces :func:`handler_modules` (a consumer's own handlers).
    A real ``ImportError`` inside a handlers module propagates.
    """
    dependencies: dict[str, Any] = {
        name: import_string(path) if isinstance(path, str) else path
        for name, path in conf.DEPENDENCIES.items()
    }
    bus = ProjectMessageBus(**dependencies)
    bus.scan(*(handler_modules() if modules is None else modules))
    return bus


def get_bus() -> AsyncMessageBus[Any]:
    """The project's bus, built on first use after start-up or a settings change."""
    global _bus
    bus = _bus
    if bus is None:
        with _lock:
            if _bus is None:
                _bus = build_bus()
            bus = _bus
    return bus


def reset_bus() -> None:
    """Forget the bus; the next :func:`get_bus` builds it again."""
    global _bus
    with _lock:
        _bus = None


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in SETTING_NAMES or setting == "INSTALLED_APPS":
        reset_bus()
