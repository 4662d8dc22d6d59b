"""``/api/books`` of ``books`` (the bus) and ``/hand/api/books`` (by hand)."""

from __future__ import annotations

from django.urls import include, path

from bench.web.views import hand_api_book_list

urlpatterns = [
    path("hand/api/books", hand_api_book_list, name="hand-api-list"),
    path("", include("books.urls")),
]
