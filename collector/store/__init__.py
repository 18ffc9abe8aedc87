"""The only user of SQLAlchemy: engine set-up, migrations, and every query the service makes.

Rows never leave this package: callers get the frozen dataclasses of `views` (re-exported
here); the engine's set-up is in `engine`, the corpus directory in `corpus`.
Writes that belong together happen in one transaction (a new document, its location, the seen
item and its digest outbox entries), so a crash leaves either all of them or none.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Table,
    bindparam,
    case,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import StoreError
from ..models import CaptureRef, Provenance
from . import capture as _capture
from . import claims, newdoc
from . import seen as _seen
from .engine import head_revision, make_engine
from .history import append_history
from .tables import (
    ArchiveEntry,
    Counter,
    DigestState,
    DocumentRow,
    Location,
    OutboxEntry,
    SeenItem,
    SourceRow,
)
from .views import (
    EditNotice,
    Inserted,
    LocationView,
    NewDocument,
    PollRecord,
    Primary,
    SourceState,
    StoredDocument,
    VersionView,
    _doc_view,
    _state_view,
)
from .watch import keep_revision, record_edit

#: The counter that grows with every change index.jsonl shows (migration 0005).
INDEX_GENERATION = "index_generation"
#: PostgreSQL advisory lock held while migrating or registering sources at start-up, so that
#: workers starting together do not race to create the same tables and rows.
STARTUP_LOCK_KEY = 0x636F6C6C


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


_SOURCES = cast(Table, SourceRow.__table__)
_SOURCE_FIELDS = frozenset(_SOURCES.columns.keys()) - {"id", "created_at"}
class Store:
    """All database access of the service."""

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = make_engine(url)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot open database {url!r}: {exc}") from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_engine = self.engine.execution_options(collector_read=True)
        self._readers = sessionmaker(self._read_engine, expire_on_commit=False)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite has one writer at a time: this process's writer threads queue on a lock of
        # their own instead of sleeping in SQLite's busy handler (which polls with growing
        # sleeps and wastes wall time); other processes still meet busy_timeout.
        self._write_lock: threading.RLock | contextlib.nullcontext[None] = (
            threading.RLock() if self.is_sqlite else contextlib.nullcontext())

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self, *, read: bool = False) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error."""
        try:
            if read:
                with self._readers.begin() as s:
                    yield s
            else:
                with self._write_lock, self._sessions.begin() as s:
                    yield s
        except IntegrityError:
            raise
        except DBAPIError as exc:  # locked, gone, corrupt ("file is not a database"), ...
            raise StoreError(f"database error: {exc.orig}") from exc

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        """One write transaction on a bare connection (hot paths: no ORM unit of work)."""
        try:
            with self._write_lock, self.engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise
        except DBAPIError as exc:
            raise StoreError(f"database error: {exc.orig}") from exc

    # -- schema --------------------------------------------------------------------------------

    def upgrade(self) -> str:
        """Apply all pending migrations; return the revision now current.

        A database already at the head revision is recognised with one query, without
        importing alembic (most starts of `collector poll` and `collector run`).
        """
        head = head_revision()
        if head is not None and self.current_revision() == head and self._has_counter():
            return head
        return self._upgrade_with_alembic()

    def current_revision(self) -> str | None:
        """The revision recorded in `alembic_version`, or None (no table, empty)."""
        try:
            with self._read_engine.connect() as conn:
                if not self.engine.dialect.has_table(conn, "alembic_version"):
                    return None
                rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        except DBAPIError as exc:
            raise StoreError(f"database error: {exc.orig}") from exc
        return rows[0][0] if len(rows) == 1 else None

    def _has_counter(self) -> bool:
        with self.session(read=True) as s:
            return s.get(Counter, "document_seq") is not None

    def _upgrade_with_alembic(self) -> str:
        from alembic import command
        from alembic.config import Config as AlembicConfig
        from alembic.runtime.migration import MigrationContext

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self.engine.begin() as conn:
            self._startup_lock(conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        with self.engine.connect() as conn:
            rev = MigrationContext.configure(conn).get_current_revision()
        try:
            with self.session() as s:
                if s.get(Counter, "document_seq") is None:
                    top = s.scalar(select(func.max(DocumentRow.seq)))
                    s.add(Counter(name="document_seq", value=0 if top is None else top + 1))
        except IntegrityError:
            pass  # another worker created it at the same moment
        return rev or ""

    def _startup_lock(self, conn: Any) -> None:
        """PostgreSQL only: a transaction-scoped advisory lock, released at commit."""
        if not self.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": STARTUP_LOCK_KEY})

    # -- sources -------------------------------------------------------------------------------

    def sync_sources(self, sources: Iterable[Any], now: datetime) -> None:
        """Make the sources table match the configuration (rows are kept for removed ones).

        The stored rows are compared one at a time as they are read, and new rows inserted
        500 at a time: at 5,000 sources, holding every stored row, or every new row, at once
        passed through 2 MB that the heap kept for the rest of the poll."""
        table = _SOURCES
        c = table.c
        pending = {src.id: src for src in sources}
        changes: list[tuple[Any, bool]] = []   # (source, moved): rare, applied after the read
        with self._writing() as conn:
            self._startup_lock(conn)
            for row in conn.execute(select(c.id, c.name, c.url, c.kind)):
                src = pending.pop(row.id, None)
                if src is None:
                    continue
                if row.url != src.url or row.kind != src.kind:
                    changes.append((src, True))
                elif row.name != src.name:
                    changes.append((src, False))
            for src, moved in changes:
                if moved:
                    # A moved source keeps its history (id) but starts discovery afresh.
                    conn.execute(update(table).where(c.id == src.id).values(
                        url=src.url, kind=src.kind, name=src.name, resolved_kind=None,
                        resolved_url=None, resolved_reason=None, etag=None,
                        last_modified=None, body_hash=None, next_poll_at=now,
                        consecutive_crashes=0))
                else:
                    conn.execute(update(table).where(c.id == src.id).values(name=src.name))
            new = list(pending.values())
            del pending
            for i in range(0, len(new), 500):
                conn.execute(insert(table), [
                    {"id": src.id, "name": src.name, "url": src.url, "kind": src.kind,
                     "created_at": now, "next_poll_at": now, "consecutive_failures": 0,
                     "consecutive_empty": 0, "health": "new", "polls": 0}
                    for src in new[i:i + 500]])

    def claim_due(self, now: datetime, *, owner: str, lease_s: float, limit: int,
                  ids: Sequence[str], due_only: bool = True) -> list[str]:
        """Claim up to `limit` of `ids` (those due, if `due_only`) for `owner`.

        Rows another worker holds (a live lease, or a row lock on PostgreSQL) are skipped, so
        each source is polled by one worker at a time.
        """
        return [st.id for st in self.claim(now, owner=owner, lease_s=lease_s, limit=limit,
                                           ids=ids, due_only=due_only)]

    def claim(self, now: datetime, *, owner: str, lease_s: float, limit: int,
              ids: Sequence[str], due_only: bool = True) -> list[SourceState]:
        """`claim_due`, returning the claimed sources' state as read under the claim (so a
        poll needs no read of its own), in claim order."""
        if limit <= 0:
            return []
        table = _SOURCES
        c = table.c
        with self._writing() as conn:
            # failing sources first, then the earliest due (collector.store.claims)
            q = (select(table).where(claims.claimable(now, due_only=due_only))
                 .order_by(*claims.claim_key()).limit(limit)
                 .with_for_update(skip_locked=True))
            q = q.where(c.id.in_(list(ids)))
            rows = conn.execute(q).all()
            if rows:
                conn.execute(update(table).where(c.id.in_([r.id for r in rows]))
                             .values(lease_owner=owner,
                                     lease_until=now + timedelta(seconds=lease_s)))
            return [_state_view(r) for r in rows]

    def clear_leases(self, dead: Callable[[str], bool]) -> list[str]:
        """Free the leases of every owner that `dead` says is gone (a process killed while it
        held them); live owners keep theirs. The owners freed."""
        with self.session() as s:
            owners = s.scalars(select(SourceRow.lease_owner).distinct()
                               .where(SourceRow.lease_owner.is_not(None))).all()
            gone = [o for o in owners if o is not None and dead(o)]
            if gone:
                s.execute(update(SourceRow).where(SourceRow.lease_owner.in_(gone))
                          .values(lease_owner=None, lease_until=None))
            return gone

    def release(self, source_id: str, owner: str) -> None:
        table = _SOURCES
        with self._writing() as conn:
            conn.execute(update(table).where(table.c.id == source_id,
                                             table.c.lease_owner == owner)
                         .values(lease_owner=None, lease_until=None))

    def source_state(self, source_id: str) -> SourceState:
        table = _SOURCES
        try:
            with self._read_engine.connect() as conn:
                row = conn.execute(select(table).where(table.c.id == source_id)).first()
        except DBAPIError as exc:
            raise StoreError(f"database error: {exc.orig}") from exc
        if row is None:
            raise StoreError(f"unknown source {source_id!r}")
        return _state_view(row)

    def sources_in_health(self, health: str) -> list[tuple[str, str | None]]:
        """(id, last error) of the sources whose stored health is `health`: one pass over the
        sources table without the document counts, cheap enough for a health probe."""
        with self.session(read=True) as s:
            return [(r.id, r.last_error) for r in s.execute(
                select(SourceRow.id, SourceRow.last_error).where(SourceRow.health == health)
                .order_by(SourceRow.id))]

    def source_states(self) -> list[SourceState]:
        with self.session(read=True) as s:
            docs = dict(s.execute(select(DocumentRow.source_id, func.count())
                                  .group_by(DocumentRow.source_id)).all())
            dups = dict(s.execute(select(Location.source_id, func.count())
                                  .where(Location.how.not_in(("original", "alias")))
                                  .group_by(Location.source_id)).all())
            return [_state_view(r, docs.get(r.id, 0), dups.get(r.id, 0))
                    for r in s.scalars(select(SourceRow).order_by(SourceRow.id))]

    def update_source(self, source_id: str, **values: Any) -> None:
        """Write fetch/schedule/health state of one source."""
        self.save_poll(source_id, values, release_owner=None)

    def save_poll(self, source_id: str, values: dict[str, Any], *,
                  release_owner: str | None, record: PollRecord | None = None) -> None:
        """Write a poll's outcome (fetch/schedule/health state) in one UPDATE; with
        `release_owner`, the same statement frees the source's lease if that owner still
        holds it (a lease taken over by another worker after expiry is left alone). With
        `record`, the poll joins the source's history in the same transaction."""
        self.save_polls([(source_id, values, release_owner)],
                        history=[record] if record is not None else ())

    def save_polls(self, outcomes: Sequence[tuple[str, dict[str, Any], str | None]],
                   history: Sequence[PollRecord] = ()) -> None:
        """`save_poll` for several sources in one transaction (all written or none), with
        the `history` rows of those polls (`history.append_history`).

        Consecutive outcomes that set the same fields share one statement executed with many
        parameter sets: a statement per source cost more CPU than a 304 did to fetch. Order is
        kept, so a source written twice in one batch ends with its last outcome.
        """
        runs: list[tuple[tuple[tuple[str, ...], bool], list[dict[str, Any]]]] = []
        for sid, values, owner in outcomes:
            bad = set(values) - _SOURCE_FIELDS
            if bad:
                raise ValueError(f"unknown source fields: {sorted(bad)}")
            shape = (tuple(sorted(values)), owner is not None)
            params = {f"p_{k}": v for k, v in values.items()}
            params["w_id"] = sid
            if owner is not None:
                params["w_owner"] = owner
            if runs and runs[-1][0] == shape:
                runs[-1][1].append(params)
            else:
                runs.append((shape, [params]))
        if not runs and not history:
            return
        with self._writing() as conn:
            for (names, release), rows in runs:
                conn.execute(_save_template(names, release), rows)
            append_history(conn, history)

    # -- seen items ----------------------------------------------------------------------------

    def seen_keys(self, source_id: str, keys: Iterable[str], *,
                  retry_below: int = 0) -> set[str]:
        """The subset of `keys` this source has shown before.

        Items that failed fewer than `retry_below` times do not count as seen: they are tried
        again at the next poll.
        """
        return _seen.seen_keys(self, source_id, keys, retry_below=retry_below)

    def mark_seen(self, source_id: str, key: str, *, url: str | None, status: str, now: datetime,
                  detail: str | None = None, document_id: str | None = None,
                  session: Session | None = None) -> None:
        """Record (or update) what became of an item."""
        if session is None:
            with self.session() as s:
                self._mark_seen(s, source_id, key, url, status, now, detail, document_id)
        else:
            self._mark_seen(session, source_id, key, url, status, now, detail, document_id)

    @staticmethod
    def _mark_seen(s: Session, source_id: str, key: str, url: str | None, status: str,
                   now: datetime, detail: str | None, document_id: str | None) -> None:
        h = key_hash(key)
        row = s.scalar(select(SeenItem).where(SeenItem.source_id == source_id,
                                              SeenItem.key_hash == h))
        if row is None:
            s.add(SeenItem(source_id=source_id, key_hash=h, key=key[:2000], url=url,
                           first_seen_at=now, status=status, detail=detail, attempts=1,
                           document_id=document_id))
        else:
            row.status, row.detail, row.document_id = status, detail, document_id
            row.attempts = (row.attempts or 0) + 1

    def mark_seen_many(self, source_id: str, items: Sequence[tuple[str, str | None]], *,
                       status: str, now: datetime) -> None:
        """Record many items at once (a first poll's baseline), skipping those already known."""
        if not items:
            return
        known = self.seen_keys(source_id, [k for k, _ in items])
        rows = [{"source_id": source_id, "key_hash": key_hash(k), "key": k[:2000], "url": u,
                 "first_seen_at": now, "status": status, "attempts": 1}
                for k, u in dict(items).items() if k not in known]
        with self.session() as s:
            for i in range(0, len(rows), 1000):
                s.execute(insert(SeenItem), rows[i:i + 1000])

    def document_by_id(self, doc_id: str) -> StoredDocument | None:
        with self.session(read=True) as s:
            row = s.get(DocumentRow, doc_id)
            return _doc_view(row) if row else None

    def document_by_seq(self, seq: int) -> StoredDocument | None:
        with self.session(read=True) as s:
            row = s.scalar(select(DocumentRow).where(DocumentRow.seq == seq))
            return _doc_view(row) if row else None

    def signatures_after(self, seq: int) -> Iterator[tuple[int, bytes]]:
        """(sequence number, near-duplicate signature) of documents stored after `seq`."""
        with self._read_engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(
                select(DocumentRow.seq, DocumentRow.signature)
                .where(DocumentRow.seq > seq, DocumentRow.signature.is_not(None))
                .order_by(DocumentRow.seq))
            for seq_value, sig in result:
                if sig is not None:
                    yield int(seq_value), bytes(sig)

    def document_by_url_key(self, url_key: str) -> tuple[StoredDocument, bool] | None:
        """The document published under `url_key`, and whether that is its own URL (True) or
        one of its other locations (a duplicate found elsewhere: False)."""
        with self.session(read=True) as s:
            return newdoc.by_url_key(s, url_key)

    def document_by_content_hash(self, content_hash: str) -> StoredDocument | None:
        with self.session(read=True) as s:
            return newdoc.by_content_hash(s, content_hash)

    def add_document(self, doc: NewDocument, *, seen_key: str, digests: Sequence[str],
                     now: datetime, extra_url_key: str | None = None,
                     archive: bool = False) -> StoredDocument:
        """`insert_document`, returning the stored document (the new one, or the one another
        writer stored under the same id first)."""
        return self.insert_document(doc, seen_key=seen_key, digests=digests, now=now,
                                    extra_url_key=extra_url_key, archive=archive).document

    def insert_document(self, doc: NewDocument, *, seen_key: str, digests: Sequence[str],
                        now: datetime, extra_url_key: str | None = None,
                        archive: bool = False,
                        written: Sequence[tuple[str, int]] = ()) -> Inserted:
        """Insert-or-find: store a new document with its first location, seen item and outbox
        entries (created=True); or, when a document with the same id was stored by another
        writer after the caller looked (a `collector poll` beside the service, two workers),
        write nothing and return that document (created=False). `written`: (id, revision)
        of documents whose corpus files are written, marked so in the same transaction
        (`newdoc.insert_new`), unless it inserts nothing.

        The insert is `INSERT ... ON CONFLICT (id) DO NOTHING` in the dialect of the database:
        on PostgreSQL it waits for a concurrent insert of the same id to commit or roll back
        instead of failing; SQLite's writers are serialised by BEGIN IMMEDIATE. When it inserts
        nothing the whole transaction (the sequence number it drew included) is rolled back.
        """
        try:
            return newdoc.insert_new(self, doc, seen_key=seen_key, digests=digests, now=now,
                                 extra_url_key=extra_url_key, archive=archive,
                                 written=written, generation_counter=INDEX_GENERATION,
                                 key_hash=key_hash(seen_key))
        except newdoc.AlreadyStored:
            pass
        except IntegrityError as exc:
            raise StoreError(f"document {doc.id} could not be stored: {exc.orig}") from exc
        existing = self.document_by_id(doc.id)
        if existing is None:  # pragma: no cover - stored and deleted in between
            raise StoreError(f"document {doc.id} could not be stored: it was stored by "
                             "another writer and is gone again")
        return Inserted(existing, False, None)

    def lookup(self, *, after_seq: int, url_keys: Sequence[str],
               content_hash: str) -> newdoc.Found:
        """What dedup reads before it decides, in one read transaction (`newdoc.lookup`)."""
        return newdoc.lookup(self, after_seq=after_seq, url_keys=url_keys,
                             content_hash=content_hash)

    @staticmethod
    def _next_generation(s: Session) -> int:
        """+1 to the index generation, in the caller's transaction (see `index_generation`)."""
        value = s.scalar(update(Counter).where(Counter.name == INDEX_GENERATION)
                         .values(value=Counter.value + 1).returning(Counter.value))
        if value is None:  # a database upgraded by hand without 0005's row
            s.add(Counter(name=INDEX_GENERATION, value=1))
            s.flush()
            value = 1
        return int(value)

    def index_generation(self) -> int:
        """A number that grows with every committed change index.jsonl shows (a document, a
        location, a new text): the corpus records the one its index reflects, and equal
        numbers mean the index agrees with the database. One primary-key read."""
        with self.session(read=True) as s:
            row = s.get(Counter, INDEX_GENERATION)
            return int(row.value) if row is not None else 0

    @contextmanager
    def index_snapshot(self, batch: int = 500) -> Iterator[tuple[int, Iterator[dict[str, Any]]]]:
        """(index generation, index records of every document in sequence order), read in one
        snapshot of the database, so that the records show exactly that generation."""
        try:
            with self._read_engine.connect() as conn:
                if not self.is_sqlite:
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin(), Session(bind=conn) as s:
                    row = s.get(Counter, INDEX_GENERATION)
                    generation = int(row.value) if row is not None else 0

                    def records() -> Iterator[dict[str, Any]]:
                        docs: list[StoredDocument] = []
                        for r in s.scalars(select(DocumentRow).order_by(DocumentRow.seq)
                                           .execution_options(yield_per=batch)):
                            docs.append(_doc_view(r))
                            if len(docs) >= batch:
                                yield from self._records_in(s, docs)
                                docs = []
                        yield from self._records_in(s, docs)

                    yield generation, records()
        except DBAPIError as exc:
            raise StoreError(f"database error: {exc.orig}") from exc

    def _records_in(self, s: Session, docs: list[StoredDocument]) -> list[dict[str, Any]]:
        locs = self._locations_in(s, [d.id for d in docs])
        return [self.index_record(d, locs[d.id]) for d in docs]

    def add_location(self, doc_id: str, *, source_id: str, url: str, url_key: str, how: str,
                     seen_key: str, now: datetime, published_at: datetime | None = None,
                     names_key: str | None = None) -> bool:
        """Record another place `doc_id` was published; False if that place was known.

        `published_at` and `names_key` are what the page there states about itself (its date,
        and the url_key of another page it declares canonical); see `versions`."""
        with self.session() as s:
            exists = s.scalar(select(Location.id).where(Location.document_id == doc_id,
                                                        Location.url_key == url_key))
            if exists is None:
                s.add(Location(document_id=doc_id, source_id=source_id, url=url,
                               url_key=url_key, seen_at=now, how=how,
                               published_at=published_at, names_key=names_key))
            self._mark_seen(s, source_id, seen_key, url, "duplicate", now, how, doc_id)
            if exists is None:
                # last, so that concurrent writers hold the counter's row lock briefly
                self._next_generation(s)
            return exists is None

    def versions(self, doc_id: str) -> list[VersionView]:
        """What each location of `doc_id` states about itself, first seen first (aliases, the
        same page under a second URL, left out)."""
        with self.session(read=True) as s:
            return [VersionView(r.url_key, r.how, r.source_id, r.url, r.published_at,
                                r.names_key)
                    for r in s.scalars(select(Location).where(Location.document_id == doc_id,
                                                              Location.how != "alias")
                                       .order_by(Location.seen_at, Location.id))]

    def update_document(self, doc_id: str, *, title: str, text: str, content_hash: str,
                        signature: bytes | None, word_count: int, method: str,
                        published_at: datetime | None, source_id: str | None = None,
                        url: str | None = None, now: datetime,
                        primary: Primary | None = None, edit: EditNotice | None = None,
                        archive: bool = False, provenance: Provenance | None = None,
                        capture: CaptureRef | None = None) -> StoredDocument:
        """Replace the text of a document edited in place (or a fuller copy); id and seq stay.

        Only a text that differs from the stored one is a change: it moves `updated_at` and
        adds one to `revision` (so feeds show the correction as a new entry). The same text
        again changes neither.

        With `primary`, the text comes from another location of the document (the original
        publisher's copy arrived after a republished one): that location becomes the
        document's own (its URL and source are the document's, and the date it states), and
        the former own location and its aliases become an ordinary location of the kind
        `primary.demoted_how`. All in one transaction.

        The text replaced is kept as a revision (`watch.keep_revision`); with `edit` (a
        re-check found the change) an `edited` transition is recorded for its digests too.
        """
        with self.session() as s:
            # the row lock (PostgreSQL) makes concurrent changes of one document take turns,
            # so each reads the locations the one before it left (one own location, always)
            row = s.get(DocumentRow, doc_id, with_for_update=True)
            if row is None:
                raise StoreError(f"unknown document {doc_id}")
            changed = row.text != text
            if changed:
                keep_revision(s, row, now)
            row.title, row.text, row.content_hash = title, text, content_hash
            row.signature, row.word_count, row.method = signature, word_count, method
            if published_at and not row.published_at:
                row.published_at = published_at
            if source_id and url:
                row.source_id, row.url = source_id, url
            if primary is not None:
                self._promote(s, row, primary)
            if changed:
                row.updated_at = now
                row.revision = (row.revision or 1) + 1
                if edit is not None:
                    record_edit(s, row, now, reason=edit.reason, final_url=edit.final_url,
                                digests=edit.digests)
                if archive:  # the edited page is captured again
                    s.add(ArchiveEntry(document_id=row.id, revision=row.revision, url=row.url,
                                       created_at=now))
            if provenance is not None:
                _capture.set_provenance(s, row, provenance)
            if capture is not None:
                _capture.add_capture(s, doc_id, row.revision or 1, capture, now)
            row.file_written = False
            self._next_generation(s)
            return _doc_view(row)

    @staticmethod
    def _promote(s: Session, row: DocumentRow, primary: Primary) -> None:
        locations = list(s.scalars(select(Location).where(Location.document_id == row.id)))
        new_own = [loc for loc in locations if loc.url_key == primary.url_key]
        if not new_own:
            raise StoreError(f"document {row.id} has no location {primary.url_key!r}")
        for loc in locations:
            if loc.url_key == primary.url_key:
                continue
            if loc.how == "alias":
                # the former own page under a second URL; its canonical URL stays a location
                s.delete(loc)
            elif loc.how == "original":
                loc.how = primary.demoted_how
        new_own[0].how = "original"
        row.source_id, row.url = new_own[0].source_id, new_own[0].url
        row.published_at = new_own[0].published_at or row.published_at

    def mark_written(self, doc_ids: Iterable[str]) -> None:
        """Mark the corpus files of `doc_ids` written (see `newdoc.mark_written` for a mark
        that holds only for the revision written)."""
        ids = list(doc_ids)
        if ids:
            with self.session() as s:
                s.execute(update(DocumentRow).where(DocumentRow.id.in_(ids))
                          .values(file_written=True))

    def unwritten_documents(self) -> list[StoredDocument]:
        with self.session(read=True) as s:
            return [_doc_view(r) for r in s.scalars(
                select(DocumentRow).where(DocumentRow.file_written.is_(False))
                .order_by(DocumentRow.seq))]

    def iter_documents(self, batch: int = 1000) -> Iterator[StoredDocument]:
        with self._readers() as s:
            for row in s.scalars(select(DocumentRow).order_by(DocumentRow.seq)
                                 .execution_options(yield_per=batch)):
                yield _doc_view(row)

    def latest_documents(self, limit: int = 50, offset: int = 0) -> list[StoredDocument]:
        with self.session(read=True) as s:
            return [_doc_view(r) for r in s.scalars(
                select(DocumentRow).order_by(DocumentRow.seq.desc()).limit(limit)
                .offset(offset))]

    def locations(self, doc_ids: Sequence[str]) -> dict[str, list[LocationView]]:
        if not doc_ids:
            return {}
        with self.session(read=True) as s:
            return self._locations_in(s, doc_ids)

    @staticmethod
    def _locations_in(s: Session, doc_ids: Sequence[str]) -> dict[str, list[LocationView]]:
        out: dict[str, list[LocationView]] = {d: [] for d in doc_ids}
        if doc_ids:
            for row in s.scalars(select(Location).where(Location.document_id.in_(list(doc_ids)))
                                 .order_by(Location.seen_at, Location.id)):
                out[row.document_id].append(LocationView(row.source_id, row.url, row.seen_at,
                                                         row.how))
        return out

    def latest_for_feed(self, digest_id: str | None, limit: int) -> list[StoredDocument]:
        """The newest documents of a feed digest (or of all, for None), backfill excluded."""
        with self.session(read=True) as s:
            q = select(DocumentRow).where(DocumentRow.backfill.is_(False))
            if digest_id is not None:
                q = q.join(OutboxEntry, OutboxEntry.document_id == DocumentRow.id).where(
                    OutboxEntry.digest_id == digest_id)
            return [_doc_view(r) for r in s.scalars(q.order_by(DocumentRow.seq.desc())
                                                    .limit(limit))]

    def feed_fingerprint(self, limit: int) -> tuple[tuple[int, int], ...]:
        """(sequence number, revision) of the documents `latest_for_feed(None, limit)` shows:
        it changes when a document arrives or one of them is corrected, and is cheap to read
        (the newest `limit` rows by the unique index on seq)."""
        with self.session(read=True) as s:
            return tuple((int(seq), int(rev or 1)) for seq, rev in s.execute(
                select(DocumentRow.seq, DocumentRow.revision)
                .where(DocumentRow.backfill.is_(False))
                .order_by(DocumentRow.seq.desc()).limit(limit)))

    def max_seq(self) -> int | None:
        with self.session(read=True) as s:
            return s.scalar(select(func.max(DocumentRow.seq)))

    def count_documents(self) -> int:
        with self.session(read=True) as s:
            return int(s.scalar(select(func.count()).select_from(DocumentRow)) or 0)

    # -- digests -------------------------------------------------------------------------------

    def pending(self, digest_id: str) -> list[StoredDocument]:
        """Documents waiting for `digest_id`, oldest first."""
        with self.session(read=True) as s:
            rows = s.scalars(select(DocumentRow).join(
                OutboxEntry, OutboxEntry.document_id == DocumentRow.id)
                .where(OutboxEntry.digest_id == digest_id, OutboxEntry.delivered_at.is_(None))
                .order_by(DocumentRow.seq))
            return [_doc_view(r) for r in rows]

    def count_pending(self) -> dict[str, int]:
        with self.session(read=True) as s:
            return dict(s.execute(select(OutboxEntry.digest_id, func.count())
                                  .where(OutboxEntry.delivered_at.is_(None))
                                  .group_by(OutboxEntry.digest_id)).all())

    def digest_state(self, digest_id: str) -> dict[str, Any]:
        with self.session() as s:
            row = s.get(DigestState, digest_id)
            if row is None:
                row = DigestState(digest_id=digest_id, attempts=0, quarantined=False,
                                  sent_runs=0)
                s.add(row)
                s.flush()
            return {c.key: getattr(row, c.key) for c in DigestState.__table__.columns}

    def update_digest_state(self, digest_id: str, **values: Any) -> None:
        with self.session() as s:
            row = s.get(DigestState, digest_id)
            if row is None:
                s.add(DigestState(digest_id=digest_id, **{"attempts": 0, "quarantined": False,
                                                          "sent_runs": 0, **values}))
            else:
                for k, v in values.items():
                    setattr(row, k, v)

    # -- export helpers ------------------------------------------------------------------------

    def index_record(self, doc: StoredDocument, locations: list[LocationView]) -> dict[str, Any]:
        from ..document import file_name

        return {
            "file": file_name(doc.seq, doc.id),
            "id": doc.id,
            "seq": doc.seq,
            "title": doc.title,
            "source": doc.source_id,
            "url": doc.url,
            "canonical_url": doc.canonical_url,
            "published": _iso(doc.published_at),
            "collected": _iso(doc.collected_at),
            "updated": _iso(doc.updated_at),
            "revision": doc.revision,
            "content_hash": doc.content_hash,
            "method": doc.method,
            "language": doc.language,
            "author": doc.author,
            "words": doc.word_count,
            "backfill": doc.backfill,
            "flags": list(doc.flags),
            "locations": [{"source": loc.source_id, "url": loc.url, "seen": _iso(loc.seen_at),
                           "how": loc.how} for loc in locations if loc.how != "alias"],
            "provenance": _capture.provenance_record(doc.provenance),
        }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@functools.cache
def _save_template(names: tuple[str, ...], release: bool) -> Any:
    """The UPDATE of `save_polls` for one set of fields, with bound parameters `p_<field>`,
    `w_id` and (with `release`) `w_owner`: the lease is freed only if that owner holds it.
    Made once per set of fields (a few): building it and its cache key at every batch of
    outcomes cost more CPU than a batch of ten 304s took to write."""
    c = _SOURCES.c
    sets: dict[str, Any] = {k: bindparam(f"p_{k}") for k in names}
    if release:
        mine = c.lease_owner == bindparam("w_owner")
        sets["lease_owner"] = case((mine, None), else_=c.lease_owner)
        sets["lease_until"] = case((mine, None), else_=c.lease_until)
    return update(_SOURCES).where(c.id == bindparam("w_id")).values(**sets)

