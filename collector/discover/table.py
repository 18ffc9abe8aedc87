"""Rows of documents: one statement per row, offered in several languages or formats.

Press-release pages of UN bodies and NGOs are often tables (or lists) whose rows hold a date, a
title and links to the same document in other languages ("EN | FR | ES") or formats ("PDF |
DOCX"). Such short, repeated link texts are not articles of their own: `variant_of` recognises
them, `collector.discover.page` keeps them out of its link groups (where their repetition made
a table look like navigation), and this module turns each row into one candidate:

- the row's links are its title link (if any) and its variants;
- the language wanted is the source's `language` if the row offers it, else English if it does,
  else the row's first; a link with no language mark counts as the row's default language;
- among the links in that language, HTML is preferred to PDF, PDF to DOCX, DOCX to ODT;
- the other links are kept as `alternates`: other locations of the same statement.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from selectolax.lexbor import LexborNode

from ..document import clean_line
from ..documents import url_kind
from ..documents.links import LANGUAGE_WORDS, link_language
from ..models import Candidate
from .links import normalise_url, parse_date

#: Words of a link that names a format rather than a statement.
FORMAT_WORDS: dict[str, str] = {
    "pdf": "pdf", "docx": "docx", "doc": "docx", "word": "docx", "odt": "odt",
    "html": "html", "web": "html", "online": "html", "htm": "html",
}
#: Format preference when one row offers several (lower is better).
FORMAT_RANK = {"html": 0, "pdf": 1, "docx": 2, "odt": 3}
_LANG_WORDS = {w for words in LANGUAGE_WORDS.values() for w in words}
#: Words a variant link may carry besides a language and a format: file sizes, "version".
_FILLER = re.compile(r"^(\d+([.,]\d+)?|kb|mb|ko|mo|kib|mib|version|versión|versão|fassung|"
                     r"download|file|fichier|archivo|datei|bytes|pages?|read|in|view|the|"
                     r"full|text|texte|texto|format|original)$")
_TOKEN = re.compile(r"[^\W_]+|[^\s\w]", re.UNICODE)


@dataclass(frozen=True)
class Variant:
    url: str
    language: str | None
    format: str
    node: LexborNode
    index: int


def variant_of(text: str, url: str, hreflang: str | None, node: LexborNode,
               index: int) -> Variant | None:
    """A link whose text only names a language and/or a format ("EN", "Français", "PDF",
    "DOCX (230 KB)", "English PDF"), or None for any other link."""
    words = [t for t in _TOKEN.findall(clean_line(text).casefold()) if t.isalnum()]
    if not words or len(words) > 4:
        return None
    fmt = None
    named: list[str] = []
    for w in words:
        if w in FORMAT_WORDS and fmt is None:
            fmt = FORMAT_WORDS[w]
        elif w in _LANG_WORDS:
            named.append(w)
        elif not _FILLER.match(w):
            return None
    # "Versión en español": the language's name outweighs a code-like word beside it
    lang = link_language(max(named, key=len), "") if named else None
    if lang is None and fmt is None:
        return None
    lang = lang or link_language("", url, hreflang)
    return Variant(url, lang, fmt or url_kind(url) or "html", node, index)


def choose(title_url: str | None, variants: list[Variant], language: str | None
           ) -> tuple[str, tuple[str, ...]]:
    """The URL to take for one row and the row's other URLs, in row order."""
    links: list[tuple[str, str | None, str]] = []
    if title_url:
        links.append((title_url, None, url_kind(title_url) or "html"))
    for v in variants:
        if v.url not in {u for u, _, _ in links}:
            links.append((v.url, v.language, v.format))
    langs = [lang for _, lang, _ in links if lang]
    if language and language in langs:
        pool = [x for x in links if x[1] == language]
    else:
        wanted = "en" if "en" in langs else (langs[0] if langs else None)
        pool = [x for x in links if x[1] in (None, wanted)] or links
    best = min(pool, key=lambda x: (FORMAT_RANK.get(x[2], 9), links.index(x)))
    return best[0], tuple(u for u, _, _ in links if u != best[0])


def row_of(node: LexborNode, variant_ids: set[int], max_up: int = 6) -> LexborNode | None:
    """The nearest ancestor of a variant link (up to `max_up` levels) that is a row: a table
    row, list item, definition or article holding some text besides its variant links (so a
    list of language links nested in a table row is not a row of its own)."""
    cur = node.parent
    for _ in range(max_up):
        if cur is None or cur.tag in ("body", "html", "main", "table", "tbody"):
            return None
        if cur.tag in ("tr", "li", "dd", "article"):
            text = cur.text(separator=" ")
            for a in cur.css("a[href]"):
                if a.mem_id in variant_ids:
                    text = text.replace(a.text(separator=" "), " ", 1)
            if len(clean_line(text).split()) >= 2:
                return cur
        cur = cur.parent
    return None


def row_title(row: LexborNode, variants: list[Variant]) -> str | None:
    """A row's title when it has no title link: the longest text of an element in the row
    that holds no variant link and is not a date (a cell, or a `<strong>` beside a nested
    list of language versions)."""
    variant_ids = {v.node.mem_id for v in variants}
    best = ""
    for node in row.traverse(include_text=False):
        if node.mem_id == row.mem_id or node.tag in ("script", "style"):
            continue
        if node.mem_id in variant_ids or any(a.mem_id in variant_ids for a in node.css("a")):
            continue
        text = clean_line(node.text(separator=" "))
        if parse_date(text) and len(text.split()) <= 4:
            continue
        if len(text) > len(best):
            best = text
    return best or clean_line(row.text(separator=" ")) or None


def row_candidate(row: LexborNode, variants: list[Variant], base_url: str,
                  language: str | None) -> Candidate | None:
    """One candidate from a row that has variant links but no title link."""
    if not variants:
        return None
    url, others = choose(None, variants, language)
    title = row_title(row, variants)
    published: datetime | None = parse_date(row.text(separator=" "))
    return Candidate(key=url, url=url, title=title, published=published, alternates=others)


def title_row_variants(title_node: LexborNode, variants: list[Variant], chosen_ids: set[int],
                       max_up: int = 5) -> list[Variant]:
    """The variants that share a row with one title link: those under its nearest ancestor that
    holds no other chosen title link."""
    cur = title_node.parent
    found: list[Variant] = []
    for _ in range(max_up):
        if cur is None or cur.tag in ("body", "html", "main", "table", "tbody"):
            break
        anchors = {a.mem_id for a in cur.css("a[href]")}
        if (anchors & chosen_ids) - {title_node.mem_id}:
            break
        inside = [v for v in variants if v.node.mem_id in anchors]
        if inside:
            found = inside
            if cur.tag in ("tr", "li", "dd", "article"):
                break
        cur = cur.parent
    return found


def absolute(href: str | None, base_url: str) -> str | None:
    return normalise_url(href or "", base_url)
