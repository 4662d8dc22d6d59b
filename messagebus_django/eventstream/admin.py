"""Admin pages of the event stream: the outbox (with a retry action) and the inbox."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from messagebus_django.admin import ReadOnlyAdmin
from messagebus_django.eventstream.models import InboxMessage, OutboxMessage
from messagebus_django.models import PENDING


class StateFilter(admin.SimpleListFilter):
    title = "delivery state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("pending", "Pending"), ("sent", "Sent"), ("dead", "Dead")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "pending":
            return queryset.filter(PENDING)
        if value == "sent":
            return queryset.filter(published_at__isnull=False)
        if value == "dead":
            return queryset.filter(dead=True)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "type",
        "id",
        "state",
        "attempts",
        "published_at",
        "last_error",
    )
    list_filter = (StateFilter, "type")
    search_fields = ("id", "type", "last_error")
    date_hierarchy = "created_at"
    actions = ["retry"]

    @admin.display(description="state")
    def state(self, obj: OutboxMessage) -> str:
        return obj.state

    def has_retry_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(
        description="Retry the selected dead or failing messages", permissions=["retry"]
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = queryset.filter(
            Q(dead=True) | Q(next_attempt_at__isnull=False), published_at__isnull=True
        ).update(dead=False, attempts=0, next_attempt_at=None, last_error="")
        self.message_user(
            request,
            f"{count} message(s) will be sent by the next relay pass.",
            messages.SUCCESS if count else messages.WARNING,
        )


@admin.register(InboxMessage)
class InboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "consumer", "type", "message_id")
    list_filter = ("consumer", "type")
    search_fields = ("message_id", "type")
    date_hierarchy = "received_at"
