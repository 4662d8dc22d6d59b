"""Helpers for testing code that uses messagebus_django.

Importable without pytest, and without Django settings for the in-memory
parts (:class:`InMemoryUnitOfWork`, :class:`InMemoryMessageStore`,
:class:`RecordingEventstreamTransport`, :class:`MessageRecorder`,
:func:`record_messages`, :func:`assert_messages`); the helpers that dispatch
or read the outbox import the Django layer when called. The pytest fixtures
built on them live in :mod:`messagebus_django.testing.plugin`. See
``docs/testing.md``.
"""

from __future__ import annotations

from messagebus_django.testing.dispatching import (
    Dispatched,
    MessagebusDispatch,
    MessagebusSeed,
    SeedError,
    dispatch_and_record,
    seed,
)
from messagebus_django.testing.events import EventCapture, capture_events
from messagebus_django.testing.memory import (
    InMemoryMessageStore,
    InMemoryUnitOfWork,
    RecordingEventstreamTransport,
)
from messagebus_django.testing.recording import (
    MessageRecorder,
    RecordingMetricsStore,
    assert_messages,
    record_messages,
)

__all__ = [
    "Dispatched",
    "EventCapture",
    "InMemoryMessageStore",
    "InMemoryUnitOfWork",
    "MessageRecorder",
    "MessagebusDispatch",
    "MessagebusSeed",
    "RecordingEventstreamTransport",
    "RecordingMetricsStore",
    "SeedError",
    "assert_messages",
    "capture_events",
    "dispatch_and_record",
    "record_messages",
    "seed",
]
