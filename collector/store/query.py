"""Reading stored statements in sequence order, as data: for `collector export` and the JSON API.

Statements are read by sequence number, oldest first, in batches: each batch is one short read
transaction (`seq > last ORDER BY seq LIMIT n`, on the unique index on seq), so an export of any
size holds one batch in memory and never a long transaction, and a list of the API continues
from where the last page ended. The filters are the web page's (`browse.Filters`, `browse.where`):
organisations, language, and a date range on the publication date, falling back to the
collection date when a statement gives none.

Sequence numbers are committed in order: every insert draws its number by updating one counter
row (`store.newdoc.insert_new`), which PostgreSQL locks until the inserting transaction ends, and
SQLite has one writer at a time. So whoever sees number N also sees every number below N that
will ever exist, and "everything after N" loses nothing and repeats nothing, however documents
are inserted meanwhile. A document corrected in place keeps its number: reading "after N"
again does not bring back statements edited since (their `revision` and `updated` tell).

The records are index.jsonl's, built by the store's own record builder (`Store._records_in`,
the one index.jsonl is written with), so a field added there appears here too; `text` is added
last.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from . import Store, _doc_view, _iso, watch
from .browse import Filters, where
from .tables import DocumentRow, SourceRow

#: Statements read per transaction by `batches`: a few megabytes of text at the most.
BATCH = 500


def records_after(store: Store, filters: Filters, after: int | None, limit: int, *,
                  text: bool = True) -> list[dict[str, Any]]:
    """Up to `limit` index records of statements matching `filters` whose sequence number is
    above `after` (None: from the first), in sequence order, read in one transaction; with
    `text`, each record carries the statement's text as `text`."""
    if filters.empty or limit <= 0:
        return []
    q = select(DocumentRow).where(*where(filters, "published"))
    if after is not None:
        q = q.where(DocumentRow.seq > after)
    q = q.order_by(DocumentRow.seq).limit(limit)
    with store.session(read=True) as s:
        docs = [_doc_view(r) for r in s.scalars(q)]
        # the builder index.jsonl is written with (see the module's docstring)
        records = store._records_in(s, docs)
    if text:
        for doc, record in zip(docs, records, strict=True):
            record["text"] = doc.text
    return records


def batches(store: Store, filters: Filters, after: int | None = None, *, batch: int = BATCH,
            text: bool = True) -> Iterator[list[dict[str, Any]]]:
    """Every record matching `filters` after sequence number `after`, `batch` at a time."""
    while True:
        page = records_after(store, filters, after, batch, text=text)
        if not page:
            return
        yield page
        if len(page) < batch:
            return
        after = int(page[-1]["seq"])


def document_detail(store: Store, doc_id: str) -> dict[str, Any] | None:
    """One statement as the API shows it: its index record with its text; its revisions, each
    text it held, oldest first and the current one last (`store.watch.revisions`); what the
    re-checks of its address found (`watch`: null until the first check) and the transitions
    they reported (`events`). None for an unknown id."""
    with store.session(read=True) as s:
        row = s.get(DocumentRow, doc_id)
        if row is None:
            return None
        doc = _doc_view(row)
        record = store._records_in(s, [doc])[0]
    record["text"] = doc.text
    record["revisions"] = [
        {"revision": r.revision, "current": r.replaced_at is None, "updated": _iso(r.stored_at),
         "replaced": _iso(r.replaced_at), "title": r.title, "content_hash": r.content_hash,
         "text": r.text}
        for r in watch.revisions(store, doc_id)]
    seen = watch.watch_view(store, doc_id)
    record["watch"] = None if seen is None else {
        "checks": seen.checks, "last_check": _iso(seen.last_check_at),
        "next_check": _iso(seen.next_check_at), "last_result": seen.last_result,
        "vanished": _iso(seen.vanished_at),
        "evidence": None if seen.evidence is None else {
            "status": seen.evidence.status, "final_url": seen.evidence.final_url,
            "reason": seen.evidence.reason}}
    record["events"] = [{"kind": e.kind, "at": _iso(e.at), "revision": e.revision,
                         "status": e.status, "final_url": e.final_url, "reason": e.reason}
                        for e in watch.events(store, doc_id)]
    return record


def source_ids(store: Store) -> set[str]:
    """Ids of every source the store knows (configured now or once: their rows are kept)."""
    with store.session(read=True) as s:
        return {str(i) for i in s.scalars(select(SourceRow.id))}
