"""Watching what was published: stored statements re-checked at their addresses.

    round ──► seed (documents met for the first time get their schedule)
          ──► claim due statements of watched sources (at most `settings: watch: batch`)
          ──► fetch each address through the poll's fetcher and rules (per-host limits,
              robots.txt, cooldown after 429/503, the source's render mode)
          ──► 404/410 ─────────────────────────────────────────────► vanished
              network error, timeout, 5xx, 429, robots ───────────► retried later
              200 ──► extract the text (as a poll does) and judge the page
                      (collector.watch_rules: front-page redirect, the host's answer to an
                      address that cannot exist, a short "not found" page) ──► same |
                      edited (a new revision, Storing.revise) | vanished
          ──► save the check: next check on the decaying schedule; a transition (edited,
              removed, restored) with one outbox row per digest that carries the statement,
              in the transaction of the change

A statement that vanished and answers again with its text is `restored` (reported as such).
`Watcher.run_round` never raises for a statement's own failures; each check is a result.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from . import documents, limits, watch_rules
from .config import Config, Source
from .documents import items as document_items
from .encoding import decode_html
from .errors import CollectorError, ExtractError, FetchError
from .models import Candidate, Extracted, Fetched
from .notify.select import selects
from .pipeline import Pipeline
from .store import EditNotice
from .store import watch as store_watch
from .store.watch import Evidence, WatchTarget

log = logging.getLogger("collector.watch")

#: Statuses that say a statement is gone from its address.
GONE = frozenset({404, 410})
#: Stored texts taken from a feed, not from the page: the page's text is no measure of an
#: edit (it is compared only to tell a "not found" page from the statement's page).
FEED_METHODS = frozenset({"feed", "summary"})


@dataclass(frozen=True)
class CheckResult:
    """What one check found: `result` is ok | edited | vanished | gone (still vanished) |
    restored | error (retried later) | skipped (cannot be checked)."""

    document_id: str
    url: str
    result: str
    detail: str = ""


@dataclass
class RoundReport:
    checked: list[CheckResult] = field(default_factory=list)
    seeded: int = 0

    def count(self, result: str) -> int:
        return sum(1 for c in self.checked if c.result == result)


class Watcher:
    """Runs watch rounds over a pipeline's fetcher, parse pool and storing stage."""

    def __init__(self, config: Config, pipeline: Pipeline, *,
                 clock: Callable[[], datetime] | None = None):
        self.pipeline = pipeline
        self.store = pipeline.store
        self.clock = clock or pipeline.clock
        self.reconfigure(config)

    def reconfigure(self, config: Config) -> None:
        self.config = config
        self.settings = config.settings.watch
        self._sources = {s.id: s for s in config.sources}

    def watched_sources(self) -> list[str]:
        """Sources whose statements are checked: enabled, and not opted out."""
        return [s.id for s in self.config.sources if s.watch and s.enabled]

    async def run_round(self, *, limit: int | None = None,
                        progress: Callable[[CheckResult], None] | None = None) -> RoundReport:
        """Check the statements that are due now, at most `limit` (default: the batch)."""
        report = RoundReport()
        after = self.settings.after_s
        if not after:
            return report
        now = self.clock()
        report.seeded = await asyncio.to_thread(store_watch.seed, self.store, after[0], now)
        targets = await asyncio.to_thread(
            store_watch.claim, self.store, now, source_ids=self.watched_sources(),
            limit=self.settings.batch if limit is None else limit,
            lease_s=limits.WATCH_LEASE_S)
        if not targets:
            return report
        probes: dict[str, asyncio.Task[watch_rules.Probe | None]] = {}
        gate = asyncio.Semaphore(max(1, self.config.settings.fetch.poll_concurrency))

        async def one(target: WatchTarget) -> None:
            async with gate:
                result = await self._check(target, probes)
            report.checked.append(result)
            if progress is not None:
                progress(result)

        try:
            await asyncio.gather(*(one(t) for t in targets))
        finally:
            for task in probes.values():
                task.cancel()
        await self.pipeline.flush_index()
        return report

    # -- one statement --------------------------------------------------------------------------

    async def _check(self, target: WatchTarget,
                     probes: dict[str, asyncio.Task[watch_rules.Probe | None]]) -> CheckResult:
        source = self._sources.get(target.source_id)
        now = self.clock()
        after = self.settings.after_s
        checks, nxt = watch_rules.schedule(target.collected_at, after, now)
        if source is None or not _checkable(target.url):
            await asyncio.to_thread(store_watch.save_check, self.store, target.document_id, now,
                                    result="skipped", checks=checks, next_check_at=None)
            return CheckResult(target.document_id, target.url, "skipped",
                               "not a web page of a configured source")
        try:
            found = await self._look(source, target, probes)
        except Exception as exc:  # a statement's own failure never stops the round
            found = _Found("error", f"{type(exc).__name__}: {exc}")
            if not isinstance(exc, CollectorError | OSError):
                log.exception("watch: checking %s failed unexpectedly", target.url)
        if found.kind == "error":
            errors = target.errors + 1
            checks, nxt = watch_rules.after_error(target.collected_at, after, target.checks,
                                                  errors, now)
            if errors >= limits.WATCH_MAX_RETRIES:
                errors = 0      # given up: the next scheduled check starts a new streak
            await asyncio.to_thread(store_watch.save_check, self.store, target.document_id, now,
                                    result="error", checks=checks, next_check_at=nxt,
                                    errors=errors, error=found.reason)
            return CheckResult(target.document_id, target.url, "error", found.reason)
        digests = self._digests(source, target)
        result = "ok"
        if found.kind == "vanished":
            event = await asyncio.to_thread(
                store_watch.save_check, self.store, target.document_id, now, result="vanished",
                checks=checks, next_check_at=nxt,
                vanished=Evidence(found.status, found.final_url, found.reason),
                digests=digests)
            result = "vanished" if event is not None or not target.vanished else "gone"
            if event is not None:
                log.info("watch: statement %s vanished from %s: %s", target.document_id,
                         target.url, found.reason)
            return CheckResult(target.document_id, target.url, result, found.reason)
        if found.kind == "edited" and found.extracted is not None:
            doc = await asyncio.to_thread(self.store.document_by_id, target.document_id)
            if doc is not None:
                updated = await self.pipeline.storing.revise(
                    doc, found.extracted, edit=EditNotice(reason=found.reason,
                                                          final_url=found.final_url,
                                                          digests=tuple(digests)))
                if updated is not None:
                    result = "edited"
                    log.info("watch: statement %s edited (revision %d): %s",
                             target.document_id, updated.revision, found.reason)
        event = await asyncio.to_thread(
            store_watch.save_check, self.store, target.document_id, now, result=result,
            checks=checks, next_check_at=nxt, restored=True, digests=digests)
        if event is not None:
            log.info("watch: statement %s is back at %s", target.document_id, target.url)
            result = "restored" if result == "ok" else result
        return CheckResult(target.document_id, target.url, result, found.reason)

    def _digests(self, source: Source, target: WatchTarget) -> list[str]:
        """The digests that carry this statement (their selection, as for a new one)."""
        return [d.id for d in self.config.digests
                if selects(d, source_id=source.id, tags=source.tags, title=target.title,
                           text=target.text, url=target.url, language=None)]

    async def _look(self, source: Source, target: WatchTarget,
                    probes: dict[str, asyncio.Task[watch_rules.Probe | None]]) -> _Found:
        """Fetch the statement's address and judge the answer."""
        try:
            fetched = await self.pipeline.fetch_page(source, target.url, document=True)
        except FetchError as exc:
            if exc.kind == "http_status" and exc.status in GONE:
                return _Found("vanished", f"HTTP {exc.status}: {exc}", status=exc.status,
                              final_url=_error_url(exc) or target.url)
            return _Found("error", str(exc))
        doc_kind = documents.kind_of(fetched.content, fetched.content_type, fetched.final_url)
        cand = Candidate(key=target.url, url=fetched.final_url)
        if doc_kind is not None:
            # a document file answered with its bytes: it is there; is it the same text?
            ex = await document_items.parse_fetched(self.pipeline.parses, source, cand,
                                                    fetched, doc_kind)
            return self._judge(source, target, fetched, ex, None, None)
        html = decode_html(fetched.content, fetched.headers.get("content-type"))
        view = await self.pipeline.parses.run(watch_rules.page_view, html,
                                              timeout_s=limits.EXTRACT_TIMEOUT_S,
                                              queue_key=source.id)
        extracted: Extracted | None
        try:
            pieces = await self.pipeline.extract_item(
                source, Candidate(key=target.url, url=fetched.final_url, page_html=html))
            extracted = pieces[0][1] if len(pieces) == 1 else None
        except ExtractError:
            extracted = None
        probe = await self._probe(source, fetched.final_url, probes)
        return self._judge(source, target, fetched, extracted, view, probe)

    def _judge(self, source: Source, target: WatchTarget, fetched: Fetched,
               extracted: Extracted | None, view: watch_rules.PageView | None,
               probe: watch_rules.Probe | None) -> _Found:
        found_text = self.pipeline.storing.text_of(extracted) if extracted is not None else None
        v = watch_rules.verdict(url=target.url, final_url=fetched.final_url,
                                stored_text=target.text, found_text=found_text, view=view,
                                probe=probe, listings=_listings(source))
        if v.kind == "unknown":
            return _Found("error", v.reason)
        if v.kind == "edited" and target.method in FEED_METHODS:
            return _Found("same", "the page is there (the stored text came from the feed and "
                                  "is not compared with it)", status=fetched.status,
                          final_url=fetched.final_url)
        # the fetch goes with the text: an edit is captured and its provenance kept
        return _Found(v.kind, v.reason, status=fetched.status, final_url=fetched.final_url,
                      extracted=None if extracted is None
                      else dataclasses.replace(extracted, fetched=fetched))

    async def _probe(self, source: Source, url: str,
                     probes: dict[str, asyncio.Task[watch_rules.Probe | None]]
                     ) -> watch_rules.Probe | None:
        """How the host of `url` answers an address that cannot exist: asked once per host
        per round (every statement of the host waits for the same answer)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        task = probes.get(origin)
        if task is None:
            task = asyncio.ensure_future(self._ask_probe(source, origin))
            probes[origin] = task
        return await asyncio.shield(task)

    async def _ask_probe(self, source: Source, origin: str) -> watch_rules.Probe | None:
        address = f"{origin}/{uuid.uuid4().hex}/{uuid.uuid4().hex[:12]}"
        try:
            fetched = await self.pipeline.fetch_page(source, address)
        except FetchError as exc:
            if exc.kind == "http_status" and exc.status is not None:
                return watch_rules.Probe(exc.status)
            return None     # no answer: nothing learned about the host
        html = decode_html(fetched.content, fetched.headers.get("content-type"))
        try:
            view = await self.pipeline.parses.run(watch_rules.page_view, html,
                                                  timeout_s=limits.EXTRACT_TIMEOUT_S,
                                                  queue_key=source.id)
        except CollectorError:
            return None
        return watch_rules.Probe(fetched.status, fetched.final_url, view)


@dataclass(frozen=True)
class _Found:
    kind: str                       # same | edited | vanished | error
    reason: str
    status: int | None = None
    final_url: str | None = None
    extracted: Extracted | None = None


def _checkable(url: str) -> bool:
    """A web page of its own: not a channel's message, not a piece of a split page or a
    link-less feed item (their address shows more than the statement)."""
    base, _, fragment = url.partition("#")
    return base.startswith(("http://", "https://")) and not fragment.startswith(
        ("item-", "part-"))


def _listings(source: Source) -> tuple[str, ...]:
    return (source.url,)


def _error_url(exc: FetchError) -> str | None:
    """The address that answered a failed fetch (its message ends "from <url>")."""
    text = str(exc)
    marker = " from "
    if marker in text:
        tail = text.rsplit(marker, 1)[1].strip()
        if tail.startswith(("http://", "https://")) and " " not in tail:
            return tail
    return None


def describe(result: CheckResult) -> str:
    """One line of `collector watch`'s progress."""
    return f"{result.result:9} {result.url}" + (f"  ({result.detail})" if result.detail else "")


__all__ = ["CheckResult", "RoundReport", "Watcher", "describe"]
