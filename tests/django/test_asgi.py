"""Concurrent requests through Django's real ASGI handler.

Each request's command commits or rolls back on its own, whether the view is
async (adispatch) or sync (dispatch, run by Django in the request's thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.test import override_settings

from tests.testapp.models import Document, DocumentActivity

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.django.urls"),
]


async def request(
    app: ASGIHandler, path: str, query: dict[str, Any]
) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(query, doseq=True).encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", b"0")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent: list[Mapping[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # the client stays connected
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(
        m.get("body", b"") for m in sent if m["type"] == "http.response.body"
    )
    return status, body


@pytest.mark.parametrize("path", ["/write-async", "/write-sync"])
def test_concurrent_requests_commit_or_roll_back_on_their_own(path: str) -> None:
    app = ASGIHandler()
    plan = {f"r{i}": ("event" if i % 3 == 0 else "") for i in range(9)}

    async def all_at_once() -> list[tuple[int, bytes]]:
        return await asyncio.gather(
            *(
                request(app, path, {"title": [f"{name}-a", f"{name}-b"], "fail": fail})
                for name, fail in plan.items()
            )
        )

    with override_settings(ALLOWED_HOSTS=["testserver"]):
        responses = async_to_sync(all_at_once)()
    statuses = dict(zip(plan, (status for status, _ in responses), strict=True))
    assert statuses == {name: 500 if fail else 200 for name, fail in plan.items()}
    committed = sorted(n for n, fail in plan.items() if not fail)
    expected = sorted(f"{n}-{s}" for n in committed for s in "ab")
    assert sorted(Document.objects.values_list("title", flat=True)) == expected
    assert DocumentActivity.objects.count() == len(expected)
