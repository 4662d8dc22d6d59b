"""Tracing: which request a message belongs to, and which message caused it.

Every message's metadata carries a ``correlation_id`` (the same for a command
and everything it causes, usually the incoming request's id) and a
``causation_id`` (the id of the message whose handling raised it). The bus
fills them in; :data:`correlation_id` is the current request's id (set by
``CorrelationIdMiddleware``), and :data:`current_message` the message being
handled, for log records.
"""

from __future__ import annotations

import contextvars
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from messagebus_django.core.messages import Message

__all__ = ["correlation_id", "current_message", "stamp_cause", "stamp_root"]

correlation_id: contextvars.ContextVar[UUID | None] = contextvars.ContextVar(
    "messagebus_correlation_id", default=None
)
"""The correlation id of the work in progress (the request's, under the middleware)."""

current_message: contextvars.ContextVar[Message[Any] | None] = contextvars.ContextVar(
    "messagebus_current_message", default=None
)
"""The message whose handlers are running."""


def stamp_root(message: Message[Any]) -> None:
    """Give the first message of a ``handle`` its correlation id if it has none."""
    metadata = message.metadata
    if metadata.correlation_id is None:
        _restamp(
            message, correlation_id.get() or message.message_id, metadata.causation_id
        )


def stamp_cause(message: Message[Any], cause: Message[Any]) -> None:
    """``message`` was raised while ``cause`` was handled: inherit its correlation."""
    metadata = message.metadata
    if metadata.causation_id is None or metadata.correlation_id is None:
        _restamp(
            message,
            metadata.correlation_id or cause.metadata.correlation_id,
            metadata.causation_id or cause.message_id,
        )


def _restamp(
    message: Message[Any], correlation: UUID | None, causation: UUID | None
) -> None:
    # On the hot path of every handled message: a frozen Metadata copied
    # field by field (a third of model_copy's cost), its slots set through
    # their descriptors (cheaper than object.__setattr__), without the
    # model's validating __setattr__. Both values are UUIDs already.
    metadata = message.metadata
    values = dict(metadata.__dict__)
    values["correlation_id"] = correlation
    values["causation_id"] = causation
    copy = _new(type(metadata))
    _set_dict(copy, values)
    _set_fields_set(copy, metadata.__pydantic_fields_set__ | _TRACING_FIELDS)
    _set_extra(copy, metadata.__pydantic_extra__)
    _set_private(copy, metadata.__pydantic_private__)
    message.__dict__["metadata"] = copy


_TRACING_FIELDS = frozenset({"correlation_id", "causation_id"})
_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
