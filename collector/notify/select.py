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
from functools import lru_cache
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
# The project-wide filter language may move into its own module; `_filters_accept` is the one
# switch point, so changing over touches nothing else here.

def _filters_accept(include: tuple[Any, ...], exclude: tuple[Any, ...], doc: _Doc) -> bool:
    if include and not any(_rule_matches(r, doc) for r in include):
        return False
    return not any(_rule_matches(r, doc) for r in exclude)


def _field(doc: _Doc, on: str) -> str:
    if on == "title":
        return doc.title
    if on == "text":
        return doc.text
    if on == "url":
        return doc.url
    return doc.title + "\n" + doc.text


def _rule_matches(rule: Any, doc: _Doc) -> bool:
    """All the conditions a rule sets must hold; keywords match if any one of them occurs."""
    if isinstance(rule, str):
        return rule.casefold() in _field(doc, "any").casefold()
    on = getattr(rule, "on", "any") or "any"
    if on not in ("title", "text", "url", "any"):
        raise ConfigError([f"filter rule field {on!r} is not title, text, url or any"])
    hay = _field(doc, on)
    keywords = tuple(getattr(rule, "keywords", ()) or ())
    if keywords:
        folded = hay.casefold()
        if not any(k.casefold() in folded for k in keywords):
            return False
    regex = getattr(rule, "regex", None)
    if regex and not _compiled(regex).search(hay):
        return False
    language = getattr(rule, "language", None)
    # A document of unknown language never matches a language rule: an include rule then
    # drops it and an exclude rule keeps it, the same as for any other unmet condition.
    return not (language and not (doc.language and _same_language(doc.language, language)))


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError([f"filter rule: bad regular expression {pattern!r}: {exc}"]) from exc


def _same_language(have: str, want: str) -> bool:
    """`de-AT` is `de`: compared by the primary subtag, case-insensitively."""
    return have.split("-")[0].casefold() == want.split("-")[0].casefold()
