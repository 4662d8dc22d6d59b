"""The request id of a call to the bookstore's API traces every message it causes."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from messagebus_django.models import StoredMessage

pytestmark = pytest.mark.django_db

REQUEST_ID = "01900000-0000-7000-8000-0000000000aa"


def stored_headers() -> dict[str, dict[str, str]]:
    return {row.type: row.headers for row in StoredMessage.objects.all()}


def test_the_request_id_becomes_the_correlation_id_of_everything(
    librarian_client: Client,
) -> None:
    response = librarian_client.post(
        "/api/books",
        data=json.dumps({"isbn": "0-321-12521-5", "title": "DDD", "author": "Evans"}),
        content_type="application/json",
        headers={"X-Request-ID": REQUEST_ID},
    )
    assert response.status_code == 201
    assert response.headers["X-Request-ID"] == REQUEST_ID
    headers = stored_headers()
    assert headers["register_book_v1"] == {"correlation_id": REQUEST_ID}
    command_id = str(StoredMessage.objects.get(type="register_book_v1").id)
    assert headers["book_registered_v1"] == {
        "correlation_id": REQUEST_ID,
        "causation_id": command_id,
    }
