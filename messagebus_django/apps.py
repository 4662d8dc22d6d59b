"""App configs: the default one autodiscovers handlers, the simple one does not."""

from __future__ import annotations

from django.apps import AppConfig


class MessagebusConfig(AppConfig):
    """Builds the bus at start-up from every installed app's ``handlers`` module.

    Like the admin's ``autodiscover``: an app without a ``handlers`` module is
    skipped, and a real ``ImportError`` inside one propagates.
    """

    name = "messagebus_django"
    label = "messagebus_django"
    verbose_name = "Message bus"
    default = True
    default_auto_field = "django.db.models.BigAutoField"
    autodiscover = True

    def ready(self) -> None:
        # Registers the system checks.
        from .bus import get_bus, reset_bus
        from .checks import check_settings

        reset_bus()
        if any(error.is_serious() for error in check_settings(app_configs=None)):
            # Mistaken settings: let `manage.py check` (and runserver's checks)
            # name them by id instead of failing here with a traceback.
            return
        get_bus()


class SimpleMessagebusConfig(MessagebusConfig):
    """Scans only ``MESSAGEBUS_HANDLER_MODULES``: for projects that list their modules."""

    default = False
    autodiscover = False
