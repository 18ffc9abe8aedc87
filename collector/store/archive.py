"""The archive outbox on the database: the store's side of collector.archive.

Entries are written with their document (Store.insert_document, Store.update_document with
`archive=True`), in the same transaction. An entry goes through these states:

    pending ── claimed (held ARCHIVE_CLAIM_S) ── sent (the archive accepted it: job id)
       ▲                                            │ status asked
       └──── the capture failed (backoff) ──────────┤
                                                    ├─ success: its snapshot address
                                                    └─ failed: kept with the error, not sent again

`next_attempt_at` is when the entry is next looked at: a pending entry's next try (after a
claim, a backoff or a 429), a sent entry's next status question. A claim is a write under
`FOR UPDATE SKIP LOCKED` (PostgreSQL), so workers sharing a database never send one entry
twice; a process that dies holding a claim frees it when the claim runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update

from . import Store
from .tables import ArchiveEntry

A = ArchiveEntry


@dataclass(frozen=True)
class Claimed:
    id: int
    url: str
    attempts: int
    job_id: str | None = None


def _due(now: datetime) -> ColumnElement[bool]:
    return (A.next_attempt_at.is_(None)) | (A.next_attempt_at <= now)


def claim(store: Store, now: datetime, *, sent: bool, limit: int, hold_s: float
          ) -> list[Claimed]:
    """Claim up to `limit` due entries: pending ones (`sent` false) or sent ones whose capture
    status is to be asked (`sent` true), oldest first; each is held for `hold_s`."""
    if limit <= 0:
        return []
    with store.session() as s:
        q = (select(A.id, A.url, A.attempts, A.job_id)
             .where(A.result.is_(None), _due(now),
                    A.sent_at.is_not(None) if sent else A.sent_at.is_(None))
             .order_by(A.id).limit(limit).with_for_update(skip_locked=True))
        rows = s.execute(q).all()
        if rows:
            s.execute(update(A).where(A.id.in_([r.id for r in rows]))
                      .values(next_attempt_at=now + timedelta(seconds=hold_s)))
        return [Claimed(r.id, r.url, r.attempts or 0, r.job_id) for r in rows]


def mark_sent(store: Store, entry_id: int, job_id: str, *, now: datetime,
              check_at: datetime) -> None:
    """The archive accepted the request (it answered with `job_id`): never sent again."""
    with store.session() as s:
        s.execute(update(A).where(A.id == entry_id).values(
            sent_at=now, job_id=job_id, next_attempt_at=check_at, last_error=None))


def retry_later(store: Store, entry_id: int, *, error: str, at: datetime,
                counted: bool) -> None:
    """Not sent (the archive was down, refused for now, or rate-limited): try again `at`.
    Only `counted` failures (the archive's own refusals) count towards giving up."""
    with store.session() as s:
        values: dict[str, object] = {"next_attempt_at": at, "last_error": error[:2000]}
        if counted:
            values["attempts"] = A.attempts + 1
        s.execute(update(A).where(A.id == entry_id, A.sent_at.is_(None)).values(**values))


def capture_failed(store: Store, entry_id: int, *, error: str, at: datetime,
                   give_up: bool, now: datetime) -> None:
    """The archive accepted the request but its capture failed: the entry is pending again
    (a new request is not a second capture), or, after too many, failed for good."""
    with store.session() as s:
        s.execute(update(A).where(A.id == entry_id).values(
            sent_at=None, job_id=None, attempts=A.attempts + 1, next_attempt_at=at,
            last_error=error[:2000], checked_at=now, result="failed" if give_up else None))


def give_up(store: Store, entry_id: int, *, error: str, now: datetime) -> None:
    """Refused for good (the archive will not capture this URL): kept, with the reason."""
    with store.session() as s:
        s.execute(update(A).where(A.id == entry_id).values(
            result="failed", last_error=error[:2000], checked_at=now, next_attempt_at=None))


def captured(store: Store, entry_id: int, *, snapshot: str | None, now: datetime) -> None:
    with store.session() as s:
        s.execute(update(A).where(A.id == entry_id).values(
            result="success", snapshot=snapshot, checked_at=now, next_attempt_at=None,
            last_error=None))


def still_capturing(store: Store, entry_id: int, *, at: datetime, now: datetime) -> None:
    with store.session() as s:
        s.execute(update(A).where(A.id == entry_id).values(next_attempt_at=at, checked_at=now))


@dataclass(frozen=True)
class EntryView:
    document_id: str
    revision: int
    url: str
    attempts: int
    sent_at: datetime | None
    job_id: str | None
    result: str | None
    snapshot: str | None
    last_error: str | None


def entries(store: Store) -> list[EntryView]:
    """Every entry, oldest first (for tests and inspection)."""
    with store.session(read=True) as s:
        rows = s.scalars(select(A).order_by(A.id)).all()
        return [EntryView(r.document_id, r.revision, r.url, r.attempts or 0, r.sent_at,
                          r.job_id, r.result, r.snapshot, r.last_error) for r in rows]
