"""Signals of the Django layer: connect to them to observe the bus.

Like Django's own ``django.db.models.signals``: module-level :class:`Signal`
objects that the bus sends and anyone may subscribe to.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["messages_committed"]

messages_committed = Signal()
"""Sent after a command's transaction committed, on the thread that dispatched it.

Arguments: ``sender`` (the unit of work class), ``messages`` (the handled
messages the message store wrote), ``published`` (the ids of the published
events among them) and ``using`` (the database alias). The event stream's app
connects its after-commit send here; without it installed, nobody listens.
"""
