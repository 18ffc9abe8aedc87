"""Sitemaps: URL sets (plain and Google News) and sitemap indexes → Candidates and child URLs.

Parsed safely: gzip is inflated with a cap, any DOCTYPE (and so any entity declaration) is cut
out before the XML parser sees the text, so nothing is expanded or fetched; XML that still does
not parse is read leniently element by element. Pure: no I/O, no clock.
"""

from __future__ import annotations

import html
import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree

from .. import limits
from ..errors import ParseError
from ..models import Candidate
from .links import normalise_url, parse_date


@dataclass(frozen=True)
class SitemapResult:
    """What one sitemap file holds: page candidates (newest first; `published` is the news
    publication date, else lastmod) and, for an index, its child sitemaps (newest first)."""

    candidates: tuple[Candidate, ...]
    sitemaps: tuple[str, ...]
    lastmod: dict[str, datetime]     # candidate key or child sitemap URL → lastmod, where given
    is_index: bool
    is_news: bool

    @property
    def children(self) -> tuple[str, ...]:
        """The child sitemaps of an index (same as `sitemaps`)."""
        return self.sitemaps


_DOCTYPE = re.compile(rb"<!DOCTYPE(?:[^\[>]*\[.*?\]\s*>|[^>]*>)", re.IGNORECASE | re.DOTALL)
_BLOCK = re.compile(rb"<(?:\w+:)?(url|sitemap)\b[^>]*>(.*?)</(?:\w+:)?\1\s*>",
                    re.IGNORECASE | re.DOTALL)
_FIELD = re.compile(rb"<(?:(\w+):)?(loc|lastmod|publication_date|title)\b[^>]*>(.*?)</",
                    re.IGNORECASE | re.DOTALL)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)


def _inflate(body: bytes) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limits.MAX_SITEMAP_BYTES)
    except zlib.error as exc:
        raise ParseError(f"sitemap is not valid gzip: {exc}") from exc
    if inflater.unconsumed_tail:
        raise ParseError(f"sitemap is larger than {limits.MAX_SITEMAP_BYTES} bytes unpacked")
    return out


def _text(value: str | None) -> str:
    value = _CDATA.sub(r"\1", value or "")
    return html.unescape(value).strip()


def _entries_from_tree(root: ElementTree.Element) -> tuple[str, list[dict[str, str]]]:
    kind = root.tag.rsplit("}", 1)[-1].lower()
    entries = []
    for element in root:
        name = element.tag.rsplit("}", 1)[-1].lower()
        if name not in ("url", "sitemap"):
            continue
        fields: dict[str, str] = {}
        for child in element.iter():
            tag = child.tag.rsplit("}", 1)[-1].lower() if isinstance(child.tag, str) else ""
            if tag in ("loc", "lastmod", "publication_date", "title") and tag not in fields:
                fields[tag] = (child.text or "").strip()
        entries.append(fields)
    return kind, entries


def _entries_leniently(body: bytes) -> tuple[str, list[dict[str, str]]]:
    entries = []
    kind = "sitemapindex" if re.search(rb"<(\w+:)?sitemapindex\b", body[:4096]) else "urlset"
    for block in _BLOCK.finditer(body):
        fields: dict[str, str] = {}
        for _ns, tag, value in _FIELD.findall(block.group(2)):
            name = tag.decode().lower()
            if name not in fields:
                fields[name] = _text(value.decode("utf-8", errors="replace"))
        entries.append(fields)
    if not entries and not re.search(rb"<(\w+:)?(urlset|sitemapindex)\b", body[:4096]):
        raise ParseError("not a sitemap: no <urlset> or <sitemapindex>")
    return kind, entries


def parse_sitemap(body: bytes, base_url: str) -> SitemapResult:
    """Read a sitemap, news sitemap or sitemap index (gzipped or not). Raises ParseError for a
    body that is not a sitemap at all."""
    body = _DOCTYPE.sub(b"", _inflate(body))
    is_news = b"sitemap-news" in body[:2048] or b"<news:news" in body
    try:
        if re.search(rb"<!(DOCTYPE|ENTITY)", body, re.IGNORECASE):
            # A declaration the cut above could not remove: never let a parser near it.
            raise ElementTree.ParseError("declaration left in the body")
        kind, entries = _entries_from_tree(ElementTree.fromstring(body))
        if kind not in ("urlset", "sitemapindex"):
            raise ParseError(f"not a sitemap: the document is <{kind}>")
    except ElementTree.ParseError:
        kind, entries = _entries_leniently(body)
    candidates: list[tuple[Candidate, int]] = []
    children: list[tuple[str, int]] = []
    lastmod: dict[str, datetime] = {}
    seen: set[str] = set()
    cap = limits.MAX_SITEMAP_URLS if kind == "urlset" else limits.MAX_SITEMAP_CHILDREN * 20
    for order, fields in enumerate(entries[:cap]):
        url = normalise_url(fields.get("loc", ""), base_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        modified = parse_date(fields.get("lastmod"))
        if modified:
            lastmod[url] = modified
        if kind == "sitemapindex":
            children.append((url, order))
            continue
        published = parse_date(fields.get("publication_date")) or modified
        candidates.append((Candidate(key=url, url=url, title=fields.get("title") or None,
                                     published=published), order))

    def newest_first(item_date: datetime | None, order: int) -> tuple[int, float, int]:
        return (0, -item_date.timestamp(), order) if item_date else (1, 0.0, order)

    candidates.sort(key=lambda pair: newest_first(pair[0].published, pair[1]))
    children.sort(key=lambda pair: newest_first(lastmod.get(pair[0]), pair[1]))
    return SitemapResult(
        candidates=tuple(c for c, _ in candidates),
        sitemaps=tuple(u for u, _ in children[: limits.MAX_SITEMAP_CHILDREN]),
        lastmod=lastmod, is_index=kind == "sitemapindex", is_news=is_news)


def changed_since(result: SitemapResult, since: datetime | None) -> SitemapResult:
    """Only what was modified after `since` (the last successful poll): entries without a date
    are kept, since a sitemap that gives none cannot say they are old."""
    if since is None:
        return result

    def fresh(url: str, published: datetime | None = None) -> bool:
        stamp = result.lastmod.get(url) or published
        return stamp is None or stamp > since

    return SitemapResult(
        candidates=tuple(c for c in result.candidates if fresh(c.key, c.published)),
        sitemaps=tuple(u for u in result.sitemaps if fresh(u)),
        lastmod=result.lastmod, is_index=result.is_index, is_news=result.is_news)
