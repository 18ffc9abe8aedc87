"""Poll one source end to end.

    source ──► listing fetch (conditional GET; 304 or same body hash = nothing new)
           ──► candidates (feed | page | sitemap; `auto` resolved once and remembered)
           ──► not seen before (first poll: only `backfill` newest, marked as backfill)
           ──► filters on title/URL ──► article fetch ──► bounded extraction (feed text as
               fallback) ──► filters on text/language
           ──► dedup (same URL: unchanged/update; same text or near-duplicate: new location)
           ──► store (document + location + seen item + digest outbox in one transaction)
           ──► corpus file + index line
    finally: the source's fetch state, schedule and health are saved (failure is a result);
             a listing that crashed the parse worker on limits.QUARANTINE_AFTER polls in a
             row quarantines the source (collector.decide).

`Pipeline` holds what lives across polls (store, fetcher, corpus, the near-duplicate index);
`poll(source)` never raises for a source's own failures: it returns a PollOutcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import decide, dedup, limits, metrics
from .config import Config, Source
from .discover.feed import parse_feed
from .document import document_id, render
from .errors import CollectorError, ExtractError, FetchError, NotModified, ParseError, StoreError
from .fetch import Fetcher, FetchPolicy
from .models import Candidate, Extracted, Fetched, PollOutcome
from .store import NewDocument, SourceState, Store, StoredDocument
from .store.corpus import Corpus

log = logging.getLogger("collector.pipeline")

#: An item whose page failed this many polls in a row is given up (recorded, not retried).
MAX_ITEM_ATTEMPTS = 3


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Listing:
    """What the listing fetch produced."""

    candidates: list[Candidate]
    fetched: Fetched | None
    not_modified: bool = False
    method: str = "feed"


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


def decide_state(st: SourceState) -> decide.SourceState:
    """The stored state of a source as `collector.decide` reads it."""
    return decide.SourceState(
        etag=st.etag, last_modified=st.last_modified, body_hash=st.body_hash,
        next_poll_at=st.next_poll_at, last_poll_at=st.last_poll_at,
        last_success_at=st.last_success_at, first_failure_at=st.first_failure_at,
        consecutive_failures=st.consecutive_failures, last_error=st.last_error,
        last_error_kind=st.last_error_kind, last_items_at=st.last_items_at,
        consecutive_empty=st.consecutive_empty, consecutive_crashes=st.consecutive_crashes)


def _words(blocks: Sequence[str]) -> int:
    return sum(len(b.split()) for b in blocks)


class Pipeline:
    """Everything one worker needs to poll sources; shared by the scheduler and the CLI."""

    def __init__(self, config: Config, store: Store, fetcher: Fetcher, *,
                 clock: Callable[[], datetime] = utcnow,
                 selects: Callable[[Any, Source, Extracted, str], bool] | None = None):
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.corpus = Corpus(config.settings.documents_dir)
        self.clock = clock
        self.index = dedup.NearDuplicateIndex()
        self._indexed_seq = -1
        self._index_lock = asyncio.Lock()
        self._index_stale = False
        self._write_lock = asyncio.Lock()
        self._writer = _OutcomeWriter(store)
        self._selects = selects

    def _policy(self, source: Source, expected: str = "any") -> FetchPolicy:
        return policy_for(source, expected=expected,
                          deadline_s=self.config.settings.fetch.deadline_s)

    # -- start-up ------------------------------------------------------------------------------

    async def load_index(self) -> int:
        """Add the signatures of documents stored since the last call (all, the first time)."""
        def load() -> list[tuple[int, bytes]]:
            return list(self.store.signatures_after(self._indexed_seq))

        async with self._index_lock:
            rows = await asyncio.to_thread(load)
            if rows:
                self.index.add_many(rows)
                self._indexed_seq = max(seq for seq, _ in rows)
            return len(rows)

    async def reconcile_corpus(self) -> int:
        """Write files for documents stored but not written (a crash between the two)."""
        docs = await asyncio.to_thread(self.store.unwritten_documents)
        if not docs:
            return 0
        indexed = await asyncio.to_thread(self.corpus.indexed_ids)
        await self._write_files(docs, append_index=[d for d in docs if d.id not in indexed],
                                rewrite_index=any(d.id in indexed for d in docs))
        await self.flush_index()
        return len(docs)

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
        counts = {"new": 0, "dup": 0, "skipped": 0}
        method = None
        try:
            listing = await self._listing(source, state)
            method = listing.method
            if listing.not_modified:
                await self._save_not_modified(source, state, listing.fetched, now, owner)
                return PollOutcome(source.id, ok=True, not_modified=True, method=method,
                                   elapsed_s=time.monotonic() - started), True
            await self._process(source, state, listing.candidates, counts, now)
            await self._save_success(source, state, listing, now, owner)
            return PollOutcome(source.id, ok=True, new_documents=counts["new"],
                               duplicates=counts["dup"], skipped=counts["skipped"],
                               method=method, elapsed_s=time.monotonic() - started), True
        except (CollectorError, OSError) as exc:
            kind = getattr(exc, "kind", None) or type(exc).__name__.lower()
            message = str(exc) or type(exc).__name__
            if source.url not in message:
                message = f"{message} (polling {source.url})"
            retry_after = getattr(exc, "retry_after", None)
            saved = False
            try:
                await self._save_failure(source, state, message, kind, retry_after, now, owner)
                saved = True
            except CollectorError as store_exc:  # pragma: no cover - database gone
                log.error("source %s: could not save its failure: %s", source.id, store_exc)
            return PollOutcome(source.id, ok=False, error=message, error_kind=kind,
                               new_documents=counts["new"], duplicates=counts["dup"],
                               method=method, elapsed_s=time.monotonic() - started), saved

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
        expected = "feed" if kind in ("feed", "sitemap") else "page"
        try:
            fetched = await self.fetcher.fetch(url, etag=state.etag,
                                               last_modified=state.last_modified,
                                               policy=self._policy(source, expected))
        except NotModified:
            return Listing([], None, not_modified=True, method=kind)
        body_hash = hashlib.sha256(fetched.content).hexdigest()
        if state.body_hash == body_hash and state.polls > 0:
            # Same bytes as last time: skip parsing (some servers never answer 304).
            return Listing([], fetched, not_modified=True, method=kind)
        candidates = await self._candidates(source, kind, fetched)
        if kind == "page" and source.pagination_depth > 0 and state.polls == 0:
            candidates += await self._older_pages(source, fetched, {c.key for c in candidates})
        return Listing(candidates, fetched, method=kind)

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
                current = await self.fetcher.fetch(nxt, policy=self._policy(source, "page"))
            except FetchError as exc:
                log.info("source %s: pagination stopped at %s: %s", source.id, nxt, exc)
                break
            for c in await self._candidates(source, "page", current):
                if c.key not in known:
                    known.add(c.key)
                    out.append(c)
        return out

    async def _candidates(self, source: Source, kind: str, fetched: Fetched) -> list[Candidate]:
        return await candidates_for(self.fetcher, source, kind, fetched, now=self.clock(),
                                    deadline_s=self.config.settings.fetch.deadline_s)

    # -- items ---------------------------------------------------------------------------------

    async def _process(self, source: Source, state: SourceState, candidates: list[Candidate],
                       counts: dict[str, int], now: datetime) -> None:
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
        await self.load_index()
        started = time.monotonic()
        # the newest items first if there are too many for one poll, but stored oldest first,
        # so that sequence numbers follow publication
        for cand in reversed(fresh[:limits.MAX_NEW_ITEMS_PER_POLL]):
            if time.monotonic() - started > limits.POLL_BUDGET_S:
                # the rest stay unseen and are taken at the next poll; a poll never outlives
                # its source's lease
                log.info("source %s: poll budget spent, %d items left for the next poll",
                         source.id, len(fresh) - counts["new"] - counts["dup"]
                         - counts["skipped"])
                break
            try:
                n_new, n_dup = await self._item(source, cand, backfill=backfill)
                counts["new"] += n_new
                counts["dup"] += n_dup
            except (FetchError, ExtractError, ParseError) as exc:
                counts["skipped"] += 1
                log.warning("source %s: item %s: %s", source.id, cand.url or cand.key, exc)
                await asyncio.to_thread(self.store.mark_seen, source.id, cand.key, url=cand.url,
                                        status="failed", now=self.clock(), detail=str(exc)[:500])

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
            result = await self._store(source, cand, piece_key, url, extracted, backfill)
            new += result == "new"
            dup += result == "duplicate"
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
        if url:
            try:
                fetched = await self.fetcher.fetch(url, policy=self._policy(source, "page"))
                url = fetched.final_url
                from .encoding import decode_html

                html = decode_html(fetched.content, fetched.headers.get("content-type"))
                if source.split is None:
                    page = await self._extract(html, url, fetched.headers, source,
                                               item_title=cand.title)
            except (FetchError, ExtractError) as exc:
                page_error = exc
        if source.split is not None and html is not None:
            return await self._split(source, cand, html, url or source.url)
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
        return [(cand.key, chosen, url)]

    async def _extract(self, html: str, url: str, headers: dict[str, str],
                       source: Source, item_title: str | None = None) -> Extracted:
        """The page's extraction; `item_title` (the feed item's) stands in for a page whose
        own title is only the site's name (the source's name is one more name of the site)."""
        from . import isolate
        from .extract import extract

        return await isolate.run_bounded(extract, html, timeout_s=limits.EXTRACT_TIMEOUT_S, url=url,
                                         headers=headers,
                                         content_selector=source.content_selector,
                                         now=self.clock(), item_title=item_title,
                                         site_names=(source.name,))

    async def _split(self, source: Source, cand: Candidate, html: str, url: str
                     ) -> list[tuple[str, Extracted, str]]:
        from .split import split_document

        assert source.split is not None
        pieces = await _bounded(split_document, html, selector=source.split.selector,
                                headings=source.split.headings, url=url)
        out = []
        for frag_key, frag_html in pieces:
            extracted = await self._extract(frag_html, url, {}, source)
            frag_url = f"{url.partition('#')[0]}#part-{frag_key}"
            out.append((f"{cand.key}#{frag_key}", extracted, frag_url))
        return out

    async def _store(self, source: Source, cand: Candidate, key: str, url: str,
                     ex: Extracted, backfill: bool) -> str:
        """Deduplicate and store one extracted text; returns the dedup action taken."""
        base, _, fragment = url.partition("#")
        if fragment.startswith(("item-", "part-")):
            # a synthetic identity (a link-less feed item, one piece of a split page): the
            # fragment is part of it, and the page's declared canonical URL is not
            suffix = f"#{fragment}"
            canonical = dedup.canonical_url(base) + suffix
            ukey = ckey = dedup.url_key(base) + suffix
        else:
            canonical = dedup.canonical_url(url, declared=ex.canonical_url)
            ukey = dedup.url_key(url)
            ckey = dedup.url_key(canonical)
        text = render(ex.title, ex.blocks)
        from .document import parse as parse_document

        parsed = parse_document(text)
        title, blocks = parsed.title, parsed.blocks
        chash = dedup.content_fingerprint(title, blocks)
        sig = dedup.signature(blocks)
        now = self.clock()
        async with self._write_lock:
            await self.load_index()
            match = await asyncio.to_thread(self.store.document_by_url_key, ckey)
            if match is None and ukey != ckey:
                match = await asyncio.to_thread(self.store.document_by_url_key, ukey)
            # a URL recorded as another location of a document never rewrites its text
            by_url = match[0] if match and match[1] else None
            by_location = match[0] if match and not match[1] else None
            by_hash = await asyncio.to_thread(self.store.document_by_content_hash, chash)
            near = self.index.query(sig) if match is None and by_hash is None else []
            decision = dedup.decide(
                content_hash=chash,
                by_url=dedup.StoredMatch(by_url.seq, by_url.content_hash) if by_url else None,
                by_hash=by_hash.seq if by_hash else None, near=near,
                by_location=by_location.seq if by_location else None)
            if decision.action == "unchanged":
                known = by_url or by_location
                await asyncio.to_thread(self.store.mark_seen, source.id, key, url=url,
                                        status="duplicate", now=now, detail="unchanged",
                                        document_id=known.id if known else None)
                return "unchanged"
            if decision.action == "update":
                assert by_url is not None
                await self._update(by_url, title, text, chash, sig, blocks, ex, now)
                await asyncio.to_thread(self.store.mark_seen, source.id, key, url=url,
                                        status="duplicate", now=now, detail="updated",
                                        document_id=by_url.id)
                return "update"
            if decision.action == "duplicate":
                assert decision.doc_id is not None
                original = await asyncio.to_thread(self.store.document_by_seq, decision.doc_id)
                if original is None:  # index out of date (document removed): treat as new
                    decision = dedup.DedupDecision("new")
                else:
                    how = "exact" if by_hash is not None else "near"
                    await asyncio.to_thread(self.store.add_location, original.id,
                                            source_id=source.id, url=url, url_key=ukey, how=how,
                                            seen_key=key, now=now)
                    choice = dedup.choose_primary(
                        original.word_count, _words(blocks),
                        existing_partial=bool({"partial", "short"} & set(original.flags)),
                        incoming_partial=bool({"partial", "short"} & set(ex.flags)))
                    if choice.keep == "incoming":
                        log.info("document %s: keeping the fuller text from %s (%s)",
                                 original.id, url, choice.reason)
                        await self._update(original, title, text, chash, sig, blocks, ex, now)
                    else:
                        self._index_stale = True
                    return "duplicate"
            doc = NewDocument(
                id=document_id(canonical), source_id=source.id, url=url,
                canonical_url=canonical, url_key=ckey, title=title, text=text,
                published_at=ex.published, content_hash=chash, signature=sig,
                method=ex.method, language=ex.language, author=ex.author,
                word_count=_words(blocks), flags=ex.flags, backfill=backfill)
            digests = self._digests_for(source, ex, url)
            stored = await asyncio.to_thread(self.store.add_document, doc, seen_key=key,
                                             digests=digests, now=now, extra_url_key=ukey)
            self.index.add(stored.seq, sig)
            self._indexed_seq = max(self._indexed_seq, stored.seq)
        await self._write_files([stored], append_index=[stored], rewrite_index=False)
        log.info("source %s: new document %s %s", source.id, stored.id, title[:80])
        return "new"

    async def _update(self, doc: StoredDocument, title: str, text: str, chash: str,
                      sig: bytes, blocks: Sequence[str], ex: Extracted, now: datetime) -> None:
        updated = await asyncio.to_thread(
            self.store.update_document, doc.id, title=title, text=text, content_hash=chash,
            signature=sig, word_count=_words(blocks), method=ex.method,
            published_at=ex.published, now=now)
        self.index.add(doc.seq, sig)   # replaces the document's old signature
        await self._write_files([updated], append_index=[], rewrite_index=True)

    def _digests_for(self, source: Source, ex: Extracted, url: str) -> list[str]:
        out = []
        for digest in self.config.digests:
            if self._selects is not None:
                if self._selects(digest, source, ex, url):
                    out.append(digest.id)
                continue
            from .notify.select import selects

            if selects(digest, source_id=source.id, tags=source.tags, title=ex.title,
                       text="\n".join(ex.blocks), url=url, language=ex.language):
                out.append(digest.id)
        return out

    async def _write_files(self, docs: list[StoredDocument], *, append_index: list[StoredDocument],
                           rewrite_index: bool) -> None:
        def write() -> None:
            for d in docs:
                self.corpus.write(d.seq, d.id, d.text)
            if rewrite_index:
                # an existing line changed (an update, a new location): the whole index is
                # rewritten once at the end of the poll round, not once per change
                self._index_stale = True
            if append_index:
                locs = self.store.locations([d.id for d in append_index])
                self.corpus.append_index(self.store.index_record(d, locs[d.id])
                                         for d in append_index)
            self.store.mark_written(d.id for d in docs)

        await asyncio.to_thread(write)

    def _rewrite_index_sync(self) -> None:
        def records() -> Any:
            batch: list[StoredDocument] = []
            for doc in self.store.iter_documents():
                batch.append(doc)
                if len(batch) >= 500:
                    yield from self._records(batch)
                    batch = []
            yield from self._records(batch)

        self.corpus.rewrite_index(records())

    def _records(self, docs: list[StoredDocument]) -> list[dict[str, Any]]:
        locs = self.store.locations([d.id for d in docs])
        return [self.store.index_record(d, locs[d.id]) for d in docs]

    async def flush_index(self) -> None:
        """Rewrite index.jsonl if lines of existing documents changed since the last flush."""
        if self._index_stale:
            self._index_stale = False
            await asyncio.to_thread(self._rewrite_index_sync)

    # -- source state --------------------------------------------------------------------------

    def _interval(self, source: Source) -> float:
        return float(source.schedule.nominal_interval_s)

    async def _save(self, source: Source, before: SourceState, after: decide.SourceState,
                    now: datetime, owner: str | None, **extra: Any) -> None:
        if (source.schedule.cron and after.consecutive_failures == 0
                and after.next_poll_at is not None):
            after = dataclasses.replace(after, next_poll_at=max(after.next_poll_at,
                                                                source.schedule.next_after(now)))
        health = decide.status(after, now)
        # A shallow copy: every field is a scalar, string or datetime, and `asdict` would
        # deep-copy each datetime (about 1 % of a poll's CPU when most answers are 304s).
        values = {f.name: getattr(after, f.name) for f in _STATE_FIELDS}
        values.update(extra, health=health, polls=before.polls + 1)
        await self._writer.save(source.id, values, owner)

    async def _save_not_modified(self, source: Source, state: SourceState,
                                 fetched: Fetched | None, now: datetime,
                                 owner: str | None = None) -> None:
        after = decide.after_not_modified(
            decide_state(state), now=now, interval_s=self._interval(source), seed=source.id,
            etag=fetched.etag if fetched else None,
            last_modified=fetched.last_modified if fetched else None,
            max_age_s=_max_age(fetched, now))
        await self._save(source, state, after, now, owner, **_moved(source, fetched))
        log.debug("source %s: not modified", source.id)

    async def _save_success(self, source: Source, state: SourceState, listing: Listing,
                            now: datetime, owner: str | None = None) -> None:
        fetched = listing.fetched
        after = decide.after_success(
            decide_state(state), now=now, interval_s=self._interval(source), seed=source.id,
            candidates=len(listing.candidates),
            etag=fetched.etag if fetched else None,
            last_modified=fetched.last_modified if fetched else None,
            body_hash=hashlib.sha256(fetched.content).hexdigest() if fetched else None,
            max_age_s=_max_age(fetched, now))
        await self._save(source, state, after, now, owner, **_moved(source, fetched))

    async def _save_failure(self, source: Source, state: SourceState, message: str, kind: str,
                            retry_after: float | None, now: datetime,
                            owner: str | None = None) -> None:
        after = decide.after_failure(
            decide_state(state), now=now, interval_s=self._interval(source), seed=source.id,
            error=message, kind=kind, retry_after_s=retry_after)
        extra: dict[str, Any] = {}
        if _moved_to(source, state):
            # The new address of a permanent move failed: the next poll starts again from the
            # configured URL (which redirects again if the move still holds).
            extra = {"resolved_kind": None, "resolved_url": None, "resolved_reason": None}
        await self._save(source, state, after, now, owner, **extra)
        if decide.is_quarantined(after) and after.consecutive_crashes == limits.QUARANTINE_AFTER:
            # the poll that quarantined it (a manual poll of a quarantined source adds to the
            # count but quarantines nothing anew)
            log.warning("source %s: quarantined, %s", source.id, decide.quarantine_reason(after))
            metrics.record_quarantine(source.id)
        log.debug("source %s: poll failed (%s): %s", source.id, kind, message)


_STATE_FIELDS = dataclasses.fields(decide.SourceState)


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
    the request did). Each caller still waits for its own write and gets its own error."""

    def __init__(self, store: Store):
        self._store = store
        self._pending: list[tuple[str, dict[str, Any], str | None, asyncio.Future[None]]] = []
        self._task: asyncio.Future[None] | None = None

    async def save(self, source_id: str, values: dict[str, Any], owner: str | None) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((source_id, values, owner, future))
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
                await asyncio.to_thread(self._store.save_polls,
                                        [(sid, values, owner) for sid, values, owner, _ in batch])
            except Exception:
                # one bad write must not fail the others: write them one at a time
                for sid, values, owner, future in batch:
                    try:
                        await asyncio.to_thread(self._store.save_poll, sid, values,
                                                release_owner=owner)
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
                         now: datetime, deadline_s: float | None = None) -> list[Candidate]:
    """The items a fetched listing (feed, listing page or sitemap) offers, in listing order."""
    if kind == "feed":
        return await _bounded(parse_feed, fetched.content, fetched.final_url,
                              headers=fetched.headers, now=now)
    if kind == "sitemap":
        return await _sitemap_candidates(fetcher, source, fetched, deadline_s)
    if kind == "page":
        from .discover import page
        from .encoding import decode_html

        html = decode_html(fetched.content, fetched.headers.get("content-type"))
        selectors = dataclasses.asdict(source.selectors) if source.selectors else None
        return await _bounded(page.find_links, html, fetched.final_url, selectors=selectors)
    raise ParseError(f"source {source.id}: unknown kind {kind!r}")


async def _sitemap_candidates(fetcher: Fetcher, source: Source, fetched: Fetched,
                              deadline_s: float | None) -> list[Candidate]:
    from .discover import sitemap

    result = await _bounded(sitemap.parse_sitemap, fetched.content, fetched.final_url)
    out = list(result.candidates)
    for child in list(result.children)[:limits.MAX_SITEMAP_CHILDREN]:
        try:
            sub = await fetcher.fetch(child, policy=policy_for(source, expected="feed",
                                                               deadline_s=deadline_s))
        except FetchError as exc:
            log.warning("source %s: child sitemap %s: %s", source.id, child, exc)
            continue
        out.extend((await _bounded(sitemap.parse_sitemap, sub.content, sub.final_url))
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


async def _bounded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a parser off the event loop with a wall-time bound (a killable worker)."""
    from . import isolate

    return await isolate.run_bounded(fn, *args, timeout_s=limits.EXTRACT_TIMEOUT_S, **kwargs)
