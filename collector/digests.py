"""Digest jobs: when each digest runs, and the glue between the store's outbox and notify/.

Email digests run on their schedule (cron with time zone, an interval, or as soon as
collected); a failed delivery is retried with backoff (collector.notify.retry) while the
entries stay pending. Feed digests rewrite their Atom file whenever entries are pending, and
the combined feed of all statements (`feeds/all.atom`) is rewritten when documents arrive.

A statement corrected in place (a new revision of its document) is offered to feed digests
again, where it becomes a new entry (collector.notify.atom), and the combined feed is
rewritten. Email digests do not mail it again: one still pending goes out with the corrected
text, one already sent is not repeated.

With several workers on PostgreSQL, digests are run by one worker at a time: each run holds a
PostgreSQL advisory lock (SQLite deployments run a single service, see `collector run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from . import limits, metrics
from .config import Config, Digest, Schedule
from .errors import DeliveryError
from .notify import ChangeNote, DigestItem
from .notify.atom import render_atom, write_atomic
from .notify.email import Abort, SmtpSettings, send
from .notify.render import DigestAbout, render_email, render_parts
from .notify.run import Batch, RunReport, run_digest
from .pipeline import utcnow
from .status import baseline_note
from .store import Store, StoredDocument
from .store.browse import count_baseline
from .store.outbox import StoreOutbox, digest_item
from .store.watch import last_change_id, latest_changes

log = logging.getLogger("collector.digests")

COMBINED_FEED = "all"


class DigestRunner:
    def __init__(self, config: Config, store: Store, *, clock: Callable[[], datetime] = utcnow,
                 transport: Callable[[Any], Any] | None = None):
        self.store = store
        self.clock = clock
        self.reconfigure(config)
        smtp = config.settings.smtp
        self.smtp = SmtpSettings(host=smtp.host, port=smtp.port, security=smtp.security,
                                 username=smtp.username, password=smtp.password,
                                 sender=smtp.sender, timeout_s=smtp.timeout_s,
                                 ca_file=smtp.ca_file)
        #: shut by `stop`: an SMTP exchange in progress is abandoned (see notify.email)
        self.abort = Abort()
        self.transport = transport or (lambda message: send(message, self.smtp, self.abort))
        self._combined_shown: tuple[tuple[int, int], ...] | None = None

    def reconfigure(self, config: Config) -> None:
        """Take a (reloaded) configuration: its digests, sources and names apply to the next
        run; a run in progress finishes with what it claimed."""
        self.config = config
        self._sources = {s.id: s for s in config.sources}
        names = {s.id: s.name for s in config.sources}
        health = {d.id: float(d.health_after_s) for d in config.digests}
        self.outbox = StoreOutbox(self.store, item_of=self._item, source_names=names,
                                  health_after_s=lambda did: health.get(did, 86400.0))

    # -- conversion ----------------------------------------------------------------------------

    def _item(self, doc: StoredDocument, also: list[tuple[str, str]]) -> DigestItem:
        src = self._sources.get(doc.source_id)
        return digest_item(doc, also, source_name=src.name if src else doc.source_id,
                           tags=src.tags if src else ())

    def feed_path(self, feed_id: str) -> Path:
        return self.config.settings.feeds_dir / f"{feed_id}.atom"

    def _self_url(self, feed_id: str) -> str:
        base = self.config.settings.public_url or f"http://{self.config.settings.bind}"
        return f"{base.rstrip('/')}/feeds/{feed_id}.atom"

    # -- scheduling ----------------------------------------------------------------------------

    def stop(self) -> None:
        """The service is stopping: abandon the SMTP exchange in progress (its digest stays
        pending and is retried after the restart) and start no other."""
        self.abort.abort()

    async def tick(self) -> None:
        """Run every digest that is due; never raises (errors are logged and kept)."""
        for digest in self.config.digests:
            if self.abort.aborted:
                return
            try:
                await self._maybe_run(digest)
            except Exception:
                log.exception("digest %s: unexpected error", digest.id)
        try:
            await asyncio.to_thread(self.publish_combined)
        except Exception:
            log.exception("combined feed: unexpected error")

    async def _maybe_run(self, digest: Digest) -> None:
        now = self.clock()
        state = await asyncio.to_thread(self.store.digest_state, digest.id)
        if digest.channel != "feed":
            next_run = state.get("next_run_at")
            if next_run is None and not digest.schedule.immediate:
                await asyncio.to_thread(self.store.update_digest_state, digest.id,
                                        next_run_at=digest.schedule.next_after(now))
                return
            if next_run is not None and now < next_run:
                return
            retry = await asyncio.to_thread(self.outbox.retry_state, digest.id)
            if not retry.due(now):
                return
        result = await self.run_digest(digest)
        if digest.channel != "feed" and not result.startswith("failed"):
            await asyncio.to_thread(self.store.update_digest_state, digest.id,
                                    next_run_at=digest.schedule.next_after(now))

    async def run_digest(self, digest: Digest, *, force: bool = False) -> str:
        """Run one digest now; returns a one-line summary."""
        if force:
            await asyncio.to_thread(self.outbox.release, digest.id)
        with self._exclusive(digest.id) as got:
            if not got:
                return f"digest {digest.id}: another worker is running it"
            if digest.channel == "feed":
                return await asyncio.to_thread(self._run_feed, digest)
            report = await asyncio.to_thread(self._run_email, digest)
        metrics.record_digest(digest.id, report.items_delivered, ok=not report.error)
        if report.error:
            log.warning("digest %s: delivery failed (%s): %s", digest.id,
                        "temporary" if report.temporary else "permanent", report.error,
                        extra={"digest": digest.id, "channel": digest.channel,
                               "kind": "temporary" if report.temporary else "permanent"})
            return f"failed: digest {digest.id}: {report.error}"
        if report.messages_sent:
            log.info("digest %s: sent %d message(s) with %d statement(s)", digest.id,
                     report.messages_sent, report.items_delivered,
                     extra={"digest": digest.id, "channel": digest.channel,
                            "messages": report.messages_sent,
                            "statements": report.items_delivered})
        return (f"digest {digest.id}: {report.messages_sent} message(s), "
                f"{report.items_delivered} statement(s)")

    # -- channels ------------------------------------------------------------------------------

    def _render(self, digest: Digest, batch: Batch) -> Any:
        if digest.channel == "apprise":
            return batch
        return render_email(digest.id, batch.items, batch.health_notes, run_key=batch.run_key,
                            full_text=digest.full_text, paragraphs=digest.paragraphs,
                            template_dir=self.config.settings.template_dir, now=self.clock(),
                            sender=self.smtp.sender, recipients=digest.to, title=digest.title,
                            tz=ZoneInfo(digest.schedule.timezone), group_by=digest.group_by,
                            about=self.about(digest), changes=batch.changes)

    def _run_email(self, digest: Digest) -> RunReport:
        transport = self.transport
        if digest.channel == "apprise":
            transport = self._apprise(digest)
        elif not self.smtp.host:
            return RunReport(digest.id, error="no SMTP server configured (set "
                                              "COLLECTOR_SMTP_HOST)", temporary=True)
        return run_digest(digest.id, self.outbox, render=lambda b: self._render(digest, b),
                          transport=transport, now=self.clock())

    def _apprise(self, digest: Digest) -> Callable[[Any], Any]:
        def deliver(batch: Batch) -> None:
            try:
                import apprise  # optional extra
            except ImportError as exc:
                raise DeliveryError("the apprise channel needs `pip install collector[apprise]`",
                                    temporary=False) from exc
            body, _html = render_parts(digest.id, batch.items, batch.health_notes,
                                       full_text=digest.full_text, paragraphs=digest.paragraphs,
                                       template_dir=self.config.settings.template_dir,
                                       now=self.clock(), title=digest.title,
                                       tz=ZoneInfo(digest.schedule.timezone),
                                       group_by=digest.group_by, about=self.about(digest),
                                       changes=batch.changes)
            notifier = apprise.Apprise()
            for url in digest.apprise_urls:
                notifier.add(url)
            if not notifier.notify(title=digest.title, body=body):
                raise DeliveryError(f"apprise could not notify {len(digest.apprise_urls)} "
                                    "target(s)", temporary=True)

        return deliver

    def _run_feed(self, digest: Digest) -> str:
        now = self.clock()
        self.outbox.reoffer_revised(digest.id)
        batch = self.outbox.claim(digest.id, limit=limits.DIGEST_MAX_ITEMS * 10, now=now)
        path = self.feed_path(digest.id)
        if batch is None and path.exists():
            return f"digest {digest.id}: nothing new"
        items = self._latest_items(digest.id)
        data = render_atom(f"digest:{digest.id}", digest.title, items,
                           self_url=self._self_url(digest.id),
                           changes=self._latest_changes(digest.id))
        write_atomic(path, data)
        if batch is not None:
            self.outbox.delivered(digest.id, batch, now=now)
            metrics.record_digest(digest.id, len(batch.items), True)
        return f"digest {digest.id}: feed written with {len(items)} entries"

    def _latest_items(self, digest_id: str | None) -> list[DigestItem]:
        docs = self.store.latest_for_feed(digest_id, limits.FEED_MAX_ENTRIES)
        locs = self.store.locations([d.id for d in docs])
        names = {s.id: s.name for s in self.config.sources}
        return [self._item(d, [(names.get(loc.source_id, loc.source_id), loc.url)
                               for loc in locs[d.id] if loc.how not in ("original", "alias")])
                for d in docs]

    def _latest_changes(self, digest_id: str | None) -> list[ChangeNote]:
        names = {s.id: s.name for s in self.config.sources}
        return latest_changes(self.store, digest_id, limits.FEED_MAX_ENTRIES, names)

    def publish_combined(self) -> bool:
        """Rewrite feeds/all.atom when documents arrived, or one it shows was corrected,
        since the last time."""
        shown = (*self.store.feed_fingerprint(limits.FEED_MAX_ENTRIES),
                 (-1, last_change_id(self.store)))
        path = self.feed_path(COMBINED_FEED)
        if shown == self._combined_shown and path.exists():
            return False
        items = self._latest_items(None)
        write_atomic(path, render_atom("all", "All statements", items,
                                       self_url=self._self_url(COMBINED_FEED),
                                       changes=self._latest_changes(None)))
        self._combined_shown = shown
        return True

    def preview(self, digest: Digest) -> Preview:
        """The digest exactly as it would be sent now (subject, both parts, the digest's time
        zone), without sending or marking anything; when nothing is pending, why."""
        now = self.clock()
        batch = self.outbox.peek(digest.id, limit=limits.DIGEST_MAX_ITEMS, now=now)
        if batch is None:
            reason = f"digest {digest.id}: nothing pending"
            note = baseline_note(documents=self.store.count_documents(),
                                 baseline=count_baseline(self.store), pending=0)
            return Preview(text=reason + (f"\n{note}" if note else ""))
        if digest.channel == "feed":
            items = self._latest_items(digest.id)
            return Preview(text=render_atom(f"digest:{digest.id}", digest.title, items,
                                            self_url=self._self_url(digest.id),
                                            changes=self._latest_changes(digest.id)
                                            ).decode("utf-8"))
        if digest.channel == "apprise":
            body, _html = render_parts(digest.id, batch.items, batch.health_notes,
                                       full_text=digest.full_text, paragraphs=digest.paragraphs,
                                       template_dir=self.config.settings.template_dir,
                                       now=now, title=digest.title,
                                       tz=ZoneInfo(digest.schedule.timezone),
                                       group_by=digest.group_by, about=self.about(digest),
                                       changes=batch.changes)
            return Preview(text=body)
        message = self._render(digest, batch)
        return Preview(text=readable(message), message=bytes(message))

    def about(self, digest: Digest) -> DigestAbout:
        """What a digest's footer says about it."""
        return DigestAbout(id=digest.id, title=digest.title,
                           selection=describe_selection(digest, self.config),
                           schedule=describe_schedule(digest.schedule),
                           timezone=digest.schedule.timezone,
                           public_url=(self.config.settings.public_url or "").rstrip("/"))

    # -- one worker at a time ------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self, digest_id: str) -> Iterator[bool]:
        if self.store.is_sqlite:
            yield True
            return
        key = int.from_bytes(hashlib.sha256(f"digest:{digest_id}".encode()).digest()[:8],
                             "big", signed=True)
        with self.store.engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
                       .scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()



@dataclass(frozen=True)
class Preview:
    """What `collector digest ID --preview` shows: `text` for people, and for an email digest
    the whole `message` as it would be sent (RFC 5322 bytes, for `--output FILE`)."""

    text: str
    message: bytes | None = None


def readable(message: EmailMessage) -> str:
    """An email as a person reads a preview: its headers, then each part decoded."""
    lines = [f"{name}: {message[name]}" for name in ("Subject", "From", "To", "Date",
                                                      "Message-ID") if message[name]]
    for part in message.walk():
        if part.get_content_maintype() == "multipart":
            continue
        lines += ["", f"----- {part.get_content_type()} -----", ""]
        lines.append(str(part.get_content()).rstrip("\n"))
    return "\n".join(lines) + "\n"


def describe_schedule(schedule: Schedule) -> str:
    """When a digest comes, in words."""
    if schedule.immediate:
        return "sent as soon as statements are collected"
    if schedule.interval_s is not None:
        return f"sent every {format_duration(schedule.interval_s)}"
    return f"sent on the schedule '{schedule.cron}' ({schedule.timezone})"


def describe_selection(digest: Digest, config: Config) -> str:
    """Which statements a digest carries, in words."""
    names = {s.id: s.name for s in config.sources}
    parts = []
    if digest.sources:
        parts.append("from " + ", ".join(names.get(s, s) for s in digest.sources))
    if digest.tags:
        parts.append("tagged " + " or ".join(digest.tags))
    what = "new statements " + " or ".join(parts) if parts else "every new statement"
    if digest.include or digest.exclude:
        what += " that pass its filters"
    return what


def format_duration(seconds: int) -> str:
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out) or "0s"
