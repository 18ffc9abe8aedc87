"""Include / exclude rules on title, text, URL and language. Pure.

A rule (collector.config.FilterRule) matches when any of its keywords occurs as a word or
phrase (case-insensitive) in the chosen field, or its regular expression matches there, or the
document's language equals its `language`. A document is kept when it matches at least one
include rule (or there are none) and no exclude rule.

Before a page is fetched only the title and URL are known (`partial=True`): an item is then
rejected only by a rule it already fails for certain, so the page of an item that may still
match by its text is fetched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from .config import FilterRule


@lru_cache(maxsize=1024)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    # Whole words or phrases: "strike" must not match "strikes" unless written "strike*".
    body = re.escape(keyword.strip().lower()).replace(r"\*", r"\w*").replace(r"\ ", r"\s+")
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _fields(rule: FilterRule, title: str | None, text: str | None, url: str | None
            ) -> list[str | None]:
    if rule.on == "title":
        return [title]
    if rule.on == "text":
        return [text]
    if rule.on == "url":
        return [url]
    return [title, text, url]


def matches(rule: FilterRule, *, title: str | None, text: str | None, url: str | None,
            language: str | None) -> bool | None:
    """True or False; None when it cannot be told yet (a field it needs is unknown)."""
    results: list[bool | None] = []
    if rule.language is not None:
        if language is None:
            results.append(None)
        else:
            results.append(language.lower().split("-")[0] == rule.language.split("-")[0])
    if rule.keywords or rule.regex:
        values = _fields(rule, title, text, url)
        known = [v for v in values if v is not None]
        hit = any(_keyword_pattern(k).search(v) for k in rule.keywords for v in known) or (
            rule.regex is not None and any(_regex(rule.regex).search(v) for v in known))
        results.append(True if hit else (None if len(known) < len(values) else False))
    if any(r is False for r in results):
        return False
    if all(r is True for r in results):
        return True
    return None


def accept(include: Sequence[FilterRule], exclude: Sequence[FilterRule], *,
           title: str | None, text: str | None, url: str | None, language: str | None,
           partial: bool = False) -> tuple[bool, str | None]:
    """(keep?, reason when not). With `partial`, unknown fields never cause a rejection."""
    for rule in exclude:
        if matches(rule, title=title, text=text, url=url, language=language):
            return False, f"excluded by {_describe(rule)}"
    if include:
        results = [matches(r, title=title, text=text, url=url, language=language)
                   for r in include]
        if any(r is True for r in results):
            return True, None
        if partial and any(r is None for r in results):
            return True, None
        return False, "matches no include rule"
    return True, None


def _describe(rule: FilterRule) -> str:
    parts = []
    if rule.keywords:
        parts.append("keywords " + ", ".join(rule.keywords))
    if rule.regex:
        parts.append(f"regex /{rule.regex}/")
    if rule.language:
        parts.append(f"language {rule.language}")
    return " and ".join(parts) + (f" in {rule.on}" if rule.on != "any" else "")
