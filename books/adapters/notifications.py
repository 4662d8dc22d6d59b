"""The librarians' notifier on Django's mail (``MESSAGEBUS_DEPENDENCIES``).

It implements the service's :class:`~books.service.notifications.AbstractNotifier`:
notes are sent only after the command commits.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.mail import send_mail

from books.service.notifications import AbstractNotifier


class EmailNotifier(AbstractNotifier):
    async def send(self, subject: str, body: str) -> None:
        await sync_to_async(send_mail)(
            subject,
            body,
            None,
            list(getattr(settings, "BOOKS_LIBRARIANS", [])),
        )
