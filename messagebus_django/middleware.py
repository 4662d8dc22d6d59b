"""The documented path of the middleware for ``MIDDLEWARE``: see
:mod:`messagebus_django.operations.middleware`."""

from __future__ import annotations

from messagebus_django.operations.middleware import CorrelationIdMiddleware

__all__ = ["CorrelationIdMiddleware"]
