"""Digests: which statements a digest selects, how a digest run is rendered and delivered.

This package owns everything between "the store hands over the pending outbox entries of a
digest" and "the message has been accepted" (email) or "the feed file is in place" (Atom):

    select.py   selects()          does a digest take this document? (pure)
    health.py   health_notes()     which source-health changes a digest reports next (pure)
    retry.py    after_failure()    backoff and quarantine after a failed delivery (pure)
    render.py   render_email()     multipart text + HTML message from Jinja2 templates
    email.py    send()             SMTP with STARTTLS/TLS/auth; errors classified temporary or not
    atom.py     render_atom()      Atom 1.0 feed bytes; write_atomic() puts them in place
    run.py      run_digest()       one digest run over the store's Outbox: claim, render, send, mark

It never touches the database: the store hands in the frozen dataclasses below and is told,
by return values, which entries were delivered. Marking them is the store's job and must come
only after delivery (see docs/digests.md for the protocol).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class DigestItem:
    """One stored statement as a digest shows it."""

    id: str                                   # document id, 16 lowercase hex digits
    seq: int                                  # sequence number in its corpus
    title: str
    source_id: str
    source_name: str                          # the organisation
    url: str
    published: datetime | None                # as published, if known
    collected: datetime                       # when this collector stored it
    blocks: tuple[str, ...]                   # the body, one paragraph per block
    also_published: tuple[tuple[str, str], ...] = field(default=())  # (source_name, url)
    updated: datetime | None = None           # last change of the stored text; None = collected
    tags: tuple[str, ...] = field(default=())
    revision: int = 1                         # 1 as first stored, +1 per change of its text

    @property
    def updated_at(self) -> datetime:
        """The time feed readers see as the entry's last change."""
        return self.updated if self.updated is not None else self.collected


@dataclass(frozen=True)
class SourceHealthNote:
    """A line at the end of a digest: a source has been failing, or has recovered."""

    source_name: str
    state: str                                # "broken" | "recovered"
    since: datetime                           # failing since / recovered at
    error: str | None = None                  # the last error, for "broken"
    source_id: str = ""

    def __post_init__(self) -> None:
        if self.state not in ("broken", "recovered"):
            raise ValueError(f"health note state must be broken or recovered, not {self.state!r}")


@dataclass(frozen=True)
class ChangeNote:
    """A stored statement found changed at its address by a re-check (collector.watch):
    `edited` (a new revision of its text), `removed` (gone: 404/410, a redirect to the home
    page, a "not found" page) or `restored` (back after it was gone), with the evidence."""

    event_id: int                             # stable: a feed entry's id is made from it
    kind: str                                 # "edited" | "removed" | "restored"
    document_id: str
    title: str
    source_id: str
    source_name: str
    url: str                                  # the statement's address
    at: datetime                              # when the check found it
    revision: int = 1                         # the statement's revision after the change
    status: int | None = None                 # the HTTP status the check got
    final_url: str | None = None              # where the request ended (after redirects)
    reason: str = ""                          # the evidence in words

    def __post_init__(self) -> None:
        if self.kind not in ("edited", "removed", "restored"):
            raise ValueError(f"change kind must be edited, removed or restored, "
                             f"not {self.kind!r}")


__all__ = ["ChangeNote", "DigestItem", "SourceHealthNote"]
