"""Views of the tests' own, for driving commands through Django's real handlers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from messagebus_django import adispatch, dispatch
from tests.django.commands import Boom, ScratchUnitOfWork, WriteBooks, make_bus


def _command(request: HttpRequest) -> WriteBooks:
    return WriteBooks(
        titles=request.GET.getlist("title"), fail=request.GET.get("fail", "")
    )


# Test-only endpoints: exempt, since the test drives them without a session.
@csrf_exempt
async def write_async(request: HttpRequest) -> HttpResponse:
    try:
        result = await adispatch(
            _command(request), bus=make_bus(), uow=ScratchUnitOfWork()
        )
    except Boom as exc:
        return JsonResponse({"error": str(exc)}, status=500)
    return JsonResponse({"written": result.unwrap()})


@csrf_exempt
def write_sync(request: HttpRequest) -> HttpResponse:
    try:
        result = dispatch(_command(request), bus=make_bus(), uow=ScratchUnitOfWork())
    except Boom as exc:
        return JsonResponse({"error": str(exc)}, status=500)
    return JsonResponse({"written": result.unwrap()})


urlpatterns = [
    path("write-async", write_async),
    path("write-sync", write_sync),
]
