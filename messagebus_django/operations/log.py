"""A logging filter that puts the message context on every log record.

Add it to a handler (``"filters": ["messagebus"]`` with
``"messagebus": {"()": "messagebus_django.operations.log.MessageContextFilter"}``) and
use ``%(correlation_id)s``, ``%(causation_id)s``, ``%(message_id)s`` and
``%(message_type)s`` in formats: records logged while a message is handled
carry its ids; others carry the request's correlation id, or ``-``.
"""

from __future__ import annotations

import logging

from messagebus_django.core.messages import message_type_name
from messagebus_django.core.tracing import correlation_id, current_message

__all__ = ["MessageContextFilter"]


class MessageContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = current_message.get()
        if message is None:
            request_id = correlation_id.get()
            record.correlation_id = str(request_id) if request_id else "-"
            record.causation_id = "-"
            record.message_id = "-"
            record.message_type = "-"
            return True
        metadata = message.metadata
        record.correlation_id = str(metadata.correlation_id or "-")
        record.causation_id = str(metadata.causation_id or "-")
        record.message_id = str(message.message_id)
        record.message_type = message_type_name(message)
        return True
