"""The message store's and the background handlers' inbox's admin pages (the
event stream's app adds the outbox and inbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from messagebus_django.models import HandledEvent, StoredMessage

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:  # ModelAdmin is not subscriptable at run time
    _ModelAdmin = admin.ModelAdmin


class ReadOnlyAdmin(_ModelAdmin):
    """Rows written by the bus are evidence: nobody edits them by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StoredMessage)
class StoredMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "type", "kind", "id", "published")
    list_filter = ("kind", "type", "published")
    search_fields = ("id", "type")
    date_hierarchy = "created_at"


@admin.register(HandledEvent)
class HandledEventAdmin(ReadOnlyAdmin):
    """Which background handler applied which event, and by which task."""

    list_display = ("handled_at", "handler", "type", "message_id", "task_id")
    list_filter = ("handler", "type")
    search_fields = ("message_id", "task_id", "handler")
    date_hierarchy = "handled_at"
