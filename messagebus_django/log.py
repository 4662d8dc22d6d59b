"""The documented path of the logging filter for ``LOGGING``: see
:mod:`messagebus_django.operations.log`."""

from __future__ import annotations

from messagebus_django.operations.log import MessageContextFilter

__all__ = ["MessageContextFilter"]
