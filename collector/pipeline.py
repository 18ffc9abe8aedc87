"""Poll one source end to end.

    source ──► listing fetch (conditional GET; 304 or same body hash = nothing new; HTML pages
               rendered by the browser first when the source's `render` says so)
           ──► candidates (feed | page | sitemap | social; `auto` resolved once and
               remembered; telegram and imap read by collector.channels, whose items carry
               their whole text and are not fetched again)
           ──► not seen before (first poll: only `backfill` newest, marked as backfill)
           ──► filters on title/URL ──► article fetch ──► bounded extraction (feed text as
               fallback) ──► filters on text/language
           ──► dedup (same URL: unchanged/update; same text or near-duplicate: new location)
           ──► store (document + location + seen item + digest outbox in one transaction)
           ──► corpus file + index line
           ──► a channel's `settle` (a mailbox marks what was stored as read)
    finally: the source's fetch state, schedule and health are saved (failure is a result);
             a listing that crashed the parse worker on limits.QUARANTINE_AFTER polls in a
             row quarantines the source (collector.decide).

`Pipeline` holds what lives across polls (store, fetcher, browser, parse pool, and the storing
stage, `storing.Storing`: dedup, store, corpus files and the near-duplicate index, which takes
every extracted text from here);
`poll(source)` never raises for a source's own failures: it returns a PollOutcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import channels, decide, documents, isolate, limits, metrics
from .body import Body, SpentBody
from .browser import Browser, rendered
from .config import Config, Source
from .discover.feed import parse_feed
from .documents import items as document_items
from .documents.links import MAX_POINTER_WORDS
from .encoding import decode_html
from .errors import CollectorError, ExtractError, FetchError, NotModified, ParseError, StoreError
from .fetch import Fetcher, FetchPolicy
from .health import decide_state
from .models import Candidate, Extracted, Fetched, PollOutcome
from .store import PollRecord, SourceState, Store
from .storing import Storing

log = logging.getLogger("collector.pipeline")

#: An item whose page failed this many polls in a row is given up (recorded, not retried).
MAX_ITEM_ATTEMPTS = 3


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Listing:
    """What the listing fetch produced. Once its items are parsed, `spend_body` lets the body
    go: the items' own fetches and extractions that follow do not hold it."""

    candidates: list[Candidate]
    fetched: Fetched | None
    not_modified: bool = False
    method: str = "feed"
    #: items left out by the listing itself (a channel's posts of only media)
    skipped: int = 0
    #: called with the keys stored (or given up) once the candidates are processed (a mailbox
    #: marks those messages read)
    settle: Callable[[set[str]], Awaitable[None]] | None = None
    #: the hash of the fetched body (computed once: a full-text feed is tens of KB)
    body_hash: str | None = None

    def spend_body(self) -> None:
        """Keep of the fetched listing only what the poll's record needs (validators,
        headers, address, the body's size and digest)."""
        if self.fetched is not None and not isinstance(self.fetched.body, SpentBody):
            self.fetched = dataclasses.replace(self.fetched, body=SpentBody(self.fetched.body),
                                               wire=None)


def policy_for(source: Source, *, expected: str = "any",
               deadline_s: float | None = None) -> FetchPolicy:
    """The fetch rules of `source`; `deadline_s` is `settings: fetch: deadline`."""
    fields = {f.name for f in dataclasses.fields(FetchPolicy)}
    values: dict[str, Any] = {"allow_private": source.allow_private_addresses,
                              "robots": source.robots}
    if deadline_s is not None:
        values["deadline_s"] = deadline_s
    if "verify_tls" in fields:
        values["verify_tls"] = source.verify_tls
    if "expected" in fields:
        values["expected"] = expected
    return FetchPolicy(**values)


class Pipeline:
    """Everything one worker needs to poll sources; shared by the scheduler and the CLI."""

    def __init__(self, config: Config, store: Store, fetcher: Fetcher, *,
                 clock: Callable[[], datetime] = utcnow,
                 selects: Callable[[Any, Source, Extracted, str], bool] | None = None,
                 parses: isolate.Isolator | None = None):
        self.config = config
        #: the parse worker pool (queued by source; `close()` ends it)
        self.parses = parses or isolate.Isolator(
            config.settings.fetch.parse_workers or isolate.parse_workers())
        self._owns_parses = parses is None
        if self._owns_parses:
            # a pipeline dropped without close() (a test, a dry run) still ends its workers
            weakref.finalize(self, self.parses.close)
        #: overrunning parses of each poll in progress, by source (see `_parse`)
        self._overruns: dict[str, int] = {}
        self.store = store
        self.fetcher = fetcher
        self.clock = clock
        #: the storing stage: dedup, the store's writes, the corpus and the near-duplicate index
        self.storing = Storing(config, store, clock=clock, selects=selects)
        self._writer = _OutcomeWriter(store)
        #: the shared browser; Chromium starts only when a source first needs it
        self.browser = Browser(fetcher)

    def close(self) -> None:
        """End the parse worker pool (if this pipeline made it): queued parses are cancelled
        and running ones killed at once, so a stopping service waits for none of them."""
        if self._owns_parses:
            self.parses.close()

    def close_files(self) -> None:
        """End the corpus writer's thread once the last write is done (`Storing.close_files`)."""
        self.storing.close_files()

    async def _parse(self, source: Source, fn: Callable[..., Any], *args: Any,
                     **kwargs: Any) -> Any:
        """`fn` in the parse pool, queued under the source, with the extraction deadline; an
        overrun is counted against the source's poll in progress."""
        try:
            return await self.parses.run(fn, *args, timeout_s=limits.EXTRACT_TIMEOUT_S,
                                         queue_key=source.id, **kwargs)
        except isolate.ParseOverrun:
            if source.id in self._overruns:
                self._overruns[source.id] += 1
            raise

    def _policy(self, source: Source, expected: str = "any") -> FetchPolicy:
        return policy_for(source, expected=expected,
                          deadline_s=self.config.settings.fetch.deadline_s)

    def fetch_policy(self, source: Source) -> FetchPolicy:
        """The rules for fetching `source`'s HTML pages."""
        return self._policy(source, "page")

    async def fetch_page(self, source: Source, url: str, *, etag: str | None = None,
                         last_modified: str | None = None, document: bool = False) -> Fetched:
        """An HTML page of `source`, rendered by the browser if its `render` asks for it; with
        `document`, the answer may also be a PDF, DOCX or ODT file, which is never rendered."""
        policy = self._document_policy(source) if document else self._policy(source, "page")
        if source.render != "plain":
            # the shell rarely changes while what scripts load does: never conditional
            etag = last_modified = None
        fetched = await self.fetcher.fetch(url, etag=etag, last_modified=last_modified,
                                           policy=policy)
        if document and _document_kind(fetched) is not None:
            return fetched
        return await rendered(self.browser, source.render, fetched, policy)

    # -- start-up and round end (the storing stage's) ------------------------------------------

    async def load_index(self) -> int:
        """Add the signatures of documents stored since the last call (`Storing.load_index`)."""
        return await self.storing.load_index()

    async def reconcile_corpus(self) -> int:
        """Repair the corpus after a stop (`Storing.reconcile_corpus`)."""
        return await self.storing.reconcile_corpus()

    async def flush_index(self, *, check: bool = False) -> bool:
        """Rewrite index.jsonl when it is out of date (`Storing.flush_index`)."""
        return await self.storing.flush_index(check=check)


    # -- one poll ------------------------------------------------------------------------------

    async def poll(self, source: Source, *, state: SourceState | None = None) -> PollOutcome:
        """Poll `source` once. Never raises for the source's own failures."""
        outcome, _released = await self.poll_claimed(source, state=state, owner=None)
        return outcome

    async def poll_claimed(self, source: Source, *, state: SourceState | None,
                           owner: str | None) -> tuple[PollOutcome, bool]:
        """`poll` for a source claimed by `owner` (its state as read by the claim, or None to
        read it here): the write of the outcome also frees the lease if `owner` still holds
        it. Returns the outcome and whether that write happened (if not, the caller frees the
        lease itself)."""
        started = time.monotonic()
        now = self.clock()
        if state is None:
            try:
                state = await asyncio.to_thread(self.store.source_state, source.id)
            except StoreError as exc:
                return PollOutcome(source.id, ok=False, error=str(exc), error_kind="store"), \
                    False
        # "left": new items not taken this poll; "retrying": items that failed, to try again
        counts = {"new": 0, "dup": 0, "skipped": 0, "left": 0, "retrying": 0}
        method = None
        if state.last_error_kind == decide.PARSE_TIMEOUT:
            # its last poll overran (in this process or before a restart): its parses wait
            # behind everyone else's from the start
            self.parses.defer(source.id)
        elif state.last_success_at is not None and state.consecutive_failures == 0:
            # its last poll succeeded: its parses go before those of sources never seen
            self.parses.trust(source.id)
        self._overruns[source.id] = 0
        try:
            listing = await self._listing(source, state)
            method = listing.method
            if listing.not_modified:
                await self._save_not_modified(source, state, listing.fetched, now, owner)
                return PollOutcome(source.id, ok=True, not_modified=True, method=method,
                                   elapsed_s=time.monotonic() - started), True
            counts["skipped"] += listing.skipped
            await self._process(source, state, listing, counts, now)
            if listing.settle is not None:
                done = await asyncio.to_thread(
                    self.store.seen_keys, source.id, [c.key for c in listing.candidates],
                    retry_below=MAX_ITEM_ATTEMPTS)
                await listing.settle(done)
            await self._save_success(source, state, listing, now, owner, counts)
            return PollOutcome(source.id, ok=True, new_documents=counts["new"],
                               duplicates=counts["dup"], skipped=counts["skipped"],
                               method=method, elapsed_s=time.monotonic() - started,
                               left=counts["left"]), True
        except (CollectorError, OSError) as exc:
            kind = getattr(exc, "kind", None) or type(exc).__name__.lower()
            message = str(exc) or type(exc).__name__
            if source.url not in message:
                message = f"{message} (polling {source.url})"
            retry_after = getattr(exc, "retry_after", None)
            saved = False
            try:
                await self._save_failure(source, state, message, kind, retry_after, now, owner,
                                         counts)
                saved = True
            except CollectorError as store_exc:  # pragma: no cover - database gone
                log.error("source %s: could not save its failure: %s", source.id, store_exc)
            return PollOutcome(source.id, ok=False, error=message, error_kind=kind,
                               new_documents=counts["new"], duplicates=counts["dup"],
                               method=method, elapsed_s=time.monotonic() - started), saved
        finally:
            self._overruns.pop(source.id, None)

    # -- listing -------------------------------------------------------------------------------

    async def _resolve(self, source: Source, state: SourceState) -> tuple[str, str]:
        """The kind and URL actually polled: `auto` is resolved once and remembered, and a
        feed, page or sitemap that moved permanently is polled at its new address."""
        if source.kind != "auto":
            return source.kind, _moved_to(source, state) or source.url
        if state.resolved_kind and state.resolved_url:
            return state.resolved_kind, state.resolved_url
        from .discover import auto

        policy = self._policy(source)

        async def fetch(url: str) -> Fetched:
            return await self.fetcher.fetch(url, policy=policy)

        found = await auto.discover(source.url, fetch)
        await asyncio.to_thread(self.store.update_source, source.id, resolved_kind=found.kind,
                                resolved_url=found.url, resolved_reason=found.reason)
        log.info("source %s: following %s %s (%s)", source.id, found.kind, found.url,
                 found.reason)
        return found.kind, found.url

    async def _listing(self, source: Source, state: SourceState) -> Listing:
        kind, url = await self._resolve(source, state)
        if kind in channels.KINDS:
            found = await channels.listing(self, source, state)
            return Listing(found.candidates, None, method=kind, skipped=found.skipped,
                           settle=found.settle)
        try:
            if kind == "page":
                fetched = await self.fetch_page(source, url, etag=state.etag,
                                                last_modified=state.last_modified)
            else:
                # a compressed feed is kept so while it waits for the parse workers
                # (collector.body); they decode it
                fetched = await self.fetcher.fetch(
                    url, etag=state.etag, last_modified=state.last_modified,
                    policy=dataclasses.replace(self._policy(source, "feed"), compact=True))
        except NotModified:
            return Listing([], None, not_modified=True, method=kind)
        body_hash = fetched.body.sha256()
        if state.body_hash == body_hash and state.polls > 0:
            # Same bytes as last time: skip parsing (some servers never answer 304).
            return Listing([], fetched, not_modified=True, method=kind)
        candidates = await self._candidates(source, kind, fetched)
        if kind == "page" and source.pagination_depth > 0 and state.polls == 0:
            candidates += await self._older_pages(source, fetched, {c.key for c in candidates})
        return Listing(candidates, fetched, method=kind, body_hash=body_hash)

    async def _older_pages(self, source: Source, first: Fetched, known: set[str]
                           ) -> list[Candidate]:
        """Backfill: follow a listing's pagination up to the source's `pagination_depth`."""
        from .discover.page import next_page_url
        from .encoding import decode_html

        out: list[Candidate] = []
        visited = {first.final_url}
        current = first
        for _ in range(min(source.pagination_depth, limits.MAX_PAGINATION_DEPTH)):
            html = decode_html(current.content, current.headers.get("content-type"))
            nxt = next_page_url(html, current.final_url)
            if not nxt or nxt in visited:
                break
            visited.add(nxt)
            try:
                current = await self.fetch_page(source, nxt)
            except FetchError as exc:
                log.info("source %s: pagination stopped at %s: %s", source.id, nxt, exc)
                break
            for c in await self._candidates(source, "page", current):
                if c.key not in known:
                    known.add(c.key)
                    out.append(c)
        return out

    async def _candidates(self, source: Source, kind: str, fetched: Fetched) -> list[Candidate]:
        # a feed is scanned for its items' identities first: most polls of a changed feed
        # find few new items, and the cold poll of a source stores none (`backfill: 0`), so
        # the full parse, most of a full-text feed's cost, is kept for the items taken
        # (`_complete`)
        return await candidates_for(self.fetcher, source, kind, fetched, now=self.clock(),
                                    deadline_s=self.config.settings.fetch.deadline_s,
                                    parses=self.parses, scan=True)

    async def _complete(self, source: Source, fetched: Fetched | None,
                        listed: list[Candidate], batch: list[Candidate]) -> list[Candidate]:
        """The items of `batch` in full, where the listing was only scanned for identities:
        parsed again, only these (collector.discover.feed.parse_feed with `keys`)."""
        if not any(c.identity_only for c in batch):
            return batch
        if fetched is None:  # pragma: no cover - a scan always comes from a fetched feed
            raise ParseError(f"source {source.id}: scanned items without their feed")
        keys = [c.key for c in batch]
        full = await self._parse(source, parse_feed, fetched.body, fetched.final_url,
                                 headers=fetched.headers, now=self.clock(), keys=keys,
                                 listed=[c.key for c in listed])
        by_key = {c.key: c for c in full}
        missing = [k for k in keys if k not in by_key]
        if missing:
            raise ParseError(f"{fetched.final_url}: {len(missing)} items found by the scan "
                             f"are missing from the full parse (first: {missing[0]})")
        return [by_key[k] for k in keys]

    # -- items ---------------------------------------------------------------------------------

    async def _process(self, source: Source, state: SourceState, listing: Listing,
                       counts: dict[str, int], now: datetime) -> None:
        candidates = listing.candidates
        keys = [c.key for c in candidates]
        seen = await asyncio.to_thread(self.store.seen_keys, source.id, keys,
                                       retry_below=MAX_ITEM_ATTEMPTS)
        fresh = [c for c in candidates if c.key not in seen]
        if not fresh:
            return
        # The first successful poll sets the baseline, even when it found an empty listing.
        first_run = state.last_success_at is None
        backfill = False
        fresh = _newest_first(fresh)
        if first_run:
            # Adding a source never floods a digest: take the newest `backfill` items into the
            # corpus (marked as backfill, kept out of digests) and remember the rest as seen.
            backfill = True
            take, rest = fresh[:source.backfill], fresh[source.backfill:]
            await asyncio.to_thread(self.store.mark_seen_many, source.id,
                                    [(c.key, c.url) for c in rest], status="baseline", now=now)
            fresh = take
        started = time.monotonic()
        # the newest items first if there are too many for one poll, but stored oldest first,
        # so that sequence numbers follow publication
        batch = await self._complete(source, listing.fetched, candidates,
                                     list(reversed(fresh[:limits.MAX_NEW_ITEMS_PER_POLL])))
        # the items are parsed: while they are fetched and extracted (waiting for the parse
        # workers with the other polls' items), the listing's body is not held
        listing.spend_body()
        # the rest stay unseen: this poll records no validators, so the next one (due soon,
        # decide.after_success) reads the listing again even if it has not changed
        counts["left"] = len(fresh) - len(batch)
        failed: list[str] = []
        for done, cand in enumerate(batch):
            overruns = self._overruns.get(source.id, 0)
            if overruns >= limits.MAX_OVERRUNS_PER_POLL:
                # a source whose parses keep overrunning costs the pool at most this many
                # deadlines a poll: the rest of its items wait (unseen) for the next poll, and
                # the poll fails so that the source backs off (a failure records no validators)
                raise isolate.ParseOverrun(
                    f"poll cut short: {overruns} parses overran their"
                    f" {limits.EXTRACT_TIMEOUT_S:g} s deadline; {len(batch) - done} items left"
                    " for the next poll")
            if time.monotonic() - started > limits.POLL_BUDGET_S:
                # the rest stay unseen and are taken at the next poll; a poll never outlives
                # its source's lease
                counts["left"] += len(batch) - done
                log.info("source %s: poll budget spent, %d items left for the next poll",
                         source.id, counts["left"])
                break
            try:
                n_new, n_dup = await self._item(source, cand, backfill=backfill)
                counts["new"] += n_new
                counts["dup"] += n_dup
            except (FetchError, ExtractError, ParseError) as exc:
                counts["skipped"] += 1
                log.warning("source %s: item %s: %s", source.id, cand.url or cand.key, exc,
                            extra={"source": source.id, "url": cand.url,
                                   "kind": getattr(exc, "kind", type(exc).__name__.lower())})
                await asyncio.to_thread(self.store.mark_seen, source.id, cand.key, url=cand.url,
                                        status="failed", now=self.clock(), detail=str(exc)[:500])
                failed.append(cand.key)
        if failed:
            # those not yet given up are tried again at the next poll, which must read the
            # listing in full for that
            given_up = await asyncio.to_thread(self.store.seen_keys, source.id, failed,
                                               retry_below=MAX_ITEM_ATTEMPTS)
            counts["retrying"] = len(set(failed) - given_up)

    async def _item(self, source: Source, cand: Candidate, *, backfill: bool) -> tuple[int, int]:
        """Fetch, extract, filter, dedup and store one candidate; (new docs, duplicates)."""
        from .filters import accept

        include = self.config.include + source.include
        exclude = self.config.exclude + source.exclude
        ok, why = accept(include, exclude, title=cand.title, text=None, url=cand.url,
                         language=None, partial=True)
        if not ok:
            await self._mark(source, cand, "filtered", why)
            return 0, 0
        pieces = await self.extract_item(source, cand)
        new = dup = 0
        for piece_key, extracted, url in pieces:
            text = "\n".join(extracted.blocks)
            ok, why = accept(include, exclude, title=extracted.title, text=text, url=url,
                             language=extracted.language, partial=False)
            if not ok:
                await self._mark(source, cand, "filtered", why, key=piece_key)
                continue
            result = await self.storing.store_text(source, cand, piece_key, url, extracted,
                                                   backfill)
            new += result == "new"
            dup += result == "duplicate"
        if all(piece_key != cand.key for piece_key, _, _ in pieces):
            # a split page's pieces are seen under keys of their own: the page's item is seen
            # too, or every later poll would fetch and split it again (and count it as new)
            await self._mark(source, cand, "split", f"{len(pieces)} pieces")
        return new, dup

    async def _mark(self, source: Source, cand: Candidate, status: str, detail: str | None,
                    key: str | None = None) -> None:
        await asyncio.to_thread(self.store.mark_seen, source.id, key or cand.key, url=cand.url,
                                status=status, now=self.clock(), detail=detail)

    async def extract_item(self, source: Source, cand: Candidate
                            ) -> list[tuple[str, Extracted, str]]:
        """[(seen key, extracted, url)]: one piece, or several when the source splits pages.

        Touches no database: `collector check` uses it for its dry run.
        """
        from .extract import choose, html_to_blocks

        page: Extracted | None = None
        page_error: Exception | None = None
        html: str | None = None
        url = cand.url
        doc_kind: str | None = None
        fetched: Fetched | None = None
        if cand.page_html is not None:
            html = cand.page_html
            try:
                page = await self._extract(html, url or source.url, {}, source)
            except ExtractError as exc:
                page_error = exc
        elif url and not cand.complete:
            try:
                fetched = await self.fetch_page(source, url, document=True)
                url = fetched.final_url
                doc_kind = _document_kind(fetched)
                if doc_kind is None and source.split is None:
                    # the page goes to the parse worker as fetched (compressed if it came so;
                    # extract decodes it as decode_html would)
                    page = await self._extract(fetched.body, url, fetched.headers, source,
                                               item_title=cand.title)
                    if page.word_count <= MAX_POINTER_WORDS:
                        html = decode_html(fetched.content, fetched.headers.get("content-type"))
                elif doc_kind is None:
                    html = decode_html(fetched.content, fetched.headers.get("content-type"))
            except (FetchError, ExtractError) as exc:
                page_error = exc
        if doc_kind is not None:  # the item is a document (PDF, DOCX, ODT) itself
            assert url is not None and fetched is not None
            ex = await document_items.parse_fetched(self.parses, source, cand, fetched, doc_kind)
            return [(cand.key, dataclasses.replace(ex, fetched=fetched), url)]
        if page is not None and html is not None and url is not None:
            pointed = await document_items.pointed_document(
                self.parses, self.fetcher, self._document_policy(source), source, cand, html,
                url, page)
            if pointed is not None:
                return [pointed]
        if source.split is not None and html is not None:
            pieces = await self._split(source, cand, html, url or source.url)
            return [(key, dataclasses.replace(ex, fetched=fetched), piece_url)
                    for key, ex, piece_url in pieces]
        feed_html = cand.content_html or cand.summary_html
        if page is None and not feed_html:
            if page_error is not None:
                raise page_error
            raise ExtractError(f"item {cand.key} has neither a page nor text in the feed")
        if page is None and feed_html and not cand.content_html:
            # Only a summary is available: take it, flagged as partial.
            blocks = tuple(html_to_blocks(feed_html))
            chosen = Extracted(title=cand.title or "", blocks=blocks, method="summary",
                               flags=("partial",), published=cand.published)
        else:
            chosen = choose(page, cand.content_html, cand.title)
        if cand.complete and cand.title:
            # a post's or a mail's own title (first line, subject) is the one its reader sees
            chosen = dataclasses.replace(chosen, title=cand.title)
        if chosen.published is None and cand.published is not None:
            chosen = dataclasses.replace(chosen, published=cand.published)
        if not chosen.author and cand.author:
            chosen = dataclasses.replace(chosen, author=cand.author)
        if not chosen.blocks and not chosen.title:
            raise ExtractError(f"{url or cand.key}: no text found")
        if url is None:
            # An item with no link of its own: its identity is the feed's URL plus a fragment
            # made from its stable key, so two such items never collapse into one document.
            url = f"{source.url}#item-{hashlib.sha256(cand.key.encode()).hexdigest()[:16]}"
        return [(cand.key, dataclasses.replace(chosen, fetched=fetched), url)]

    def _document_policy(self, source: Source) -> FetchPolicy:
        """Rules for an item's own address: a page, or a document (PDF, DOCX, ODT); captured
        as fetched (WARC) unless capture is off, in the settings or for the source."""
        return dataclasses.replace(self._policy(source, "page"), documents=True,
                                   capture=self.config.settings.capture.enabled
                                   and source.capture, compact=True)

    async def _extract(self, html: str | Body, url: str, headers: dict[str, str],
                       source: Source, item_title: str | None = None) -> Extracted:
        """The page's extraction; `item_title` (the feed item's) stands in for a page whose
        own title is only the site's name (the source's name is one more name of the site)."""
        from .extract import extract

        return await self._parse(source, extract, html, url=url, headers=headers,
                                 content_selector=source.content_selector, now=self.clock(),
                                 item_title=item_title, site_names=(source.name,))

    async def _split(self, source: Source, cand: Candidate, html: str, url: str
                     ) -> list[tuple[str, Extracted, str]]:
        from .split import split_document

        assert source.split is not None
        pieces = await self._parse(source, split_document, html,
                                   selector=source.split.selector,
                                   headings=source.split.headings, url=url)
        out = []
        for frag_key, frag_html in pieces:
            extracted = await self._extract(frag_html, url, {}, source)
            frag_url = f"{url.partition('#')[0]}#part-{frag_key}"
            out.append((f"{cand.key}#{frag_key}", extracted, frag_url))
        return out

    # -- source state --------------------------------------------------------------------------

    def _interval(self, source: Source) -> float:
        return float(source.schedule.nominal_interval_s)

    async def _save(self, source: Source, before: SourceState, after: decide.SourceState,
                    now: datetime, owner: str | None, record: PollRecord, *,
                    follow_cron: bool = True, **extra: Any) -> None:
        if (follow_cron and source.schedule.cron and after.consecutive_failures == 0
                and after.next_poll_at is not None):
            after = dataclasses.replace(after, next_poll_at=max(after.next_poll_at,
                                                                source.schedule.next_after(now)))
        health = decide.status(after, now)
        # A shallow copy: every field is a scalar, string or datetime, and `asdict` would
        # deep-copy each datetime (about 1 % of a poll's CPU when most answers are 304s).
        values = {f.name: getattr(after, f.name) for f in _STATE_FIELDS}
        values.update(extra, health=health, polls=before.polls + 1)
        await self._writer.save(source.id, values, owner, record)

    def _record(self, source: Source, now: datetime, *, ok: bool, not_modified: bool = False,
                counts: dict[str, int] | None = None, kind: str | None = None,
                message: str | None = None) -> PollRecord:
        """The poll as the source's history keeps it; its duration by the pipeline's clock."""
        counts = counts or {}
        return PollRecord(source.id, now, ok=ok, not_modified=not_modified, error_kind=kind,
                          error=message, new_documents=counts.get("new", 0),
                          duplicates=counts.get("dup", 0),
                          elapsed_s=(self.clock() - now).total_seconds())

    async def _save_not_modified(self, source: Source, state: SourceState,
                                 fetched: Fetched | None, now: datetime,
                                 owner: str | None = None) -> None:
        after = decide.after_not_modified(
            decide_state(state), now=now, interval_s=self._interval(source), seed=source.id,
            etag=fetched.etag if fetched else None,
            last_modified=fetched.last_modified if fetched else None,
            max_age_s=_max_age(fetched, now))
        await self._save(source, state, after, now, owner,
                         self._record(source, now, ok=True, not_modified=True),
                         **_moved(source, fetched))
        log.debug("source %s: not modified", source.id)

    async def _save_success(self, source: Source, state: SourceState, listing: Listing,
                            now: datetime, owner: str | None,
                            counts: dict[str, int]) -> None:
        fetched = listing.fetched
        left, retrying = counts["left"], counts["retrying"]
        after = decide.after_success(
            decide_state(state), now=now, interval_s=self._interval(source), seed=source.id,
            candidates=len(listing.candidates),
            etag=fetched.etag if fetched else None,
            last_modified=fetched.last_modified if fetched else None,
            body_hash=listing.body_hash or (fetched.body.sha256()
                                            if fetched else None),
            max_age_s=_max_age(fetched, now), left=left, retrying=retrying)
        # items left over are taken soon even on a cron schedule: the same poll, continued
        await self._save(source, state, after, now, owner,
                         self._record(source, now, ok=True, counts=counts),
                         follow_cron=not left,
                         **_moved(source, fetched))

    async def _save_failure(self, source: Source, state: SourceState, message: str, kind: str,
                            retry_after: float | None, now: datetime,
                            owner: str | None = None,
                            counts: dict[str, int] | None = None) -> None:
        after = decide.after_failure(
            decide_state(state), now=now, interval_s=self._interval(source), seed=source.id,
            error=message, kind=kind, retry_after_s=retry_after)
        extra: dict[str, Any] = {}
        if _moved_to(source, state):
            # The new address of a permanent move failed: the next poll starts again from the
            # configured URL (which redirects again if the move still holds).
            extra = {"resolved_kind": None, "resolved_url": None, "resolved_reason": None}
        await self._save(source, state, after, now, owner,
                         self._record(source, now, ok=False, counts=counts, kind=kind,
                                      message=message), **extra)
        if decide.is_quarantined(after) and after.consecutive_crashes == limits.QUARANTINE_AFTER:
            # the poll that quarantined it (a manual poll of a quarantined source adds to the
            # count but quarantines nothing anew)
            log.warning("source %s: quarantined, %s", source.id, decide.quarantine_reason(after))
            metrics.record_quarantine(source.id)
        log.debug("source %s: poll failed (%s): %s", source.id, kind, message)


# `judged` has no column: the health word written with the state carries it (see
# collector.health.decide_state).
_STATE_FIELDS = tuple(f for f in dataclasses.fields(decide.SourceState) if f.name != "judged")


def _document_kind(fetched: Fetched) -> str | None:
    """collector.documents.kind_of for a fetched body, which reads the whole body only for a
    zip file (DOCX, ODT): of a compact body, only the start is decoded otherwise."""
    head = fetched.body.head(4096)
    content = fetched.content if head.startswith(b"PK") else head
    return documents.kind_of(content, fetched.content_type, fetched.final_url)


def _moved_to(source: Source, state: SourceState) -> str | None:
    """The remembered new address of a feed, page or sitemap that moved permanently."""
    if source.kind != "auto" and state.resolved_url and state.resolved_kind == source.kind:
        return state.resolved_url
    return None


def _moved(source: Source, fetched: Fetched | None) -> dict[str, Any]:
    """State to remember a permanent redirect (every hop 301/308) of a feed, page or sitemap:
    later polls go straight to the new address, a request less each time (RFC 9110 15.4.2).
    An `auto` source keeps its discovered kind and follows the move the same way."""
    if fetched is None or fetched.moved_to is None or fetched.moved_to == fetched.url:
        return {}
    kind = source.kind
    if kind == "auto":
        return {"resolved_url": fetched.moved_to}
    return {"resolved_kind": kind, "resolved_url": fetched.moved_to,
            "resolved_reason": f"moved permanently from {fetched.url}"}


class _OutcomeWriter:
    """Writes polls' outcomes, gathering those that finish together into one transaction and
    one thread hop (at 64 polls at once, a hop and a transaction per 304 cost more CPU than
    the request did), with each poll's row of its source's history. Each caller still waits
    for its own write and gets its own error."""

    def __init__(self, store: Store):
        self._store = store
        self._pending: list[tuple[str, dict[str, Any], str | None, PollRecord,
                                  asyncio.Future[None]]] = []
        self._task: asyncio.Future[None] | None = None

    async def save(self, source_id: str, values: dict[str, Any], owner: str | None,
                   record: PollRecord) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((source_id, values, owner, record, future))
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())
        await future

    async def _drain(self) -> None:
        while self._pending:
            # Outcomes arrive by the hundred per second in a large poll: waiting a moment
            # gathers several into one thread hop and one transaction.
            await asyncio.sleep(limits.OUTCOME_GATHER_S)
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(
                    self._store.save_polls,
                    [(sid, values, owner) for sid, values, owner, _, _ in batch],
                    [record for *_, record, _ in batch])
            except Exception:
                # one bad write must not fail the others: write them one at a time
                for sid, values, owner, record, future in batch:
                    try:
                        await asyncio.to_thread(self._store.save_poll, sid, values,
                                                release_owner=owner, record=record)
                    except Exception as exc:
                        if not future.done():
                            future.set_exception(exc)
                    else:
                        if not future.done():
                            future.set_result(None)
                continue
            for *_, future in batch:
                if not future.done():
                    future.set_result(None)


async def candidates_for(fetcher: Fetcher, source: Source, kind: str, fetched: Fetched, *,
                         now: datetime, deadline_s: float | None = None,
                         parses: isolate.Isolator | None = None,
                         scan: bool = False) -> list[Candidate]:
    """The items a fetched listing (feed, listing page or sitemap) offers, in listing order.
    Parsed in `parses` (default: the process-wide pool), queued under the source. With
    `scan`, a feed's items may come back `identity_only` (collector.discover.feed)."""
    pool = parses or isolate.default_isolator()

    async def bounded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await pool.run(fn, *args, timeout_s=limits.EXTRACT_TIMEOUT_S,
                              queue_key=source.id, **kwargs)

    if kind == "feed":
        if scan:
            return await bounded(parse_feed, fetched.body, fetched.final_url,
                                 headers=fetched.headers, now=now, scan=True)
        return await bounded(parse_feed, fetched.body, fetched.final_url,
                             headers=fetched.headers, now=now)
    if kind == "social":
        posts = await bounded(parse_feed, fetched.body, fetched.final_url,
                              headers=fetched.headers, now=now)
        return channels.social.as_posts(posts)
    if kind == "sitemap":
        return await _sitemap_candidates(fetcher, source, fetched, deadline_s, bounded)
    if kind == "page":
        from .discover import page
        from .encoding import decode_html

        html = decode_html(fetched.content, fetched.headers.get("content-type"))
        selectors = dataclasses.asdict(source.selectors) if source.selectors else None
        return await bounded(page.find_links, html, fetched.final_url, selectors=selectors,
                             language=source.language)
    raise ParseError(f"source {source.id}: unknown kind {kind!r}")


async def _sitemap_candidates(fetcher: Fetcher, source: Source, fetched: Fetched,
                              deadline_s: float | None,
                              bounded: Callable[..., Any]) -> list[Candidate]:
    from .discover import sitemap

    result = await bounded(sitemap.parse_sitemap, fetched.body, fetched.final_url)
    out = list(result.candidates)
    for child in list(result.children)[:limits.MAX_SITEMAP_CHILDREN]:
        try:
            sub = await fetcher.fetch(child, policy=policy_for(source, expected="feed",
                                                               deadline_s=deadline_s))
        except FetchError as exc:
            log.warning("source %s: child sitemap %s: %s", source.id, child, exc)
            continue
        out.extend((await bounded(sitemap.parse_sitemap, sub.body, sub.final_url))
                   .candidates)
    # newest first when lastmod is known, so backfill takes the latest statements
    out.sort(key=lambda c: c.published or datetime.min.replace(tzinfo=UTC), reverse=True)
    return out


def _max_age(fetched: Fetched | None, now: datetime) -> float | None:
    if fetched is None:
        return None
    return decide.parse_max_age(fetched.headers, now)


def _newest_first(cands: list[Candidate]) -> list[Candidate]:
    """Dated items newest first; undated keep their listing order (feeds list newest first)."""
    if all(c.published is None for c in cands):
        return cands
    floor = datetime.min.replace(tzinfo=UTC)
    indexed = list(enumerate(cands))
    indexed.sort(key=lambda p: (p[1].published or floor, -p[0]), reverse=True)
    return [c for _, c in indexed]

