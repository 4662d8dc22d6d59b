from __future__ import annotations

from django.db import models

from messagebus_django import uuid7


class Ticket(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)

    class Meta:
        app_label = "uuid_app"

    def __str__(self) -> str:
        return str(self.id)
