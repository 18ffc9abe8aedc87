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


def parse_feed(body: bytes, url: str, *, headers: dict[str, str] | None = None,
               now: datetime | None = None) -> list[Candidate]:
    """Parse an RSS/Atom body into candidates, in feed order."""
    if not body.strip():
        raise ParseError(f"{url}: empty response where a feed was expected")
    response_headers = {k: v for k, v in (headers or {}).items()
                        if k.lower() in ("content-type", "content-location", "content-language")}
    response_headers.setdefault("content-location", url)
    body = repair_utf8(body, next((v for k, v in response_headers.items()
                                   if k.lower() == "content-type"), None))
    import feedparser  # here, not at the top: parsing runs in the parse worker process only

    parsed = feedparser.parse(body, response_headers=response_headers, sanitize_html=True,
                              resolve_relative_uris=True)
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
    out: list[Candidate] = []
    seen: set[str] = set()
    for entry in entries[:MAX_ENTRIES]:
        link = entry.get("link") or None
        if link and not link.startswith(("http://", "https://")):
            link = None
        guid = entry.get("id") or entry.get("guid")
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
