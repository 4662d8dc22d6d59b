"""The outbox relay: sends the published events, in creation order, once.

Right after a command commits, its published events are sent (robust
``on_commit``); whatever could not be sent is swept by
``manage.py messagebus_relay``. Each pass locks the rows it sends
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several relays can
run at once without sending a message twice. SQLite has no row locks: there a
relay's IMMEDIATE transaction takes the database's write lock, so relays take
turns. Each batch is recorded as sent in one UPDATE at its end, in the same
transaction: a relay killed before that sends the batch's messages again on
the next pass. Delivery is at least once, and consumers deduplicate on the
message id (the inbox).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import metrics
from .conf import conf
from .transports import Envelope, Transport, TransportUnavailable, get_transport

if TYPE_CHECKING:
    from .models import StoredMessage

__all__ = ["OutboxRelay", "RelayReport", "relay_after_commit"]

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


class OutboxRelay:
    """Sends pending outbox rows through a transport."""

    def __init__(
        self,
        transport: Transport | None = None,
        *,
        using: str | None = None,
        batch_size: int = 100,
        max_attempts: int | None = None,
        backoff: tuple[float, float] | None = None,
    ) -> None:
        found = transport if transport is not None else get_transport()
        if found is None:
            raise ValueError(
                "No transport: set MESSAGEBUS_BROKER_URL or MESSAGEBUS_TRANSPORT"
            )
        self.transport = found
        self.using = using or conf.DATABASE
        self.batch_size = batch_size
        self.max_attempts = max_attempts or conf.RELAY_MAX_ATTEMPTS
        self.backoff = backoff or conf.RELAY_BACKOFF

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failed attempt."""
        first, longest = self.backoff
        return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), longest))

    def relay_once(
        self, ids: Iterable[UUID] | None = None, *, count_backlog: bool = True
    ) -> RelayReport:
        """Send one batch of due messages (or only ``ids``); one transaction."""
        from .models import PENDING, StoredMessage

        report = RelayReport()
        sent: list[tuple[str, datetime, datetime]] = []
        sent_ids: list[UUID] = []
        failed: list[str] = []
        dead: list[str] = []
        now = timezone.now()
        with transaction.atomic(using=self.using):
            pending = StoredMessage.objects.using(self.using).filter(PENDING)
            if ids is not None:
                pending = pending.filter(pk__in=list(ids))
            else:
                pending = pending.filter(
                    Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
                )
            rows = list(
                pending.select_for_update(skip_locked=True).order_by(
                    "created_at", "id"
                )[: self.batch_size]
            )
            report.fetched = len(rows)
            for row in rows:
                envelope = Envelope(
                    id=row.id,
                    type=row.type,
                    created_at=row.created_at,
                    payload=row.payload,
                    headers=row.headers,
                )
                try:
                    self.transport.send(envelope)
                except TransportUnavailable as exc:
                    # Not the message's fault: no attempt counted, stop here.
                    logger.warning(
                        "Broker unavailable, %s stays in the outbox: %s", row, exc
                    )
                    report.unavailable = True
                    break
                except Exception as exc:
                    self._record_failure(row, exc, now)
                    report.dead += row.dead
                    report.failed += not row.dead
                    (dead if row.dead else failed).append(row.type)
                    continue
                report.sent += 1
                sent.append((row.type, row.created_at, timezone.now()))
                sent_ids.append(row.id)
            if sent_ids:
                # One UPDATE for the batch, in the same transaction as the lock.
                StoredMessage.objects.using(self.using).filter(pk__in=sent_ids).update(
                    attempts=F("attempts") + 1, published_at=timezone.now()
                )
        if metrics.enabled():
            # The backlog is counted by sweeps only, not by the after-commit
            # sends that run in web requests.
            backlog = None if ids is not None or not count_backlog else self.backlog()
            metrics.observe_relay(sent, failed, dead, backlog)
        return report

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
        row.save(
            using=self.using,
            update_fields=["attempts", "last_error", "dead", "next_attempt_at"],
        )

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
                if metrics.enabled():
                    metrics.observe_relay((), (), (), self.backlog())
                return total

    def backlog(self) -> int:
        """Published events waiting in the outbox."""
        from .models import PENDING, StoredMessage

        return StoredMessage.objects.using(self.using).filter(PENDING).count()


def relay_after_commit(ids: list[UUID], using: str) -> None:
    """Send a committed command's published events now; never raise."""
    try:
        transport = get_transport()
        if transport is None:
            return
        OutboxRelay(transport, using=using).relay_once(ids)
    except Exception:
        logger.exception("Relaying after commit failed; the relay command will retry")
