"""Store one extracted text: the storing stage of a poll.

    extracted text ──► dedup (same URL: unchanged/update; same text or near-duplicate: a new
                       location, the original's text winning)
                   ──► store (document + location + seen item + digest outbox in one
                       transaction)
                   ──► corpus file + index line (index.jsonl rewritten at a round's end when
                       lines of existing documents changed)

`Storing` owns what this stage keeps across polls: the store, the corpus directory and its
writer thread, the near-duplicate index and the write lock. `Pipeline` (pipeline.py) polls
sources and hands every extracted text to `Storing.store_text`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import hashlib
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import dedup
from .capture import CaptureError, CaptureMeta, CaptureQueue, Warcs, text_hash
from .config import Config, Source
from .document import document_id, render
from .document import parse as parse_document
from .documents import items as document_items
from .errors import ParseError, StoreError
from .models import Candidate, CaptureRef, Extracted, Fetched, Provenance
from .notify.select import selects
from .store import EditNotice, LocationView, NewDocument, Primary, Store, StoredDocument, newdoc
from .store.capture import clear_files, is_known
from .store.corpus import Corpus
from .store.signatures import resign

# a poll's lines: logged under the name they always had
log = logging.getLogger("collector.pipeline")

#: Flags of a text that is not the whole statement (a feed summary, an implausibly short
#: extract): it never replaces a whole text of the same statement.
_PARTIAL = frozenset({"partial", "short"})


def _words(blocks: Sequence[str]) -> int:
    return sum(len(b.split()) for b in blocks)


def _sign_text(text: str) -> bytes:
    """The near-duplicate signature of a stored text (its body, as when it was stored)."""
    return dedup.signature(parse_document(text).blocks)


@dataclass(frozen=True)
class _Item:
    """One extracted text on its way into the store, with everything dedup needs."""

    source: Source
    cand: Candidate     # the listing's item (its other addresses: `documents.items.places`)
    key: str
    url: str
    ukey: str           # url_key of the URL fetched
    ckey: str           # url_key of its canonical URL
    names_key: str | None   # url_key of another site's page it declares canonical
    title: str
    text: str
    blocks: tuple[str, ...]
    chash: str
    sig: bytes
    ex: Extracted
    now: datetime


class Storing:
    """The storing stage, shared by every poll of a pipeline: dedup, store, corpus files."""

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], datetime],
                 selects: Callable[[Any, Source, Extracted, str], bool] | None = None):
        self.config = config
        self.store = store
        self.corpus = Corpus(config.settings.documents_dir)
        self.clock = clock
        self.index = dedup.NearDuplicateIndex()
        self._indexed_seq = -1
        self._index_lock = asyncio.Lock()
        self._sources = {s.id: s for s in config.sources}
        #: a line of an existing document changed: index.jsonl is rewritten at the round's end
        self._index_stale = False
        self._corpus_thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="corpus")
        # its thread ends with this stage (its work is always awaited before that)
        weakref.finalize(self, self._corpus_thread.shutdown, wait=False)
        self._write_lock = asyncio.Lock()
        #: (id -> revision) of new documents whose corpus files are written and durable but
        #: not yet marked so: marked by the next insert's transaction, or at the round's end
        #: (`flush_index`); a crash before that costs only rewriting those files at start-up
        self._unmarked: dict[str, int] = {}
        self._selects = selects
        capture = config.settings.capture
        #: the WARC files (None when capture is off in the settings)
        self.warcs = Warcs(config.settings.warc_dir, max_file_bytes=capture.rotate_bytes,
                           clock=clock) if capture.enabled else None
        self._captures = CaptureQueue(self.warcs) if self.warcs is not None else None

    def close_files(self) -> None:
        """End the corpus writer's thread once the last write (the index at shutdown) is done,
        and the capture thread: a stopping service then leaves no idle thread behind."""
        self._corpus_thread.shutdown(wait=True)
        self._mark_unmarked()
        if self._captures is not None:
            self._captures.close()

    # -- start-up ------------------------------------------------------------------------------

    async def load_index(self) -> int:
        """Add the signatures of documents stored since the last call (all, the first time)."""
        def load() -> list[tuple[int, bytes]]:
            return list(self.store.signatures_after(self._indexed_seq))

        async with self._index_lock:
            rows = await asyncio.to_thread(load)
            if rows:
                await self._add_to_index(rows)
                self._indexed_seq = max(seq for seq, _ in rows)
            return len(rows)

    async def _add_to_index(self, rows: list[tuple[int, bytes]]) -> None:
        """Index stored signatures; those of an older version are made again from their
        documents' texts and stored, once (`store.signatures.resign`)."""
        stale = self.index.add_many(rows)
        if stale:
            log.info("%d stored near-duplicate signatures are of an older version: making "
                     "them again from the stored texts", len(stale))
            self.index.add_many(await asyncio.to_thread(resign, self.store, stale, _sign_text))

    async def reconcile_corpus(self) -> int:
        """Repair the corpus after a stop: write the files of documents stored but not
        written (a kill between the two), and rewrite index.jsonl if it does not agree with
        the database (`flush_index`). Returns how many files were written."""
        docs = await asyncio.to_thread(self.store.unwritten_documents)
        if docs:
            await self._write_files(docs)
        if await self.flush_index(check=True):
            log.info("index.jsonl did not agree with the database: rewritten")
        return len(docs)

    def maintain_captures(self, *, recover: bool = False) -> list[str]:
        """WARC upkeep (blocking; run in a thread): with `recover` (at start-up), cut every file
        back to its last complete record; then delete the files beyond the retention, their
        pointers cleared first. Returns the names of the files deleted."""
        if self.warcs is None:
            return []
        if recover:
            for name in self.warcs.recover():
                log.warning("capture: %s ended in an incomplete record (a stop mid-write); "
                            "cut back to its last complete one", name)
        capture = self.config.settings.capture
        gone = self.warcs.prune(keep_days=capture.keep_days, keep_bytes=capture.keep_bytes,
                                clear=lambda names: clear_files(self.store, names))
        if gone:
            log.info("capture: deleted %d WARC file(s) past the retention: %s", len(gone),
                     ", ".join(gone))
        return gone

    # -- one extracted text --------------------------------------------------------------------

    async def _add_places(self, source: Source, cand: Candidate, key: str, doc_id: str,
                          url: str, ex: Extracted) -> None:
        """Record the statement's other addresses (`documents.items.places`)."""
        for place, how in document_items.places(cand, ex, url):
            try:
                place_key = dedup.url_key(place)
            except ParseError:
                continue
            await asyncio.to_thread(self.store.add_location, doc_id, source_id=source.id,
                                    url=place, url_key=place_key, how=how,
                                    seen_key=f"{key}#{how}:{place}", now=self.clock())
            self._index_stale = True   # the document's line gains a location

    async def store_text(self, source: Source, cand: Candidate, key: str, url: str,
                         ex: Extracted, backfill: bool) -> str:
        """Deduplicate and store one extracted text; returns the dedup action taken."""
        base, _, fragment = url.partition("#")
        names_key = None
        if not base.startswith(("http://", "https://")):
            # a channel's own identity (a message in a mailbox): not a web page, nothing to
            # canonicalise; its key is a digest, as short as a key column wants
            canonical = url
            ukey = ckey = "channel:" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:48]
        elif fragment.startswith(("item-", "part-")):
            # a synthetic identity (a link-less feed item, one piece of a split page): the
            # fragment is part of it, and the page's declared canonical URL is not
            suffix = f"#{fragment}"
            canonical = dedup.canonical_url(base) + suffix
            ukey = ckey = dedup.url_key(base) + suffix
        else:
            canonical = dedup.canonical_url(url, declared=ex.canonical_url)
            ukey = dedup.url_key(url)
            ckey = dedup.url_key(canonical)
            names_key = dedup.names_other(url, ex.canonical_url)
        text = render(ex.title, ex.blocks)
        parsed = parse_document(text)
        title, blocks = parsed.title, parsed.blocks
        chash, sig = dedup.fingerprints(title, blocks)
        item = _Item(source=source, cand=cand, key=key, url=url, ukey=ukey, ckey=ckey,
                     names_key=names_key, title=title, text=text, blocks=tuple(blocks),
                     chash=chash, sig=sig, ex=ex, now=self.clock())
        # A text no stored document has (by URL or by text, the usual case of a new item) is
        # captured before the write lock, so that the captures of concurrent polls overlap
        # (collector.capture syncs several in one go); a text that turns out to be stored
        # after all (another writer, a near-duplicate) leaves its records unreferenced.
        early = None
        if self._captured(item) and await asyncio.to_thread(self._looks_new, item):
            early = await self._capture(item, document_id(canonical))
        async with self._write_lock:
            # Twice at most: when another writer (a `collector poll` beside the service, a
            # second worker) stored the same document between this look-up and the insert,
            # the insert finds it, and the second pass takes it as a duplicate or an update.
            raced = False
            while True:
                action = await self._apply(item)
                if action == "unchanged" and raced:
                    # the same document stored by another writer a moment ago
                    return "duplicate"
                if action != "new":
                    return action
                doc = NewDocument(
                    id=document_id(canonical), source_id=source.id, url=url,
                    canonical_url=canonical, url_key=ckey, title=title, text=text,
                    published_at=ex.published, content_hash=item.chash, signature=item.sig,
                    method=ex.method, language=ex.language, author=ex.author,
                    word_count=_words(blocks), flags=ex.flags, backfill=backfill,
                    names_key=names_key)
                provenance, ref = early or await self._capture(item, doc.id)
                early = None
                doc = dataclasses.replace(doc, provenance=provenance, capture=ref)
                digests = self._digests_for(source, ex, url)
                written = list(self._unmarked.items())
                inserted = await asyncio.to_thread(
                    self.store.insert_document, doc, seen_key=key, digests=digests,
                    now=item.now, extra_url_key=ukey,
                    archive=self._archived(source, ex, url, digests), written=written)
                stored = inserted.document
                if inserted.created:
                    self._forget_marked(written)
                    await self._add_places(source, cand, key, stored.id, url, ex)
                    self.index.add(stored.seq, item.sig)
                    self._indexed_seq = max(self._indexed_seq, stored.seq)
                    break
                if raced:  # pragma: no cover - stored, then gone, then stored again
                    raise StoreError(f"document {doc.id} could not be stored: it keeps "
                                     "changing under another writer")
                log.info("source %s: document %s was stored by another writer first",
                         source.id, doc.id)
                raced = True
        await self._write_new(stored, inserted.generation)
        log.info("source %s: new document %s %s", source.id, stored.id, title[:80],
                 extra={"source": source.id, "document": stored.id, "url": stored.url})
        return "new"

    async def _apply(self, item: _Item) -> str:
        """Look `item` up and apply the dedup decision, except storing a new document:
        "unchanged", "update", "duplicate", or "new" (the caller inserts it)."""
        # one read: the signatures stored since the index's last refresh (by anyone), and the
        # documents under the text's URLs and with its fingerprint
        async with self._index_lock:
            found = await asyncio.to_thread(
                self.store.lookup, after_seq=self._indexed_seq, url_keys=[item.ckey, item.ukey],
                content_hash=item.chash)
            if found.signatures:
                await self._add_to_index(found.signatures)
                self._indexed_seq = max(self._indexed_seq, found.signatures[-1][0])
        match, by_hash = found.by_url, found.by_hash
        # a URL recorded as another location of a document never rewrites its text
        by_url = match[0] if match and match[1] else None
        by_location = match[0] if match and not match[1] else None
        near = self.index.query(item.sig) if match is None and by_hash is None else []
        decision = dedup.decide(
            content_hash=item.chash,
            by_url=dedup.StoredMatch(by_url.seq, by_url.content_hash) if by_url else None,
            by_hash=by_hash.seq if by_hash else None, near=near,
            by_location=by_location.seq if by_location else None)
        source, now = item.source, item.now
        if decision.action == "unchanged":
            known = by_url or by_location
            await asyncio.to_thread(self.store.mark_seen, source.id, item.key, url=item.url,
                                    status="duplicate", now=now, detail="unchanged",
                                    document_id=known.id if known else None)
            return "unchanged"
        if decision.action == "update":
            assert by_url is not None
            await self._update(by_url, item)
            await asyncio.to_thread(self.store.mark_seen, source.id, item.key, url=item.url,
                                    status="duplicate", now=now, detail="updated",
                                    document_id=by_url.id)
            return "update"
        if decision.action == "duplicate":
            assert decision.doc_id is not None
            stored = await asyncio.to_thread(self.store.document_by_seq, decision.doc_id)
            if stored is not None:
                await self._duplicate(stored, item, "exact" if by_hash is not None else "near")
                return "duplicate"
            # the index was out of date (the document is gone): stored as new
        return "new"

    async def _duplicate(self, stored: StoredDocument, item: _Item, how: str) -> None:
        """Record `item` as another location of `stored`, and let the original's text win
        (dedup.choose_original): when `item` is the original, the document takes its text and
        title as a new revision, and its location becomes the document's own."""
        versions = await asyncio.to_thread(self.store.versions, stored.id)
        self._index_stale = True   # the document's line gains a location
        await asyncio.to_thread(self.store.add_location, stored.id, source_id=item.source.id,
                                url=item.url, url_key=item.ukey, how=how, seen_key=item.key,
                                now=item.now, published_at=item.ex.published,
                                names_key=item.names_key)
        await self._add_places(item.source, item.cand, item.key, stored.id, item.url, item.ex)
        own = next((v for v in versions if v.how == "original"), None)
        own_source = own.source_id if own else stored.source_id
        keys = {dedup.url_key(stored.url)} | ({own.url_key} if own else set())
        existing = dedup.Version(
            keys=frozenset(keys), names=own.names_key if own else None,
            published=own.published_at if own else stored.published_at,
            marked_original=self._marked_original(own_source), words=stored.word_count,
            partial=bool(_PARTIAL & set(stored.flags)))
        incoming = dedup.Version(
            keys=frozenset({item.ukey, item.ckey}), names=item.names_key,
            published=item.ex.published, marked_original=item.source.original,
            words=_words(item.blocks), partial=bool(_PARTIAL & set(item.ex.flags)))
        named = {v.names_key for v in versions if v.names_key}
        choice = dedup.choose_original(existing, incoming, named=named)
        if choice.keep == "incoming":
            log.info("document %s: taking the text of %s (%s)", stored.id, item.url,
                     choice.reason)
            await self._update(stored, item, primary=Primary(url_key=item.ukey,
                                                             demoted_how=how))

    def _marked_original(self, source_id: str) -> bool:
        source = self._sources.get(source_id)
        return source is not None and source.original

    def _captured(self, item: _Item) -> bool:
        """Whether `item`'s fetch is to be written to the WARC files."""
        return self._captures_fetch(item.source, item.ex.fetched)

    def _captures_fetch(self, source: Source, fetched: Fetched | None) -> bool:
        return (fetched is not None and fetched.wire is not None
                and self._captures is not None and source.capture)

    def _looks_new(self, item: _Item) -> bool:
        """No stored document has `item`'s URL or text (blocking: run in a thread)."""
        return not is_known(self.store, sorted({item.ckey, item.ukey}), item.chash)

    async def _capture(self, item: _Item, statement_id: str
                       ) -> tuple[Provenance, CaptureRef | None]:
        """The provenance of `item`'s text, and its fetch written to the WARC files when
        capture is on (in the settings and for its source) and the text came from a fetch.
        Written before the database row that points at it (collector.capture)."""
        return await self._capture_fetch(item.source, item.ex.fetched, item.text, statement_id)

    async def _capture_fetch(self, source: Source, fetched: Fetched | None, text: str,
                             statement_id: str) -> tuple[Provenance, CaptureRef | None]:
        digest = text_hash(text)
        ref = None
        if self._captures_fetch(source, fetched):
            assert fetched is not None and fetched.wire is not None \
                and self._captures is not None
            meta = CaptureMeta(source_id=source.id, requested_url=fetched.url,
                               statement_id=statement_id, text_hash=digest)
            try:
                ref = await self._captures.write(fetched.wire, meta)
            except CaptureError as exc:
                log.warning("source %s: %s; the statement is stored without it",
                            source.id, exc)
        if fetched is None:
            return Provenance(text_hash=digest), None
        return Provenance(text_hash=digest, requested_url=fetched.url,
                          final_url=fetched.final_url, status=fetched.status,
                          fetched_at=fetched.fetched_at,
                          warc_record_id=ref.response_id if ref else None), ref

    async def _update(self, doc: StoredDocument, item: _Item, *,
                      primary: Primary | None = None) -> None:
        ex = item.ex
        provenance, ref = await self._capture(item, doc.id)
        updated = await asyncio.to_thread(
            self.store.update_document, doc.id, title=item.title, text=item.text,
            content_hash=item.chash, signature=item.sig, word_count=_words(item.blocks),
            method=ex.method, published_at=ex.published, now=item.now, primary=primary,
            archive=self._archived(item.source, ex, item.url),
            provenance=provenance, capture=ref)
        self.index.add(doc.seq, item.sig)   # replaces the document's old signature
        # the document's line in index.jsonl changed: rewritten at the end of the round
        self._index_stale = True
        await self._write_files([updated])

    def text_of(self, ex: Extracted) -> str:
        """The stored form of an extracted text (as `store_text` would store it)."""
        return render(ex.title, ex.blocks)

    async def revise(self, doc: StoredDocument, ex: Extracted, *,
                     edit: EditNotice | None = None) -> StoredDocument | None:
        """Take `ex` as the new text of `doc` found at its own address (a re-check,
        collector.watch): a new revision through the same update as a poll's, with `edit`
        recorded beside it. Like a poll's new text, the fetch it came from is captured (its
        provenance replaces the old one) and, when the source archives, the edited page goes to
        the archive again. None when the text is the one stored."""
        text = render(ex.title, ex.blocks)
        if text == doc.text:
            return None
        parsed = parse_document(text)
        source = self._sources.get(doc.source_id)
        provenance, ref = (await self._capture_fetch(source, ex.fetched, text, doc.id)
                           if source is not None else (None, None))
        archive = source is not None and self._archived(source, ex, doc.url)
        chash, sig = dedup.fingerprints(parsed.title, parsed.blocks)
        async with self._write_lock:
            updated = await asyncio.to_thread(
                self.store.update_document, doc.id, title=parsed.title, text=text,
                content_hash=chash, signature=sig, word_count=_words(parsed.blocks),
                method=ex.method, published_at=ex.published, now=self.clock(), edit=edit,
                archive=archive, provenance=provenance, capture=ref)
            if updated.signature is not None:
                self.index.add(doc.seq, updated.signature)
            self._index_stale = True
            await self._write_files([updated])
        return updated

    def _archived(self, source: Source, ex: Extracted, url: str,
                  digests: list[str] | None = None) -> bool:
        """Whether this statement goes to the Wayback Machine: its source says
        `archive: wayback`, or a digest that selects it does."""
        if not url.startswith(("http://", "https://")):
            return False   # a mail or a channel post has no page the archive could fetch
        if source.archive == "wayback":
            return True
        archiving = {d.id for d in self.config.digests if d.archive == "wayback"}
        if not archiving:
            return False
        if digests is None:
            digests = self._digests_for(source, ex, url)
        return bool(archiving.intersection(digests))

    def _digests_for(self, source: Source, ex: Extracted, url: str) -> list[str]:
        out = []
        for digest in self.config.digests:
            if self._selects is not None:
                if self._selects(digest, source, ex, url):
                    out.append(digest.id)
                continue
            if selects(digest, source_id=source.id, tags=source.tags, title=ex.title,
                       text="\n".join(ex.blocks), url=url, language=ex.language):
                out.append(digest.id)
        return out

    async def _write_files(self, docs: list[StoredDocument], *,
                           appended: Sequence[tuple[StoredDocument, int | None]] = ()) -> None:
        """Write the corpus files of `docs`, and append the index lines of new documents
        (with the index generation of their insert). A changed line of an existing document
        (an update, a new location) is left to `flush_index` at the end of the round."""
        def write() -> None:
            for d in docs:
                self.corpus.write(d.seq, d.id, d.text)
            if appended:
                locs = self.store.locations([d.id for d, _ in appended])
                for d, generation in appended:
                    self.corpus.append_index([self.store.index_record(d, locs[d.id])],
                                             generation)
            self.store.mark_written(d.id for d in docs)

        await self._in_corpus_thread(write)

    async def _write_new(self, doc: StoredDocument, generation: int | None) -> None:
        """Write the corpus file of a document just inserted and append its index line (with
        the index generation of its insert). Its line shows it as inserted: with its own
        location alone (an alias is not shown; locations added after the insert have
        generations of their own, and make the round end rewrite the index). The file is
        marked written later (`_unmarked`), once it is durable."""
        def write() -> None:
            self.corpus.write(doc.seq, doc.id, doc.text)
            own = LocationView(doc.source_id, doc.url, doc.collected_at, "original")
            self.corpus.append_index([self.store.index_record(doc, [own])], generation)

        await self._in_corpus_thread(write)
        self._unmarked[doc.id] = doc.revision

    def _forget_marked(self, written: Sequence[tuple[str, int]]) -> None:
        for doc_id, revision in written:
            if self._unmarked.get(doc_id) == revision:
                del self._unmarked[doc_id]

    def _mark_unmarked(self) -> None:
        """Mark the files of `_unmarked` written (blocking)."""
        written = list(self._unmarked.items())
        if written:
            newdoc.mark_written(self.store, written)
            self._forget_marked(written)

    async def _in_corpus_thread(self, fn: Callable[[], Any]) -> Any:
        """Run corpus writing on this stage's own thread: writes to the corpus directory
        take turns there (and wait there for another process's rewrite of the index), so the
        shared thread pool stays free for the database work of the other polls."""
        return await asyncio.get_running_loop().run_in_executor(self._corpus_thread, fn)

    def _flush_index_sync(self, *, check: bool) -> bool:
        if check:
            generation = self.store.index_generation()
            if self.corpus.agrees(generation):
                self.corpus.adopt_empty(generation)
                return False
        with self.store.index_snapshot() as (generation, records):
            self.corpus.rewrite_index(records, generation)
        return True

    async def flush_index(self, *, check: bool = False) -> bool:
        """Rewrite index.jsonl (in full, atomically, from one database snapshot) when lines of
        existing documents changed since the last flush (an update, a new location), or, with
        `check` (at start-up), when it does not show what the database holds: a process was
        killed before its rewrite, or the index was cut or lost. Telling that costs a counter
        read and a small file read, whatever the size of the corpus. True if it rewrote.

        Only this process's changes make a round end rewrite: processes sharing a data
        directory each rewrite after their own, instead of all rewriting after every
        other's."""
        if self._unmarked:
            written = list(self._unmarked.items())
            await self._in_corpus_thread(functools.partial(newdoc.mark_written, self.store,
                                                           written))
            self._forget_marked(written)
        stale, self._index_stale = self._index_stale, False
        if not (stale or check):
            return False
        try:
            return await self._in_corpus_thread(functools.partial(
                self._flush_index_sync, check=check and not stale))
        except BaseException:
            self._index_stale = self._index_stale or stale
            raise
