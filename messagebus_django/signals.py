"""Signals of the Django layer: connect to them to observe the bus.

Like Django's own ``django.db.models.signals``: module-level :class:`Signal`
objects that the bus sends and anyone may subscribe to. The metrics
(:mod:`messagebus_django.operations.metrics`) and the testing kit's ``record_messages``
are receivers like any other.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = [
    "dispatch_finished",
    "message_handled",
    "messages_committed",
    "messages_stored",
    "relay_finished",
]

message_handled = Signal()
"""Sent for each message the bus is done with (its handlers ran), in order.

Arguments: ``sender`` (the message's class) and ``message``. Sent by the
metrics store of the Django layer's units of work (and of the testing kit's
in-memory one), inside the command's transaction: a rolled-back command's
messages are told too.
"""

dispatch_finished = Signal()
"""Sent when :func:`~messagebus_django.dispatch` ends, committed or not.

Arguments: ``sender`` (the unit of work class), ``uow``, ``command``,
``outcome`` (``"committed"``, ``"rolled_back"`` for an ``Err``, ``"failed"``
when a handler raised) and ``seconds`` (the transaction included).
"""

messages_committed = Signal()
"""Sent after a command's transaction committed, on the thread that dispatched it.

Arguments: ``sender`` (the unit of work class), ``messages`` (the handled
messages the message store wrote), ``published`` (the ids of the published
events among them) and ``using`` (the database alias). The event stream's app
connects its after-commit send here; without it installed, nobody listens.
"""

messages_stored = Signal()
"""Sent inside a command's transaction, once its handled messages are written.

Arguments as :data:`messages_committed`'s. Sent only when published events
were written, before COMMIT: what a receiver writes to the same database
commits or rolls back with the command (the event stream's app enqueues the
Tasks transport's deliveries here). A receiver that raises fails the command.
"""

relay_finished = Signal()
"""Sent after each relay pass (the event stream's app).

Arguments: ``sender`` (the relay's class), ``sent`` (``(type, created_at,
published_at)`` of each message the broker confirmed), ``failed`` and
``dead`` (the types refused, and given up), ``backlog`` (a callable counting
the published events still waiting, or ``None`` when this pass is not to
count them: it costs a query).
"""
