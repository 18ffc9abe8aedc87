"""SQLAlchemy 2 table definitions. Only collector.store imports this module.

Portable SQL only: everything here runs on SQLite and PostgreSQL alike. Times are stored as
naive UTC and handed out as aware UTC datetimes (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SourceRow(Base):
    """A source and its fetch state. Schedule state lives here and nowhere else."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # what auto-discovery chose (kind and URL actually polled), and why
    resolved_kind: Mapped[str | None] = mapped_column(String(16))
    resolved_url: Mapped[str | None] = mapped_column(Text)
    resolved_reason: Mapped[str | None] = mapped_column(Text)
    # conditional GET and change detection
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # schedule and health
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_items_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_empty: Mapped[int] = mapped_column(Integer, default=0)
    # polls in a row whose listing crashed the parse worker (quarantine at QUARANTINE_AFTER)
    consecutive_crashes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_kind: Mapped[str | None] = mapped_column(String(32))
    health: Mapped[str] = mapped_column(String(16), default="new")
    polls: Mapped[int] = mapped_column(Integer, default=0)
    # claim by one worker at a time (lease expires if the worker dies)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PollRow(Base):
    """One poll of a source and what came of it: the source's health history. Written with
    the poll's outcome, in the same transaction; only the latest `POLL_HISTORY_PER_SOURCE`
    rows of each source are kept."""

    __tablename__ = "poll_history"
    __table_args__ = (Index("ix_poll_history_source_id_id", "source_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    polled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    not_modified: Mapped[bool] = mapped_column(Boolean, default=False)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    new_documents: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    elapsed_s: Mapped[float] = mapped_column(Float, default=0.0)


class SeenItem(Base):
    """An item a source has shown us, whatever became of it (document, duplicate, filtered…)."""

    __tablename__ = "seen_items"
    __table_args__ = (UniqueConstraint("source_id", "key_hash"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))   # document|duplicate|filtered|failed|…
    detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    document_id: Mapped[str | None] = mapped_column(String(16))


class DocumentRow(Base):
    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    method: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    flags: Mapped[str | None] = mapped_column(Text)
    backfill: Mapped[bool] = mapped_column(Boolean, default=False)
    file_written: Mapped[bool] = mapped_column(Boolean, default=False)
    # 1 when first stored, +1 each time the stored text changes in place (an edit at the same
    # URL, a fuller copy replacing it): feed entries of a corrected statement get new ids
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # provenance of the stored text (migration 0007; docs/evidence.md): the fetch it came
    # from, the WARC response record of its capture, and the SHA-256 of the text
    fetch_url: Mapped[str | None] = mapped_column(Text)
    fetch_final_url: Mapped[str | None] = mapped_column(Text)
    fetch_status: Mapped[int | None] = mapped_column(Integer)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warc_record_id: Mapped[str | None] = mapped_column(String(80))
    text_hash: Mapped[str | None] = mapped_column(String(80))


class Location(Base):
    """A place a document was published: its own first URL, and every duplicate found later."""

    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("document_id", "url_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                             index=True)
    source_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    how: Mapped[str] = mapped_column(String(16))   # original|alias|exact|near
    # what the page at this location states about itself, for the choice of the original
    # (docs/dedup.md): its publication date, and the url_key of another page it declares
    # canonical (a page saying it is a copy of that one)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    names_key: Mapped[str | None] = mapped_column(Text)


# Corrected documents (revision > 1) are few: feed digests look them up on every run.
Index("ix_documents_revision", DocumentRow.revision)
Index("ix_locations_url_key", Location.url_key)


class Counter(Base):
    """Monotonic counters, updated atomically, never reused: `document_seq` (sequence numbers)
    and `index_generation` (+1 with every change that index.jsonl shows)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class OutboxEntry(Base):
    """A document waiting to go out in one digest; written with the document, in one transaction."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("digest_id", "document_id"),
                      Index("ix_outbox_pending", "digest_id", "delivered_at"),
                      Index("ix_outbox_run", "digest_id", "run_key"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    digest_id: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    run_key: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the document revision this entry was claimed with: a feed digest offers the document
    # again when its revision is newer than the one delivered
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class DigestState(Base):
    """Per digest: the run in progress (its key fixes the Message-ID), attempts and backoff."""

    __tablename__ = "digest_state"

    digest_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_key: Mapped[str | None] = mapped_column(String(64))
    run_notes: Mapped[str | None] = mapped_column(Text)       # JSON: health notes of the run
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    permanent_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_runs: Mapped[int] = mapped_column(Integer, default=0)
    # JSON {source id: "broken"}: what this digest last told its readers about source health
    health_reported: Mapped[str | None] = mapped_column(Text)


class RevisionRow(Base):
    """A text a document held before it changed in place (collector.store.watch): written by
    `Store.update_document` in the transaction that replaces it, so a statement's history
    keeps every earlier text, its title and hash, and the time it was the current one."""

    __tablename__ = "document_revisions"
    __table_args__ = (UniqueConstraint("document_id", "revision"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: when this text became the stored one, and when the next one replaced it
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WatchRow(Base):
    """The re-check schedule of one stored statement and what its checks found
    (collector.watch). Made for each document when a watch round first meets it."""

    __tablename__ = "watch_state"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    #: scheduled checks done (of `settings: watch: after`); the next is the one after them
    checks: Mapped[int] = mapped_column(Integer, default=0)
    #: None once the schedule is over (or the statement cannot be checked)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: ok | edited | vanished | restored | error | skipped
    last_result: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    #: failed checks in a row (network, 5xx): retried before the scheduled check counts
    errors: Mapped[int] = mapped_column(Integer, default=0)
    #: set while the statement is gone from its URL, with the evidence of the check that said so
    vanished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    vanished_status: Mapped[int | None] = mapped_column(Integer)
    vanished_url: Mapped[str | None] = mapped_column(Text)
    vanished_reason: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WatchEvent(Base):
    """A transition a check found: `edited` (a new revision), `removed` or `restored`, with
    its evidence. Written with the change itself, and with one `WatchOutbox` row per digest
    that carries the statement, in one transaction."""

    __tablename__ = "watch_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                             index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the document's revision after the event (an edit's new revision)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


class WatchOutbox(Base):
    """A watch event waiting to go out in one digest: claimed and marked delivered with the
    digest's documents, under the same run key (collector.store.outbox)."""

    __tablename__ = "watch_outbox"
    __table_args__ = (UniqueConstraint("digest_id", "event_id"),
                      Index("ix_watch_outbox_pending", "digest_id", "delivered_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    digest_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(ForeignKey("watch_events.id", ondelete="CASCADE"))
    run_key: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RobotsRow(Base):
    """One origin's robots.txt for its RFC 9309 lifetime (collector.robots, store/robots.py):
    the rules that apply to `agent` (our product token) as robots.txt text, the answer's
    status, its validators for the revalidation, and when it was fetched and expires."""

    __tablename__ = "robots_txt"

    origin: Mapped[str] = mapped_column(String(300), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    rules: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArchiveEntry(Base):
    """A statement's URL waiting to be saved by an archive (the Wayback Machine), written with
    the document (or its new revision) in one transaction (store/archive.py)."""

    __tablename__ = "archive_outbox"
    __table_args__ = (UniqueConstraint("document_id", "revision"),
                      Index("ix_archive_outbox_due", "sent_at", "next_attempt_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # set once the archive accepted the request (its job id); then the capture's outcome
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[str | None] = mapped_column(String(128))
    result: Mapped[str | None] = mapped_column(String(16))       # success | failed
    snapshot: Mapped[str | None] = mapped_column(Text)           # the capture's address
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)




class CaptureRow(Base):
    """One captured fetch of a document's text (collector.capture): the byte range of its
    records in a WARC file. `warc_file` is cleared when retention deletes the file; the row
    (and its record ids) stays."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                             index=True)
    revision: Mapped[int] = mapped_column(Integer)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warc_file: Mapped[str | None] = mapped_column(String(64), index=True)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    response_id: Mapped[str] = mapped_column(String(80))
    request_id: Mapped[str] = mapped_column(String(80))
    metadata_id: Mapped[str] = mapped_column(String(80))
