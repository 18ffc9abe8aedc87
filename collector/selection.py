"""What someone asks to select, from `collector export`'s options or the API's query parameters:
organisations, a tag, a language, a date range and a sequence number, checked and turned into
the store's filters (`browse.Filters`) and a lower bound on the sequence number.

Dates: `2024-05-01` is a whole day (`since` from its first moment, `until` through its last,
like the web page's `from` and `to`); `2024-05-01T12:00:00Z` (or any ISO 8601 time with an
offset; without one it is UTC) is an instant, `since` inclusive and `until` exclusive. The date
compared is the publication date, or the collection date for a statement that gives none (the
web page's default order).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .store.browse import Filters

#: The longest language code a filter takes (the column's width).
MAX_LANGUAGE_CHARS = 16
#: A whole number as people type it (ASCII digits only: int() takes other scripts' digits).
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")


class SelectionError(ValueError):
    """A selection that cannot be used; `parameter` names what was wrong (the API's query
    parameter, which `collector export` shows as its option)."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        super().__init__(message)


@dataclass(frozen=True)
class Selection:
    filters: Filters
    after_seq: int | None = None


def _echo(value: str) -> str:
    return repr(value[:60] + ("…" if len(value) > 60 else ""))


def parse_when(value: str, parameter: str, *, end: bool) -> datetime:
    """An aware UTC datetime from a date or an ISO 8601 time; `end` for the upper bound (a
    date then means the moment after its last)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), UTC)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise SelectionError(parameter, f"{parameter} must be a date like 2024-05-31 or a time "
                                        f"like 2024-05-31T12:00:00Z, not {_echo(value)}") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def parse_seq(value: str, parameter: str = "after_seq") -> int:
    text = value.strip()
    if not WHOLE_NUMBER.fullmatch(text) or int(text) < -1:
        raise SelectionError(parameter, f"{parameter} must be a whole number (a sequence "
                                        f"number, -1 or more), not {_echo(value)}")
    return int(text)


def build(*, sources: Sequence[str] = (), tag: str | None = None, language: str | None = None,
          since: str | None = None, until: str | None = None, after_seq: str | None = None,
          tags: dict[str, tuple[str, ...]], known: Collection[str]) -> Selection:
    """The selection asked for. `tags` maps each configured source to its tags; `known` holds
    every source id the store knows (a source removed from the configuration keeps its
    statements). Several `sources` are any of them; a tag narrows to the sources that carry it."""
    ids: tuple[str, ...] | None = None
    if sources:
        unknown = [s for s in sources if s not in known]
        if unknown:
            raise SelectionError("source", f"source: there is no source {_echo(unknown[0])}")
        ids = tuple(dict.fromkeys(sources))
    if tag is not None:
        tagged = tuple(s for s, t in tags.items() if tag in t)
        if not tagged:
            raise SelectionError("tag", f"tag: no configured source has the tag {_echo(tag)}")
        ids = tagged if ids is None else tuple(i for i in ids if i in tagged)
    if language is not None and (not language.strip()
                                 or len(language) > MAX_LANGUAGE_CHARS):
        raise SelectionError("language", f"language must be a language code like en or pt-br, "
                                         f"not {_echo(language)}")
    start = parse_when(since, "since", end=False) if since is not None else None
    stop = parse_when(until, "until", end=True) if until is not None else None
    if start is not None and stop is not None and stop <= start:
        raise SelectionError("until", "until is not after since")
    after = parse_seq(after_seq) if after_seq is not None else None
    return Selection(Filters(sources=ids, language=language.strip() if language else None,
                             since=start, until=stop), after)
