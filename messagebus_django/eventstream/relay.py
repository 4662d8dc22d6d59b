"""The outbox relay: sends the published events, in creation order, once.

Right after a command commits, its published events are sent (robust
``on_commit``, waiting on the broker at most
``MESSAGEBUS_RELAY_ON_COMMIT_TIMEOUT``); whatever could not be sent is swept
by ``manage.py messagebus_relay``.

No database transaction or lock is held while the broker is talked to. A
pass *claims* its rows in one short transaction (``SELECT ... FOR UPDATE
SKIP LOCKED`` on PostgreSQL, then an ``UPDATE`` that sets a claim id and an
expiry, ``MESSAGEBUS_RELAY_LEASE`` ahead, only where no live claim is), sends
them, and marks the confirmed ones sent in a second short transaction,
releasing the rest. Another relay skips claimed rows until the claim
expires, so two relays do not send the same row, while the rows of a relay
killed mid-batch are sent again once its claim has expired. Delivery is at
least once, and consumers deduplicate on the message id (the inbox).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID, uuid4

from django.db import connections, transaction
from django.db.models import F, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from messagebus_django import signals
from messagebus_django.conf import conf
from messagebus_django.eventstream.transports import (
    Envelope,
    Outcome,
    Transport,
    TransportUnavailable,
    get_transport,
)

if TYPE_CHECKING:
    from messagebus_django.models import StoredMessage

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "OutboxRelay",
    "RelayReport",
    "relay_after_commit",
    "relay_committed_events",
]

logger = logging.getLogger(__name__)


@dataclass
class RelayReport:
    """What one pass did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    unavailable: bool = False
    """The broker could not be reached; the pass stopped early."""
    fetched: int = 0
    """Rows the pass locked; fewer than the batch size means nothing more is due."""

    def __iadd__(self, other: RelayReport) -> RelayReport:
        self.fetched += other.fetched
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.unavailable = self.unavailable or other.unavailable
        return self


class _Claimed(NamedTuple):
    """A claimed row: the fields of its :class:`Envelope`, in their order."""

    id: UUID
    type: str
    created_at: datetime
    payload: dict[str, Any] | str
    """The payload; on SQLite its stored JSON text (:class:`_StoredEnvelope`)."""
    headers: dict[str, Any]

    def envelope(self) -> Envelope:
        if isinstance(self.payload, str):
            return _StoredEnvelope.read(self)
        return Envelope(self.id, self.type, self.created_at, self.payload, self.headers)


class _StoredEnvelope(Envelope):
    """An envelope whose payload is kept as the JSON text the outbox stored.

    On SQLite a ``JSONField`` keeps the text ``json.dumps`` wrote, which is
    what :meth:`Envelope.body` would write again from the parsed payload: the
    body is built from that text, and the payload is parsed only if a
    transport asks for it.
    """

    payload_json: str

    @classmethod
    def read(cls, row: _Claimed) -> _StoredEnvelope:
        envelope = object.__new__(cls)
        for name in ("id", "type", "created_at", "headers"):
            object.__setattr__(envelope, name, getattr(row, name))
        object.__setattr__(envelope, "payload_json", row.payload)
        return envelope

    @functools.cached_property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.payload_json)
        return parsed

    def __eq__(self, other: object) -> bool:
        # Equal to the plain envelope of the same fields, as before.
        if not isinstance(other, Envelope):
            return NotImplemented
        return dataclasses.astuple(self) == dataclasses.astuple(other)

    __hash__ = Envelope.__hash__

    def body(self) -> bytes:
        text = self.__dict__.get("payload_json")
        if text is None:  # made by dataclasses.replace(): a parsed payload
            return super().body()
        return self._body_of(text)


DEFAULT_BATCH_SIZE = 500
"""Messages one pass claims (``--batch-size``). Each batch pays a claim, a mark
and their commits, and waits for its confirms: 500 relayed about 25 % more
messages per CPU-second than 100 (docs/benchmarks.md)."""


class OutboxRelay:
    """Sends pending outbox rows through a transport."""

    def __init__(
        self,
        transport: Transport | None = None,
        *,
        using: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_attempts: int | None = None,
        backoff: tuple[float, float] | None = None,
        lease: float | None = None,
    ) -> None:
        found = transport if transport is not None else get_transport()
        if found is None:
            raise ValueError(
                'No transport: set MESSAGEBUS_TRANSPORTS["default"] (docs/settings.md)'
            )
        self.transport = found
        self.using = using or conf.DATABASE
        self.batch_size = batch_size
        self.max_attempts = max_attempts or conf.RELAY_MAX_ATTEMPTS
        self.backoff = backoff or conf.RELAY_BACKOFF
        self.lease = timedelta(seconds=lease or conf.RELAY_LEASE)

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failed attempt."""
        first, longest = self.backoff
        return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), longest))

    def relay_once(
        self,
        ids: Iterable[UUID] | None = None,
        *,
        count_backlog: bool = True,
        timeout: float | None = None,
    ) -> RelayReport:
        """Send one batch of due messages (or only ``ids``).

        Claim, send (the whole batch bounded by ``timeout``, default the
        transport's), then mark: no transaction is open while sending.
        """
        report = RelayReport()
        sent: list[tuple[str, datetime, datetime]] = []
        sent_ids: list[UUID] = []
        failed: list[str] = []
        dead: list[str] = []
        now = timezone.now()
        claim = uuid4()
        rows = self._claim(claim, ids, now)
        report.fetched = len(rows)
        failures: list[StoredMessage] = []
        if rows:
            # One batch: a transport that can (kombu) publishes it all, then
            # collects the broker's confirms; only the confirmed are marked sent.
            outcomes = self._send_many(
                [row.envelope() for row in rows], timeout=timeout
            )
            sent_at = timezone.now()
            unavailable: list[tuple[_Claimed, Exception]] = []
            refused: dict[UUID, Exception] = {}
            for row, outcome in zip(rows, outcomes, strict=True):
                if outcome is None:
                    sent.append((row.type, row.created_at, sent_at))
                    sent_ids.append(row.id)
                elif isinstance(outcome, TransportUnavailable):
                    # Not the message's fault: no attempt counted, sent again later.
                    unavailable.append((row, outcome))
                else:
                    refused[row.id] = outcome
            report.sent = len(sent_ids)
            if refused:
                failures = self._failures(refused, now)
                for failure in failures:
                    report.dead += failure.dead
                    report.failed += not failure.dead
                    (dead if failure.dead else failed).append(failure.type)
            if unavailable:
                first, exc = unavailable[0]
                logger.warning(
                    "Broker unavailable, %d message(s) from %s %s stay in the outbox: %s",
                    len(unavailable),
                    first.type,
                    first.id,
                    exc,
                )
                report.unavailable = True
            self._settle(
                claim, sent_ids, failures, everything=len(sent_ids) == len(rows)
            )
        # The backlog is counted by sweeps only, not by the after-commit sends
        # that run in web requests.
        signals.relay_finished.send(
            type(self),
            sent=sent,
            failed=failed,
            dead=dead,
            backlog=None if ids is not None or not count_backlog else self.backlog,
        )
        return report

    def _send_many(
        self, envelopes: list[Envelope], *, timeout: float | None
    ) -> list[Outcome]:
        transport = self.transport
        if _send_overridden(type(transport)):
            # A subclass changed send() but not send_many(): honour its send.
            return Transport.send_many(transport, envelopes, timeout=timeout)
        return transport.send_many(envelopes, timeout=timeout)

    def _claim(
        self, claim: UUID, ids: Iterable[UUID] | None, now: datetime
    ) -> list[_Claimed]:
        """Claim up to a batch of due rows in one short transaction; return them.

        Only the columns an envelope needs are read (no model instances: the
        relay's hottest query).
        """
        from messagebus_django.models import PENDING, StoredMessage

        objects = StoredMessage.objects.using(self.using)
        free = Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
        pending = objects.filter(PENDING, free)
        if ids is not None:
            pending = pending.filter(pk__in=list(ids))
        else:
            pending = pending.filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
            )
        outermost = not connections[self.using].in_atomic_block
        with transaction.atomic(using=self.using):
            if outermost:
                _no_commit_wait(self.using)
            # Not one UPDATE with the SELECT as its subquery: PostgreSQL may
            # run such a subquery again per row, ignoring its LIMIT.
            fields = _fields(self.using)
            candidates = [
                _Claimed._make(values)
                for values in pending.select_for_update(skip_locked=True)
                .order_by("created_at", "id")
                .values_list(*fields)[: self.batch_size]
            ]
            if not candidates:
                return []
            # The UPDATE checks again that no live claim is there: on SQLite
            # (no row locks) another relay may have claimed some meanwhile.
            claimed = _by_ids(
                objects.filter(PENDING, free), [row.id for row in candidates]
            ).update(claim=claim, claimed_until=now + self.lease)
            if claimed == len(candidates):
                return candidates
            return [
                _Claimed._make(values)
                for values in objects.filter(claim=claim)
                .order_by("created_at", "id")
                .values_list(*fields)
            ]

    def _failures(
        self, refused: dict[UUID, Exception], now: datetime
    ) -> list[StoredMessage]:
        """The refused rows, their attempt recorded (saved by :meth:`_settle`)."""
        from messagebus_django.models import StoredMessage

        rows = StoredMessage.objects.using(self.using).filter(pk__in=list(refused))
        failures = sorted(rows, key=lambda row: (row.created_at, row.id))
        for row in failures:
            self._record_failure(row, refused[row.id], now)
        return failures

    def _settle(
        self,
        claim: UUID,
        sent_ids: list[UUID],
        failures: list[StoredMessage],
        *,
        everything: bool,
    ) -> None:
        """Mark what the broker confirmed as sent; release the rest of the claim."""
        from messagebus_django.models import StoredMessage

        objects = StoredMessage.objects.using(self.using)
        marked = {
            "attempts": F("attempts") + 1,
            "published_at": timezone.now(),
            "claim": None,
            "claimed_until": None,
        }
        outermost = not connections[self.using].in_atomic_block
        with transaction.atomic(using=self.using):
            if outermost:
                _no_commit_wait(self.using)
            if everything:
                # The common case: one UPDATE by the claim, not by 100 ids.
                objects.filter(claim=claim).update(**marked)
                return
            if sent_ids:
                _by_ids(objects, sent_ids).update(**marked)
            for row in failures:
                row.save(
                    using=self.using,
                    update_fields=[
                        "attempts",
                        "last_error",
                        "dead",
                        "next_attempt_at",
                        "claim",
                        "claimed_until",
                    ],
                )
            # What is left of the claim (not confirmed) is released at once.
            objects.filter(claim=claim).update(claim=None, claimed_until=None)

    def _record_failure(
        self, row: StoredMessage, exc: Exception, now: datetime
    ) -> None:
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= self.max_attempts:
            row.dead = True
            logger.error("%s is dead after %d attempts: %s", row, row.attempts, exc)
        else:
            row.next_attempt_at = now + self.delay(row.attempts)
            logger.warning("%s was refused (attempt %d): %s", row, row.attempts, exc)
        row.claim = row.claimed_until = None

    def relay_pending(
        self, should_stop: Callable[[], bool] | None = None
    ) -> RelayReport:
        """Send batches until nothing is due, the broker is unavailable or ``should_stop()``."""
        total = RelayReport()
        while True:
            # The backlog gauge is counted by the last pass only.
            report = self.relay_once(count_backlog=False)
            total += report
            done = report.unavailable or report.fetched < max(self.batch_size, 1)
            if done or (should_stop is not None and should_stop()):
                signals.relay_finished.send(
                    type(self), sent=(), failed=(), dead=(), backlog=self.backlog
                )
                return total

    def backlog(self) -> int:
        """Published events waiting in the outbox."""
        from messagebus_django.models import PENDING, StoredMessage

        return StoredMessage.objects.using(self.using).filter(PENDING).count()


def _fields(using: str) -> list[str | Cast]:
    """The columns of a :class:`_Claimed`; on SQLite the payload as its stored text."""
    if connections[using].vendor != "sqlite":
        return list(_Claimed._fields)
    return ["id", "type", "created_at", Cast("payload", TextField()), "headers"]


def _by_ids(
    queryset: QuerySet[StoredMessage], ids: list[UUID]
) -> QuerySet[StoredMessage]:
    """``queryset.filter(pk__in=ids)``; on PostgreSQL with one array parameter.

    A batch's ids as ``id = ANY(%s)``: one parameter instead of a hundred for
    the ORM to prepare and psycopg to interpolate.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return queryset.filter(pk__in=ids)
    column = connection.ops.quote_name(queryset.model._meta.pk.column)
    return queryset.extra(where=[f"{column} = ANY(%s)"], params=[ids])


def _no_commit_wait(using: str) -> None:
    """On PostgreSQL, let this transaction's COMMIT return before its WAL is flushed.

    Only for the relay's own transactions (never an outer block of the caller's).

    A claim or a mark lost to a crash of the database server costs no more
    than a message sent again (the claim was a lease anyway; an unmarked row
    is sent once more, and consumers deduplicate): the guarantee is at least
    once either way. It spares each batch two waits for the disk.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@functools.cache
def _send_overridden(transport_class: type[Transport]) -> bool:
    """Whether a subclass overrides ``send()`` below the class that defines ``send_many()``."""
    mro = transport_class.__mro__
    send = next(c for c in mro if "send" in vars(c))
    send_many = next(c for c in mro if "send_many" in vars(c))
    return send is not send_many and issubclass(send, send_many)


def relay_after_commit(ids: list[UUID], using: str) -> None:
    """Send a committed command's published events now; never raise.

    Runs on the request's thread: each wait on the broker is bounded by
    ``MESSAGEBUS_RELAY_ON_COMMIT_TIMEOUT``, and what is not confirmed by then
    stays in the outbox for ``messagebus_relay``.
    """
    try:
        transport = get_transport()
        if transport is None:
            return
        OutboxRelay(transport, using=using).relay_once(
            ids, timeout=conf.RELAY_ON_COMMIT_TIMEOUT
        )
    except Exception:
        logger.exception(
            "Relaying after commit failed; messagebus_relay sends it later"
        )


def relay_committed_events(
    sender: object, *, published: list[UUID], using: str, **kwargs: object
) -> None:
    """The receiver of :data:`~messagebus_django.signals.messages_committed`.

    Connected by the event stream's app; sends nothing when
    ``MESSAGEBUS_RELAY_ON_COMMIT`` is off (``messagebus_relay`` does).
    """
    if conf.RELAY_ON_COMMIT:
        relay_after_commit(published, using)
