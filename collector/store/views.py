"""The frozen views the store hands to callers (rows never leave collector.store), and what
callers hand it to store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models import CaptureRef, Provenance
from .tables import DocumentRow


@dataclass(frozen=True)
class PollRecord:
    """One poll of a source as its health history keeps it. `error` is the raw error (the
    store keeps its first `POLL_HISTORY_ERROR_CHARS` characters); `elapsed_s` the poll's
    duration by the pipeline's clock."""

    source_id: str
    polled_at: datetime
    ok: bool
    not_modified: bool = False
    error_kind: str | None = None
    error: str | None = None
    new_documents: int = 0
    duplicates: int = 0
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class SourceState:
    id: str
    name: str
    url: str
    kind: str
    resolved_kind: str | None
    resolved_url: str | None
    resolved_reason: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_poll_at: datetime | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_items_at: datetime | None
    first_failure_at: datetime | None
    consecutive_failures: int
    consecutive_empty: int
    last_error: str | None
    last_error_kind: str | None
    health: str
    polls: int
    documents: int = 0
    duplicates: int = 0
    consecutive_crashes: int = 0


@dataclass(frozen=True)
class StoredDocument:
    id: str
    seq: int
    source_id: str
    url: str
    canonical_url: str
    title: str
    text: str
    published_at: datetime | None
    collected_at: datetime
    updated_at: datetime
    content_hash: str
    method: str
    language: str | None
    author: str | None
    word_count: int
    backfill: bool
    flags: tuple[str, ...]
    signature: bytes | None = None
    #: 1 when first stored, +1 each time the stored text changed in place
    revision: int = 1
    #: how the stored text was obtained (None for documents stored before it was recorded)
    provenance: Provenance | None = None


@dataclass(frozen=True)
class LocationView:
    source_id: str
    url: str
    seen_at: datetime
    how: str


@dataclass(frozen=True)
class VersionView:
    """What one location of a document states about itself (for the choice of the original)."""

    url_key: str
    how: str
    source_id: str
    url: str
    published_at: datetime | None
    #: url_key of another page this location's page declares canonical
    names_key: str | None


@dataclass(frozen=True)
class Primary:
    """The location whose text a document now shows, and what its former own location
    becomes ("exact" or "near")."""

    url_key: str
    demoted_how: str


@dataclass(frozen=True)
class Inserted:
    """What `Store.insert_document` did: the document, whether this call stored it, and the
    index generation of that change (None when another writer had stored it)."""

    document: StoredDocument
    created: bool
    generation: int | None


@dataclass(frozen=True)
class NewDocument:
    """Everything the pipeline knows about a document it wants stored."""

    id: str
    source_id: str
    url: str
    canonical_url: str
    url_key: str
    title: str
    text: str
    published_at: datetime | None
    content_hash: str
    signature: bytes | None
    method: str
    language: str | None
    author: str | None
    word_count: int
    flags: tuple[str, ...]
    backfill: bool
    #: url_key of another page the page declares canonical (it says it is a copy of that one)
    names_key: str | None = None
    #: how the text was obtained, and where its fetch was captured (collector.capture)
    provenance: Provenance | None = None
    capture: CaptureRef | None = None


def _doc_view(row: DocumentRow) -> StoredDocument:
    return StoredDocument(
        id=row.id, seq=row.seq, source_id=row.source_id, url=row.url,
        canonical_url=row.canonical_url, title=row.title, text=row.text,
        published_at=row.published_at, collected_at=row.collected_at, updated_at=row.updated_at,
        content_hash=row.content_hash, method=row.method, language=row.language,
        author=row.author, word_count=row.word_count, backfill=row.backfill,
        flags=tuple(f for f in (row.flags or "").split(",") if f), signature=row.signature,
        revision=row.revision or 1,
        provenance=None if row.text_hash is None else Provenance(
            text_hash=row.text_hash, requested_url=row.fetch_url,
            final_url=row.fetch_final_url, status=row.fetch_status, fetched_at=row.fetched_at,
            warc_record_id=row.warc_record_id),
    )


def _state_view(row: Any, documents: int = 0, duplicates: int = 0) -> SourceState:
    return SourceState(
        id=row.id, name=row.name, url=row.url, kind=row.kind, resolved_kind=row.resolved_kind,
        resolved_url=row.resolved_url, resolved_reason=row.resolved_reason, etag=row.etag,
        last_modified=row.last_modified, body_hash=row.body_hash, next_poll_at=row.next_poll_at,
        last_poll_at=row.last_poll_at, last_success_at=row.last_success_at,
        last_items_at=row.last_items_at, first_failure_at=row.first_failure_at,
        consecutive_failures=row.consecutive_failures or 0,
        consecutive_empty=row.consecutive_empty or 0, last_error=row.last_error,
        consecutive_crashes=row.consecutive_crashes or 0,
        last_error_kind=row.last_error_kind, health=row.health or "new", polls=row.polls or 0,
        documents=documents, duplicates=duplicates,
    )


@dataclass(frozen=True)
class EditNotice:
    """A change of text a re-check found (collector.watch): `Store.update_document` records it
    as an `edited` transition for `digests`, in the transaction of the new revision."""

    reason: str
    final_url: str | None = None
    digests: tuple[str, ...] = ()
