"""Which documents a digest takes (pure).

A selection names sources and tags: a document qualifies through either, and naming neither
takes every source. Then the digest's filter rules apply: include rules, when there are any,
must match at least once; exclude rules must not match at all.

The selection is any object with `sources`, `tags`, `include` and `exclude` attributes (the
`Digest` of collector/config.py, or `Selection` below). Rules are objects with `keywords`,
`regex`, `on` (title | text | url | any) and `language` (config's `FilterRule`), or plain
phrases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from collector.errors import ConfigError


@dataclass(frozen=True)
class Selection:
    """A digest's selection on its own, for callers that have no config `Digest` at hand."""

    sources: tuple[str, ...] = field(default=())     # source ids
    tags: tuple[str, ...] = field(default=())        # source tags
    include: tuple[Any, ...] = field(default=())     # filter rules
    exclude: tuple[Any, ...] = field(default=())


@dataclass(frozen=True)
class _Doc:
    title: str
    text: str
    url: str
    language: str | None


def selects(digest_selection: Any, *, source_id: str, tags: Iterable[str], title: str,
            text: str, url: str, language: str | None) -> bool:
    """Whether a document with these attributes belongs in the digest."""
    sel = digest_selection
    sources = tuple(getattr(sel, "sources", ()) or ())
    want_tags = tuple(getattr(sel, "tags", ()) or ())
    if sources or want_tags:
        have = {t.casefold() for t in tags}
        if source_id not in sources and not any(t.casefold() in have for t in want_tags):
            return False
    doc = _Doc(title=title, text=text, url=url, language=language)
    return _filters_accept(tuple(getattr(sel, "include", ()) or ()),
                           tuple(getattr(sel, "exclude", ()) or ()), doc)


# --- filter rules ------------------------------------------------------------------------
# The project's filter language lives in collector/filters.py (the same rules sources use);
# `_filters_accept` is the one place that calls it. Plain phrases are taken as keyword rules.

def _filters_accept(include: tuple[Any, ...], exclude: tuple[Any, ...], doc: _Doc) -> bool:
    from collector.config import FilterRule
    from collector.filters import accept

    def rules(given: tuple[Any, ...]) -> list[Any]:
        return [FilterRule(keywords=(r,)) if isinstance(r, str) else r for r in given]

    try:
        kept, _ = accept(rules(include), rules(exclude), title=doc.title, text=doc.text,
                         url=doc.url, language=doc.language)
    except re.error as exc:
        raise ConfigError([f"filter rule: bad regular expression: {exc}"]) from exc
    return kept
