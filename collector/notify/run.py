"""One digest run, in the order that never loses a statement: claim, render, deliver, mark.

The store implements `Outbox`; this module decides nothing about tables. The protocol:

1. `claim` returns the digest's oldest unfinished batch. A batch that was claimed before and
   not marked delivered (the previous attempt failed, or the process died) comes back with the
   same entries and the same run key, so a repeat carries the same Message-ID. Otherwise up to
   `limit` pending entries become a new batch with a fresh run key. None: nothing pending.
2. The batch is rendered and handed to the transport (SMTP, Apprise).
3. Only after the transport returned does `delivered` mark the batch's entries (and the health
   notes it carried) in one transaction. A crash between 2 and 3 re-sends that one batch once.
4. A DeliveryError goes to `failed`, which keeps the entries pending and records the retry
   state (collector.notify.retry); the run stops there, other digests are unaffected.

A digest with nothing pending and no health note sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from collector import limits
from collector.errors import ConfigError, DeliveryError
from collector.notify import ChangeNote, DigestItem, SourceHealthNote
from collector.notify.atom import render_atom, write_atomic


@dataclass(frozen=True)
class Batch:
    """The entries one message carries, under a run key fixed when the batch was claimed."""

    run_key: str
    items: tuple[DigestItem, ...]
    health_notes: tuple[SourceHealthNote, ...] = field(default=())
    #: statements found edited, removed or restored since (collector.watch)
    changes: tuple[ChangeNote, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.items and not self.health_notes and not self.changes


class Outbox(Protocol):
    def claim(self, digest_id: str, *, limit: int, now: datetime) -> Batch | None: ...

    def delivered(self, digest_id: str, batch: Batch, *, now: datetime) -> None: ...

    def failed(self, digest_id: str, batch: Batch, error: DeliveryError, *,
               now: datetime) -> None: ...


@dataclass(frozen=True)
class RunReport:
    digest_id: str
    messages_sent: int = 0
    items_delivered: int = 0
    error: str | None = None
    temporary: bool | None = None      # of the error, when there was one
    more_pending: bool = False         # stopped at the per-run message cap


def run_digest(digest_id: str, outbox: Outbox, *, render: Callable[[Batch], EmailMessage],
               transport: Callable[[EmailMessage], Any], now: datetime,
               batch_items: int = limits.DIGEST_MAX_ITEMS,
               max_messages: int = limits.DIGEST_MAX_MESSAGES_PER_RUN) -> RunReport:
    """Send the digest's pending entries, at most `max_messages` messages in this run."""
    sent = delivered = 0
    for _ in range(max_messages):
        batch = outbox.claim(digest_id, limit=batch_items, now=now)
        if batch is None or batch.is_empty:
            return RunReport(digest_id, sent, delivered)
        try:
            try:
                message = render(batch)
            except ConfigError as exc:
                # A broken user template will not heal by retrying as such, but it is kept
                # pending (not dropped) and counts towards quarantine like a 5xx.
                raise DeliveryError(f"cannot render digest: {exc}", temporary=False) from exc
            transport(message)
        except DeliveryError as exc:
            outbox.failed(digest_id, batch, exc, now=now)
            return RunReport(digest_id, sent, delivered, error=str(exc),
                             temporary=exc.temporary)
        outbox.delivered(digest_id, batch, now=now)
        sent += 1
        delivered += len(batch.items)
    return RunReport(digest_id, sent, delivered, more_pending=True)


def publish_feed(path: Path, feed_key: str, title: str, items: list[DigestItem], *,
                 self_url: str, alternate_url: str | None = None) -> bytes:
    """Render a feed digest (its latest entries) and put the file in place atomically."""
    data = render_atom(feed_key, title, items, self_url=self_url, alternate_url=alternate_url)
    write_atomic(path, data)
    return data
