"""A new document's write, and the reads the storing stage makes before it decides.

`insert_new` writes the document row, its own location (and the URL fetched, as an alias), its
seen item, its digest and archive outbox entries, its capture and both counters in one
transaction on a bare connection: the ORM's unit of work cost more CPU than the statements
themselves (docs/benchmarks-poll.md, Profile). The same transaction marks the corpus files of
earlier documents written (`written`), so that a file written needs no transaction of its own.

`lookup` reads, in one read transaction, what dedup needs: the signatures stored since the
near-duplicate index was last refreshed, the document under one of the text's URL keys, and
the first document with its content fingerprint.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from ..errors import StoreError
from . import capture as _capture
from .tables import (
    ArchiveEntry,
    CaptureRow,
    Counter,
    DocumentRow,
    Location,
    OutboxEntry,
    SeenItem,
)
from .views import Inserted, NewDocument, StoredDocument, _doc_view

if TYPE_CHECKING:  # the Store imports this module
    from . import Store

_DOCS = cast(Table, DocumentRow.__table__)
_LOCATIONS = cast(Table, Location.__table__)
_SEEN = cast(Table, SeenItem.__table__)
_OUTBOX = cast(Table, OutboxEntry.__table__)
_ARCHIVE = cast(Table, ArchiveEntry.__table__)
_CAPTURES = cast(Table, CaptureRow.__table__)
_COUNTERS = cast(Table, Counter.__table__)

#: Marks a document's file written, for the revision whose text the file holds: a document
#: changed since (a new text, its file not yet written) stays unwritten.
_MARK = (update(_DOCS).where(_DOCS.c.id == bindparam("w_id"),
                             _DOCS.c.revision == bindparam("w_revision"))
         .values(file_written=True))


#: +1 to the counter `c_name`, returning its new value
_BUMP = (update(_COUNTERS).where(_COUNTERS.c.name == bindparam("c_name"))
         .values(value=_COUNTERS.c.value + 1).returning(_COUNTERS.c.value))


class AlreadyStored(Exception):
    """Raised inside the insert's transaction to roll it back: the document exists already."""


@functools.cache
def _statements(sqlite: bool) -> tuple[Any, Any]:
    """The insert of a document row (nothing when its id exists; returning the id) and the
    upsert of a seen item, in the dialect of the database; made once, executed with the
    values as parameters (a statement made with its values costs more CPU to make and to
    look up in SQLAlchemy's cache than it takes to run)."""
    dialect_insert: Any = sqlite_insert
    if not sqlite:
        # imported here: the PostgreSQL dialect costs a SQLite process 2.3 MB resident
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        dialect_insert = pg_insert
    doc = dialect_insert(_DOCS).on_conflict_do_nothing(index_elements=["id"]) \
        .returning(_DOCS.c.id)
    seen = dialect_insert(_SEEN)
    seen = seen.on_conflict_do_update(
        index_elements=["source_id", "key_hash"],
        set_={"status": seen.excluded.status, "detail": seen.excluded.detail,
              "document_id": seen.excluded.document_id,
              "attempts": func.coalesce(_SEEN.c.attempts, 0) + 1})
    return doc, seen


def bump(conn: Any, name: str) -> int | None:
    """+1 to the counter `name` in the caller's transaction; its new value (None: no row)."""
    value = conn.execute(_BUMP, {"c_name": name}).scalar()
    return None if value is None else int(value)


def insert_new(store: Store, doc: NewDocument, *, seen_key: str, digests: Sequence[str],
           now: datetime, extra_url_key: str | None, archive: bool,
           written: Sequence[tuple[str, int]], generation_counter: str,
           key_hash: str) -> Inserted:
    """`Store.insert_document` (see there), with the files of `written` ((id, revision)
    pairs) marked written in the same transaction. Raises AlreadyStored (nothing written,
    the marks included) when another writer stored the document first."""
    insert_doc, upsert_seen = _statements(store.is_sqlite)
    with store._writing() as conn:
        seq = bump(conn, "document_seq")
        if seq is None:
            top = conn.execute(select(func.max(_DOCS.c.seq))).scalar()
            seq = 1 if top is None else top + 2
            conn.execute(insert(_COUNTERS).values(name="document_seq", value=seq))
        seq -= 1
        values = dict(
            id=doc.id, seq=seq, source_id=doc.source_id, url=doc.url,
            canonical_url=doc.canonical_url, title=doc.title, text=doc.text,
            published_at=doc.published_at, collected_at=now, updated_at=now,
            content_hash=doc.content_hash, signature=doc.signature, method=doc.method,
            language=doc.language, author=doc.author, word_count=doc.word_count,
            flags=",".join(doc.flags) or None, backfill=doc.backfill, file_written=False,
            revision=1, **_capture.provenance_values(doc.provenance))
        inserted = conn.execute(insert_doc, values).scalar()
        if inserted is None:
            raise AlreadyStored
        locations = [dict(document_id=doc.id, source_id=doc.source_id, url=doc.url,
                          url_key=doc.url_key, seen_at=now, how="original",
                          published_at=doc.published_at, names_key=doc.names_key)]
        if extra_url_key and extra_url_key != doc.url_key:
            # the URL fetched, when the page named another canonical URL
            locations.append(dict(document_id=doc.id, source_id=doc.source_id, url=doc.url,
                                  url_key=extra_url_key, seen_at=now, how="alias",
                                  published_at=None, names_key=None))
        conn.execute(insert(_LOCATIONS), locations)
        conn.execute(upsert_seen, dict(
            source_id=doc.source_id, key_hash=key_hash, key=seen_key[:2000], url=doc.url,
            first_seen_at=now, status="document", detail=None, attempts=1,
            document_id=doc.id))
        if not doc.backfill and digests:
            conn.execute(insert(_OUTBOX), [dict(digest_id=d, document_id=doc.id,
                                                created_at=now, revision=1) for d in digests])
        if archive:  # to the Wayback Machine (store/archive.py)
            conn.execute(insert(_ARCHIVE), dict(document_id=doc.id, revision=1, url=doc.url,
                                                created_at=now, attempts=0))
        if doc.capture is not None:
            ref = doc.capture
            conn.execute(insert(_CAPTURES), dict(
                document_id=doc.id, revision=1, captured_at=now, warc_file=ref.file,
                warc_offset=ref.offset, warc_length=ref.length,
                response_id=ref.response_id, request_id=ref.request_id,
                metadata_id=ref.metadata_id))
        if written:
            conn.execute(_MARK, [{"w_id": i, "w_revision": r} for i, r in written])
        # last, so that concurrent writers hold the counter's row lock briefly
        generation = bump(conn, generation_counter)
        if generation is None:  # a database upgraded by hand without 0005's row
            conn.execute(insert(_COUNTERS).values(name=generation_counter, value=1))
            generation = 1
        # the row as stored, viewed without making an ORM object of it
        return Inserted(_doc_view(cast(DocumentRow, SimpleNamespace(**values))), True,
                        generation)


def mark_written(store: Store, written: Sequence[tuple[str, int]]) -> None:
    """Mark the files of `written` ((id, revision) pairs) written, each for that revision."""
    if written:
        with store._writing() as conn:
            conn.execute(_MARK, [{"w_id": i, "w_revision": r} for i, r in written])


@dataclass(frozen=True)
class Found:
    """What `lookup` read."""

    #: (seq, signature) of documents stored after the seq asked for, in seq order
    signatures: list[tuple[int, bytes]]
    #: the document under the first of the URL keys that has one, and whether that is its
    #: own URL (True) or one of its other locations (False)
    by_url: tuple[StoredDocument, bool] | None
    #: the first document stored with the content fingerprint
    by_hash: StoredDocument | None


_SIGNATURES = (select(_DOCS.c.seq, _DOCS.c.signature)
               .where(_DOCS.c.seq > bindparam("after"), _DOCS.c.signature.is_not(None))
               .order_by(_DOCS.c.seq))
_AT_KEY = select(_LOCATIONS.c.document_id, _LOCATIONS.c.how) \
    .where(_LOCATIONS.c.url_key == bindparam("key"))
_BY_ID = select(_DOCS).where(_DOCS.c.id == bindparam("id"))
_BY_HASH = select(_DOCS).where(_DOCS.c.content_hash == bindparam("hash")) \
    .order_by(_DOCS.c.seq).limit(1)


def by_url_key(conn: Any, url_key: str) -> tuple[StoredDocument, bool] | None:
    """`Store.document_by_url_key` on the caller's connection (or session)."""
    rows = conn.execute(_AT_KEY, {"key": url_key}).all()
    if not rows:
        return None
    own = [doc_id for doc_id, how in rows if how in ("original", "alias")]
    doc_id = own[0] if own else rows[0][0]
    row = conn.execute(_BY_ID, {"id": doc_id}).first()
    return (_doc_view(row), bool(own)) if row else None


def by_content_hash(conn: Any, content_hash: str) -> StoredDocument | None:
    """`Store.document_by_content_hash` on the caller's connection (or session)."""
    row = conn.execute(_BY_HASH, {"hash": content_hash}).first()
    return _doc_view(row) if row else None


def lookup(store: Store, *, after_seq: int, url_keys: Sequence[str],
           content_hash: str) -> Found:
    """The signatures stored after `after_seq`, the document under the first of `url_keys`
    that has one, and the document with `content_hash`: one read transaction."""
    try:
        with store._read_engine.connect() as conn:
            signatures = [(int(seq), bytes(sig)) for seq, sig in
                          conn.execute(_SIGNATURES, {"after": after_seq}) if sig is not None]
            found = None
            for key in dict.fromkeys(url_keys):
                found = by_url_key(conn, key)
                if found is not None:
                    break
            return Found(signatures, found, by_content_hash(conn, content_hash))
    except DBAPIError as exc:
        raise StoreError(f"database error: {exc.orig}") from exc
