"""`collector status`: the state of every configured source, as a table or as JSON.

The JSON form is for machines: numbers are numbers, times are ISO 8601 in UTC (null when
there is none), errors are whole, with their kind and the same sentence in words the web page
shows. Its shape is the JSON Schema in docs/status.schema.json (checked by the tests). The
health word of each source comes from `collector.health`, like every other surface's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import decide
from .config import Source
from .health import counts, decide_state, describe_error, rank, source_health
from .store import SourceState

#: Version of the JSON document's shape; raised when a field changes meaning or goes away.
SCHEMA_VERSION = 1


def iso(value: datetime | None) -> str | None:
    """An aware time as ISO 8601 in UTC with a `Z`, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class SourceReport:
    """What status shows about one configured source."""

    source: Source
    state: SourceState
    health: str

    @property
    def quarantined(self) -> bool:
        return self.health == "quarantined"

    @property
    def error_words(self) -> str | None:
        if self.state.last_error is None and self.state.last_error_kind is None:
            return None
        return describe_error(self.state.last_error_kind, self.state.last_error,
                              self.source.url)

    @property
    def reason(self) -> str | None:
        """Why a source is quarantined, in words; None otherwise."""
        return decide.quarantine_reason(decide_state(self.state)) if self.quarantined else None


def build(sources: Sequence[Source], states: Sequence[SourceState], now: datetime
          ) -> list[SourceReport]:
    """Reports for the configured sources that the store knows, worst health first."""
    configured = {s.id: s for s in sources}
    out = [SourceReport(configured[st.id], st,
                        source_health(st, now, enabled=configured[st.id].enabled))
           for st in states if st.id in configured]
    return sorted(out, key=lambda r: (rank(r.health), r.source.id))


def to_json(reports: Sequence[SourceReport], *, now: datetime, documents: int,
            pending: Mapping[str, int], baseline: int, digests: Sequence[str]) -> dict[str, Any]:
    """The document `collector status --json` prints (docs/status.schema.json)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": iso(now),
        "documents": documents,
        "baseline_documents": baseline,
        "counts": dict(counts(r.health for r in reports)),
        "digests": [{"id": d, "pending": int(pending.get(d, 0))} for d in digests],
        "sources": [_source_json(r) for r in reports],
    }


def _source_json(r: SourceReport) -> dict[str, Any]:
    st = r.state
    error = None
    if st.last_error is not None or st.last_error_kind is not None:
        error = {"kind": st.last_error_kind, "message": st.last_error,
                 "description": r.error_words}
    return {
        "id": st.id,
        "name": r.source.name,
        "url": r.source.url,
        "enabled": r.source.enabled,
        "health": r.health,
        "reason": r.reason,
        "polls": st.polls,
        "last_poll_at": iso(st.last_poll_at),
        "last_success_at": iso(st.last_success_at),
        "failing_since": iso(st.first_failure_at) if st.consecutive_failures else None,
        "consecutive_failures": st.consecutive_failures,
        # a quarantined source's stored next poll is a placeholder decades ahead
        "next_poll_at": None if r.quarantined or not r.source.enabled else iso(st.next_poll_at),
        "documents": st.documents,
        "duplicates": st.duplicates,
        "last_error": error,
    }


def fmt_ago(value: datetime | None, now: datetime) -> str:
    """A time relative to `now` for people: "5m ago", "in 2h", "never"."""
    if value is None:
        return "never"
    delta = (now - value).total_seconds()
    if abs(delta) < 90:
        return f"{int(delta)}s ago" if delta >= 0 else f"in {int(-delta)}s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(delta) >= size:
            n = int(abs(delta) // size)
            return f"{n}{unit} ago" if delta >= 0 else f"in {n}{unit}"
    return value.isoformat()


def to_text(reports: Sequence[SourceReport], *, now: datetime, documents: int,
            pending: Mapping[str, int], baseline: int, digests: Sequence[str]) -> str:
    """The table people read: worst first, errors in words, then totals and what digests
    hold (and why an empty one is empty after first polls)."""
    rows = []
    for r in reports:
        st = r.state
        next_poll = ("on release" if r.quarantined else
                     fmt_ago(st.next_poll_at, now) if r.source.enabled else "-")
        rows.append([st.id, r.health, fmt_ago(st.last_success_at, now),
                     str(st.consecutive_failures), str(st.documents), str(st.duplicates),
                     next_poll, r.error_words or ""])
    lines = [_table(rows, ["source", "health", "last success", "failures", "documents",
                           "also seen", "next poll", "last error"])]
    for r in reports:
        if r.reason:
            lines.append(f"{r.state.id}: quarantined: {r.reason}")
    summary = ", ".join(f"{n} {state}" for state, n in counts(r.health for r in reports))
    lines.append(f"{len(reports)} sources: {summary or 'none'}")
    lines.append(f"{documents} documents; pending digest entries: "
                 + (", ".join(f"{d} {pending.get(d, 0)}" for d in digests) or "no digests"))
    note = baseline_note(documents=documents, baseline=baseline,
                         pending=sum(pending.get(d, 0) for d in digests))
    if note:
        lines.append(note)
    return "\n".join(lines)


def baseline_note(*, documents: int, baseline: int, pending: int) -> str | None:
    """Why digests hold nothing although statements were collected, or None when that is not
    the case: the first poll of a source stores its newest items as a baseline and keeps them
    out of digests, so a fresh installation's first digest is empty by design. Said only while
    every stored statement is baseline (later, an empty digest just means nothing new)."""
    if pending or not baseline or documents > baseline:
        return None
    return (f"{baseline} of the {documents} stored statements came from first polls, which only "
            "set the baseline and are kept out of digests; digests start with the statements "
            "published after that.")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(c).ljust(w)
                               for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)
