"""``/metrics`` of the bookstore: for staff and for a scraper with the token.

Metrics name every command type and count the traffic: not for anonymous
visitors. A logged-in staff user may read them in the browser; Prometheus
sends ``Authorization: Bearer <token>`` where ``BOOKSTORE_METRICS_TOKEN``
(the ``METRICS_TOKEN`` environment variable) is set. Without a token setting
only staff get in.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare

from messagebus_django.metrics import metrics_view

__all__ = ["protected_metrics_view"]


def _bearer_token_ok(request: HttpRequest) -> bool:
    expected: str | None = getattr(settings, "BOOKSTORE_METRICS_TOKEN", None)
    given = request.headers.get("Authorization", "")
    return bool(expected) and constant_time_compare(given, f"Bearer {expected}")


def protected_metrics_view(request: HttpRequest) -> HttpResponse:
    """:func:`~messagebus_django.metrics.metrics_view`, behind staff or a token."""
    user = request.user
    if _bearer_token_ok(request) or (user.is_active and user.is_staff):
        return metrics_view(request)
    if "Authorization" not in request.headers and not user.is_authenticated:
        response = HttpResponse(
            "Log in as staff, or send the metrics token.",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse("Forbidden.", status=403, content_type="text/plain")
