"""``CorrelationIdMiddleware``: a request's id becomes its commands' correlation id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from uuid import UUID

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from messagebus_django.conf import conf
from messagebus_django.core import uuid7
from messagebus_django.core.tracing import correlation_id

__all__ = ["CorrelationIdMiddleware"]


def _request_id(request: HttpRequest) -> UUID:
    value = request.headers.get(conf.CORRELATION_HEADER)
    if value:
        try:
            return UUID(value.strip())
        except ValueError:
            pass  # not ours to trust: start a new trace
    return uuid7()


class CorrelationIdMiddleware:
    """Reads ``X-Request-ID`` (``MESSAGEBUS_CORRELATION_HEADER``) or makes an id.

    Every command dispatched while the request is served gets it as its
    correlation id, the events it causes inherit it, the relay sends it in
    broker headers, and the response carries it back in the same header.
    Sets ``request.correlation_id``. Works for sync and async views.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(
        self, request: HttpRequest
    ) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        with _correlated(request) as request_id:
            response = self.get_response(request)
        assert isinstance(response, HttpResponseBase)
        response.headers[conf.CORRELATION_HEADER] = str(request_id)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        with _correlated(request) as request_id:
            response = await self.get_response(request)  # type: ignore[misc]
        response.headers[conf.CORRELATION_HEADER] = str(request_id)
        return response  # type: ignore[no-any-return]


@contextmanager
def _correlated(request: HttpRequest) -> Iterator[UUID]:
    """The request's correlation id, current while the block runs."""
    request_id = _request_id(request)
    request.correlation_id = request_id  # type: ignore[attr-defined]
    token = correlation_id.set(request_id)
    try:
        yield request_id
    finally:
        correlation_id.reset(token)
