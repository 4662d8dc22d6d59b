from __future__ import annotations

from django.urls import path

from books import views

app_name = "books"

urlpatterns = [
    path("", views.book_list, name="list"),
    path("books/new", views.register_book, name="register"),
    path("api/books", views.api_book_list, name="api-list"),
    path("api/books/<uuid:id>", views.api_book_detail, name="api-detail"),
]
