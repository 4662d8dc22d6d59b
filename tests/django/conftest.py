"""Fixtures of the Django layer's tests: both paths of the dispatch bridge."""

from __future__ import annotations

import pytest

from messagebus_django.dispatching import bridge


@pytest.fixture(params=["internals", "fallback"])
def bridge_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on each path of ``bridge.run``: asgiref's internals (the
    fast path, what the installed asgiref has) and the public ``async_to_sync``
    (the fallback, as an asgiref without the internals would get)."""
    path: str = request.param
    if path == "internals" and not bridge.asgiref_internals_found():
        pytest.skip("the installed asgiref lacks the internals")  # pragma: no cover
    monkeypatch.setattr(bridge, "INTERNALS_FOUND", path == "internals")
    return path
