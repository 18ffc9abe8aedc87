"""Which source-health changes a digest reports next (pure).

A source failing for longer than the digest's threshold is listed at the end of the next
digest once ("broken"), and once more when it works again ("recovered"). What a digest has
already reported is kept by the store per digest and source, and updated only together with
marking the digest's entries delivered, so a failed delivery reports the same notes again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from collector.notify import SourceHealthNote


@dataclass(frozen=True)
class SourceHealth:
    """What the store knows about one source's health right now."""

    source_id: str
    source_name: str
    failing_since: datetime | None        # first failure of the current run of failures
    last_error: str | None = None
    recovered_at: datetime | None = None  # last success, for the "recovered" note


def health_notes(sources: Iterable[SourceHealth], reported: Mapping[str, str], *,
                 broken_after: timedelta, now: datetime
                 ) -> tuple[tuple[SourceHealthNote, ...], dict[str, str]]:
    """The notes to add to the next digest, and the reported-state to store once delivered.

    `reported` maps source id to the last state this digest told its readers ("broken");
    sources it never reported on, or reported as recovered, are absent.
    """
    notes: list[SourceHealthNote] = []
    after = dict(reported)
    for s in sorted(sources, key=lambda s: (s.source_name.casefold(), s.source_id)):
        was_broken = reported.get(s.source_id) == "broken"
        if s.failing_since is not None:
            if not was_broken and now - s.failing_since >= broken_after:
                notes.append(SourceHealthNote(source_name=s.source_name, state="broken",
                                              since=s.failing_since, error=s.last_error,
                                              source_id=s.source_id))
                after[s.source_id] = "broken"
        elif was_broken:
            notes.append(SourceHealthNote(source_name=s.source_name, state="recovered",
                                          since=s.recovered_at or now, source_id=s.source_id))
            del after[s.source_id]
    return tuple(notes), after
