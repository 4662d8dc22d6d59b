"""App configs: the default one autodiscovers handlers, the simple one does not."""

from __future__ import annotations

from django.apps import AppConfig


class MessagebusConfig(AppConfig):
    """Imports every installed app's ``handlers`` module at start-up.

    Like the admin's ``autodiscover``: an app without a ``handlers`` module is
    skipped, and a real ``ImportError`` inside one propagates. The bus is built
    from them on first use.
    """

    name = "messagebus_django"
    label = "messagebus_django"
    verbose_name = "Message bus"
    default = True
    default_auto_field = "django.db.models.BigAutoField"
    autodiscover = True

    def ready(self) -> None:
        from messagebus_django import checks  # noqa: F401 - registers the system checks
        from messagebus_django.dispatching.bus import autodiscover, reset_bus

        reset_bus()
        autodiscover()


class SimpleMessagebusConfig(MessagebusConfig):
    """Scans only ``MESSAGEBUS_HANDLER_MODULES``: for projects that list their modules."""

    default = False
    autodiscover = False
