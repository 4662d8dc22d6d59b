from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from bookstore_project.metrics import protected_metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    # Prometheus scrapes this with the metrics token; staff may read it too.
    path("metrics", protected_metrics_view, name="metrics"),
    path("", include("books.urls")),
]
