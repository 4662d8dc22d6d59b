from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from messagebus_django.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    # Prometheus scrapes this; keep it off the public internet in production.
    path("metrics", metrics_view, name="metrics"),
    path("", include("books.urls")),
]
