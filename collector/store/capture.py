"""The store's side of capture and provenance: a document's provenance columns, the pointers
into the WARC files (`captures`), and clearing them when retention deletes a file. The files
themselves are collector.capture's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, exists, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..errors import StoreError
from ..models import CaptureRef, Provenance
from .tables import CaptureRow, DocumentRow, Location

if TYPE_CHECKING:  # the Store imports this module
    from . import Store


@dataclass(frozen=True)
class CaptureView:
    """One captured fetch of a document's text; `file` is None once retention deleted it."""

    document_id: str
    revision: int
    captured_at: datetime
    file: str | None
    offset: int | None
    length: int | None
    response_id: str

    @property
    def pointer(self) -> tuple[str, int, int] | None:
        if self.file is None or self.offset is None or self.length is None:
            return None
        return self.file, self.offset, self.length


def provenance_values(p: Provenance | None) -> dict[str, Any]:
    """The documents columns of a provenance (all None without one)."""
    return {"fetch_url": p.requested_url if p else None,
            "fetch_final_url": p.final_url if p else None,
            "fetch_status": p.status if p else None,
            "fetched_at": p.fetched_at if p else None,
            "warc_record_id": p.warc_record_id if p else None,
            "text_hash": p.text_hash if p else None}


def add_capture(s: Session, doc_id: str, revision: int, ref: CaptureRef,
                now: datetime) -> None:
    """Record a capture in the caller's transaction (the one storing the text it shows)."""
    s.add(CaptureRow(document_id=doc_id, revision=revision, captured_at=now,
                     warc_file=ref.file, warc_offset=ref.offset, warc_length=ref.length,
                     response_id=ref.response_id, request_id=ref.request_id,
                     metadata_id=ref.metadata_id))


def _view(r: CaptureRow) -> CaptureView:
    return CaptureView(document_id=r.document_id, revision=r.revision,
                       captured_at=r.captured_at, file=r.warc_file, offset=r.warc_offset,
                       length=r.warc_length, response_id=r.response_id)


def captures(store: Store, doc_ids: Sequence[str] | None = None) -> list[CaptureView]:
    """The captures of `doc_ids` (of every document with None), oldest first."""
    q = select(CaptureRow).order_by(CaptureRow.id)
    with store.session(read=True) as s:
        if doc_ids is None:
            return [_view(r) for r in s.scalars(q)]
        out: list[CaptureView] = []
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            out += [_view(r) for r in s.scalars(
                q.where(CaptureRow.document_id.in_(ids[i:i + 500])))]
        return sorted(out, key=lambda c: (c.captured_at, c.document_id, c.revision))


def latest(store: Store, doc_id: str) -> CaptureView | None:
    """The capture of the document's current text, if it was captured."""
    with store.session(read=True) as s:
        row = s.scalars(select(CaptureRow).where(CaptureRow.document_id == doc_id)
                        .order_by(CaptureRow.id.desc()).limit(1)).first()
        return _view(row) if row is not None else None


def clear_files(store: Store, names: Sequence[str]) -> int:
    """Drop the pointers into the files `names` (deleted by retention); rows and record ids
    stay. Returns how many pointers were cleared."""
    if not names:
        return 0
    with store.session() as s:
        result = s.execute(update(CaptureRow).where(CaptureRow.warc_file.in_(list(names)))
                           .values(warc_file=None, warc_offset=None, warc_length=None))
        return int(getattr(result, "rowcount", 0) or 0)


def provenance_record(p: Provenance | None) -> dict[str, Any] | None:
    """A provenance as index.jsonl (and whatever else shows index records) gives it."""
    if p is None:
        return None
    fetched = None
    if p.fetched_at is not None:
        fetched = p.fetched_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {"requested_url": p.requested_url, "final_url": p.final_url,
            "status": p.status, "fetched": fetched, "warc_record_id": p.warc_record_id,
            "text_hash": p.text_hash}


#: a location with one of two URL keys, or a document with the text: one statement, made
#: once (an expanding IN is compiled anew at every execution)
_KNOWN = select(or_(
    exists().where(Location.url_key.in_([bindparam("key1"), bindparam("key2")])),
    exists().where(DocumentRow.content_hash == bindparam("hash"))))


def is_known(store: Store, url_keys: Sequence[str], content_hash: str) -> bool:
    """Whether a stored document has one of `url_keys` (as any of its locations) or the text
    `content_hash`: one read, for the choice of capturing a text before the write lock."""
    keys = list(url_keys) or [""]
    pairs = [(keys[i], keys[min(i + 1, len(keys) - 1)]) for i in range(0, len(keys), 2)]
    try:
        with store._read_engine.connect() as conn:
            return any(conn.execute(_KNOWN, {"key1": a, "key2": b, "hash": content_hash})
                       .scalar() for a, b in pairs)
    except DBAPIError as exc:
        raise StoreError(f"database error: {exc.orig}") from exc


def set_provenance(s: Session, row: DocumentRow, p: Provenance | None) -> None:
    for key, value in provenance_values(p).items():
        setattr(row, key, value)
