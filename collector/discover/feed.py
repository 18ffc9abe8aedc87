"""RSS/Atom → Candidates. The only module that uses feedparser.

feedparser is lenient: it parses ill-formed XML and sets `bozo`. A body that yields no entries
and looks like HTML or is empty is an error ("not a feed"), never "0 new items" (RELIABILITY
rows 28, 29). Entries without a GUID or link get a stable key from their content, never from
the fetch time (row 35); duplicate GUIDs within one feed are disambiguated by link (row 33).
"""

from __future__ import annotations

import calendar
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from ..errors import ParseError
from ..models import Candidate
from ..sniff import sniff

#: Entries taken from one feed body; a feed with more is cut (newest first as published).
MAX_ENTRIES = 1000


def _when(entry: Any, now: datetime | None) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                dt = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, TypeError):
                continue
            if now is not None and dt > now:
                return None  # a future date cannot be trusted (it would pin the item)
            return dt
    return None


def _content(entry: Any) -> str | None:
    best = None
    for c in entry.get("content") or []:
        value = c.get("value") or ""
        ctype = (c.get("type") or "").lower()
        if "html" in ctype or "xhtml" in ctype:
            if best is None or len(value) > len(best):
                best = value
        elif value and best is None:
            from html import escape

            best = "".join(f"<p>{escape(p)}</p>" for p in value.split("\n\n"))
    return best


_XML_ENCODING = re.compile(
    rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_UTF8_NAMES = {"utf-8", "utf8"}


def _declares_utf8(body: bytes, content_type: str | None) -> bool:
    if body.startswith(b"\xef\xbb\xbf"):
        return True
    m = _XML_ENCODING.match(body[:200])
    if m:
        return m.group(1).decode("ascii").lower() in _UTF8_NAMES
    charset = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", content_type or "", re.I)
    return charset is not None and charset.group(1).lower() in _UTF8_NAMES


def repair_utf8(body: bytes, content_type: str | None) -> bytes:
    """A body that says it is UTF-8 but holds a few invalid bytes: only those bytes become
    U+FFFD. (Left alone, feedparser falls back to a legacy codec for the whole body and every
    accented letter of the feed comes out garbled; RELIABILITY row 30.)"""
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        pass
    if not _declares_utf8(body, content_type):
        return body
    return body.decode("utf-8", errors="replace").encode("utf-8")


def looks_like_html(body: bytes) -> bool:
    """Whether the body is an HTML document (its doctype or root element says so)."""
    return sniff(body).kind == "html"


def _feedparser(body: bytes, url: str, headers: dict[str, str] | None, *,
                full: bool) -> Any:
    """feedparser's reading of `body`; with `full` False, without its HTML sanitiser and the
    resolution of relative URIs inside markup (most of its work on a full-text feed; neither
    touches an item's GUID, link or dates)."""
    if not body.strip():
        raise ParseError(f"{url}: empty response where a feed was expected")
    response_headers = {k: v for k, v in (headers or {}).items()
                        if k.lower() in ("content-type", "content-location", "content-language")}
    response_headers.setdefault("content-location", url)
    body = repair_utf8(body, next((v for k, v in response_headers.items()
                                   if k.lower() == "content-type"), None))
    import feedparser  # here, not at the top: parsing runs in the parse worker process only

    parsed = feedparser.parse(body, response_headers=response_headers, sanitize_html=full,
                              resolve_relative_uris=full)
    entries = parsed.get("entries") or []
    # a document the parser recognised as RSS or Atom (it names the version) is a feed even
    # with no entries, whatever it complained of on the way (a missing Content-Type, say)
    if not entries and not parsed.get("version"):
        if looks_like_html(body):
            raise ParseError(f"{url}: got an HTML page where a feed was expected")
        if parsed.get("bozo") and not parsed.get("feed"):
            exc = parsed.get("bozo_exception")
            raise ParseError(f"{url}: not a readable feed ({exc})")
        if not parsed.get("feed"):
            raise ParseError(f"{url}: not an RSS or Atom feed")
    return parsed


def _identity(entry: Any) -> tuple[str | None, str | None]:
    """An entry's GUID and its link (only an absolute HTTP(S) one)."""
    link = entry.get("link") or None
    if link and not link.startswith(("http://", "https://")):
        link = None
    return entry.get("id") or entry.get("guid") or None, link


def _candidates(entries: list[Any], now: datetime | None) -> list[Candidate]:
    out: list[Candidate] = []
    seen: set[str] = set()
    for entry in entries[:MAX_ENTRIES]:
        guid, link = _identity(entry)
        title = entry.get("title") or None
        content = _content(entry)
        summary = entry.get("summary") or None
        if guid:
            key = f"id:{guid}"
        elif link:
            key = f"link:{link}"
        else:
            basis = "\x1f".join([title or "", content or summary or ""])
            if not basis.strip("\x1f"):
                continue  # nothing to identify or show
            key = "hash:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
        if key in seen:
            # the same GUID on several items (row 33): keep them apart by their links
            key = f"{key}|{link or hashlib.sha256((title or '').encode()).hexdigest()[:16]}"
            if key in seen:
                continue
        seen.add(key)
        author = entry.get("author") or None
        out.append(Candidate(key=key, url=link, title=title, published=_when(entry, now),
                             content_html=content, summary_html=summary, author=author))
    return out


def _identities(parsed: Any, now: datetime | None) -> list[Candidate] | None:
    """Candidates holding only each item's identity (key, link, date), or None when an
    identity would need what a scan leaves out: the feed is not well-formed (the lenient
    parser may read it otherwise), an item has neither GUID nor link (its key is a hash of
    its sanitised text), a key repeats (told apart by the sanitised title), or the feed is
    longer than is taken."""
    entries = parsed.get("entries") or []
    if parsed.get("bozo") or len(entries) > MAX_ENTRIES:
        return None
    out: list[Candidate] = []
    seen: set[str] = set()
    for entry in entries:
        guid, link = _identity(entry)
        key = f"id:{guid}" if guid else f"link:{link}" if link else None
        if key is None or key in seen:
            return None
        seen.add(key)
        out.append(Candidate(key=key, url=link, published=_when(entry, now),
                             identity_only=True))
    return out


#: The markup that can hide an item's tags (CDATA, comments, processing instructions) and an
#: item's own start and end tags, unprefixed.
_ITEM_MARKUP = re.compile(
    rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<\?.*?\?>|<(/?)(?:item|entry)(?=[\s>/])[^>]*>", re.S)


def _item_spans(body: bytes) -> list[tuple[int, int]] | None:
    """The byte spans of the items (RSS `item`, Atom `entry`) of a well-formed feed in an
    ASCII-compatible encoding, in order; None when they cannot be told for certain (an
    internal DTD, whose entities may hold markup; an item inside an item; an empty-element
    item; an unclosed one)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    spans: list[tuple[int, int]] = []
    start = -1
    for m in _ITEM_MARKUP.finditer(body):
        closing = m.group(1)
        if closing is None:
            continue  # CDATA, a comment or a processing instruction
        if closing:
            if start < 0:
                return None
            spans.append((start, m.end()))
            start = -1
        elif start >= 0 or m.group(0).endswith(b"/>"):
            return None
        else:
            start = m.start()
    return spans if start < 0 else None


def _only(body: bytes, url: str, headers: dict[str, str] | None, now: datetime | None,
          keys: list[str], listed: list[str] | None) -> list[Candidate] | None:
    """The candidates of `keys` parsed in full from a copy of `body` without the other
    items, or None when that copy cannot be trusted to read as the whole feed would. `listed`
    is every key of the feed in order, as a scan read it (a scan also found the whole feed
    well-formed); without it the feed is scanned here. The spans of the items must be as many
    as the keys, and the copy must parse, well-formed, to exactly the wanted keys in order:
    so no item is lost, and none is taken for another."""
    spans = _item_spans(body)
    if not spans:
        return None
    if listed is None:
        scanned = _identities(_feedparser(body, url, headers, full=False), now)
        if scanned is None:
            return None
        listed = [c.key for c in scanned]
    wanted = set(keys)
    order = [k for k in listed if k in wanted]
    if len(spans) != len(listed) or len(order) != len(wanted) or len(set(listed)) != len(listed):
        return None
    pieces: list[bytes] = []
    at = 0
    for key, (begin, end) in zip(listed, spans, strict=True):
        if key not in wanted:
            pieces.append(body[at:begin])
            at = end
    pieces.append(body[at:])
    small = _feedparser(b"".join(pieces), url, headers, full=True)
    if small.get("bozo"):
        return None
    out = _candidates(small.get("entries") or [], now)
    if [c.key for c in out] != order:
        return None
    return out


def parse_feed(body: bytes, url: str, *, headers: dict[str, str] | None = None,
               now: datetime | None = None, scan: bool = False,
               keys: list[str] | None = None,
               listed: list[str] | None = None) -> list[Candidate]:
    """Parse an RSS/Atom body into candidates, in feed order.

    `scan`: read only the items' identities (key, link, date; `Candidate.identity_only`),
    without feedparser's HTML sanitiser (three times cheaper on a full-text feed); a feed
    whose identities need the full parse (see `_identities`) is parsed in full at once.
    `keys`: only the candidates of these keys, parsed in full; from a copy of the body holding
    only those items when it can be cut exactly (checked, see `_only`; `listed` is every key
    of the scan, in order), else from the whole.
    """
    if keys is not None:
        if not keys:
            return []
        only = _only(body, url, headers, now, keys, listed)
        if only is not None:
            return only
        wanted = set(keys)
        return [c for c in parse_feed(body, url, headers=headers, now=now) if c.key in wanted]
    if scan:
        scanned = _identities(_feedparser(body, url, headers, full=False), now)
        if scanned is not None:
            return scanned
    return _candidates(_feedparser(body, url, headers, full=True).get("entries") or [], now)
