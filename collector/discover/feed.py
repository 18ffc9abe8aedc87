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
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from xml.parsers import expat

from ..encoding import charset_label, guess_charset
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


def _declared_encoding(body: bytes, content_type: str | None) -> str | None:
    """The encoding the body names for itself (a byte-order mark, then its XML declaration),
    else the one the Content-Type names; None when neither names one."""
    if body.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    m = _XML_ENCODING.match(body[:200])
    if m:
        return m.group(1).decode("ascii").lower()
    label = charset_label(content_type)
    return label.lower() if label else None


def _declares_utf8(body: bytes, content_type: str | None) -> bool:
    return _declared_encoding(body, content_type) in _UTF8_NAMES


def readable_body(body: bytes, content_type: str | None) -> bytes:
    """The body as feedparser should read it.

    - Valid UTF-8: as it is.
    - Said to be UTF-8 but holding a few invalid bytes: only those bytes become U+FFFD. (Left
      alone, feedparser falls back to a legacy codec for the whole body and every accented
      letter of the feed comes out garbled; RELIABILITY row 30.)
    - Naming no encoding at all, and not UTF-8: decoded by detection (charset-normalizer, as
      for an HTML page that declares nothing) and handed over as UTF-8, so the guess is ours
      and the same in every environment (feedparser would otherwise take chardet's where it
      happens to be installed, and windows-1252 where not).
    - Naming another encoding: as it is, for feedparser to decode by that name.
    """
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        pass
    declared = _declared_encoding(body, content_type)
    if declared is None:
        return body.decode(guess_charset(body), errors="replace").encode("utf-8")
    if declared in _UTF8_NAMES:
        return body.decode("utf-8", errors="replace").encode("utf-8")
    return body


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
    body = readable_body(body, next((v for k, v in response_headers.items()
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


#: A start or end tag at a "<": group 1 the "/" of an end tag, 2 its name, 3 the "/" of an empty
#: element. Attribute values may hold ">" but never "<" (XML forbids it), so no attempt reads
#: past the next "<".
_TAG = re.compile(rb"<(/?)([A-Za-z_][\w.:-]*)"
                  rb"[^<>\"'/]*(?:(?:\"[^<\"]*\"|'[^<']*'|/(?!>))[^<>\"'/]*)*(/?)>")
#: What a "<" opens besides a tag, passed over whole (its content may look like tags): CDATA, a
#: comment, a processing instruction.
_SKIPPED = ((b"<![CDATA[", b"]]>"), (b"<!--", b"-->"), (b"<?", b"?>"))
_ITEM_NAMES = (b"item", b"entry")
#: Above this size a feed is scanned whole: the skeleton's list of tags would hold one object
#: per tag (a 10 MB feed of markup, hundreds of thousands), and such feeds are rare.
_SKELETON_MAX_BYTES = 1 << 20


class _Unclosed(Exception):
    """A CDATA section, comment or processing instruction without its end."""


def _tags(body: bytes) -> Iterator[re.Match[bytes]]:
    """The start and end tags of the body, in order, passing over CDATA sections, comments and
    processing instructions (found with `bytes.find`, so their length costs little); raises
    `_Unclosed` when one of those has no end."""
    find = body.find
    at = find(b"<")
    while at >= 0:
        for opening, closing in _SKIPPED:
            if body.startswith(opening, at):
                stop = find(closing, at + len(opening))
                if stop < 0:
                    raise _Unclosed
                at = stop + len(closing)
                break
        else:
            m = _TAG.match(body, at)
            if m is None:
                at += 1
            else:
                yield m
                at = m.end()
        at = find(b"<", at)


def _spans_of(tags: Iterable[re.Match[bytes]]) -> list[tuple[int, int]] | None:
    """The byte spans of the items (RSS `item`, Atom `entry`, unprefixed) among `tags`, in
    order; None when an item is inside an item, an empty element, or unclosed."""
    spans: list[tuple[int, int]] = []
    start = -1
    for m in tags:
        if m.group(2) not in _ITEM_NAMES:
            continue
        if m.group(1):
            if start < 0:
                return None
            spans.append((start, m.end()))
            start = -1
        elif start >= 0 or m.group(3):
            return None
        else:
            start = m.start()
    return spans if start < 0 else None


def _item_spans(body: bytes) -> list[tuple[int, int]] | None:
    """The byte spans of the items of a well-formed feed in an ASCII-compatible encoding, in
    order; None when they cannot be told for certain (an internal DTD, whose entities may hold
    markup; an item inside an item; an empty-element item; an unclosed one; an unclosed CDATA
    section, comment or processing instruction)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    try:
        return _spans_of(_tags(body))
    except _Unclosed:
        return None


#: The children of an item that make its identity as a scan reads it: its GUID or id, its links
#: and its dates (by local name, in any namespace, as feedparser reads them).
_IDENTITY_TAGS = frozenset({b"guid", b"id", b"link", b"pubDate", b"published", b"updated",
                            b"date", b"created", b"issued", b"modified"})
_DECLARED_CHARSET = re.compile(r"charset\s*=", re.I)


def _plain_utf8(body: bytes, content_type: str | None) -> bool:
    """Whether the body is valid UTF-8 and declares no other encoding (in its XML declaration
    or the Content-Type): then feedparser decodes any part of it as it decodes the whole."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    declared = _XML_ENCODING.match(body[:200]) is not None \
        or _DECLARED_CHARSET.search(content_type or "") is not None
    return not declared or _declares_utf8(body, content_type)


def _well_formed(body: bytes) -> bool:
    """Whether the body is well-formed, namespace-correct XML (what feedparser's strict parser
    needs; with less it falls back to its lenient one, which may read the items otherwise).
    No DTD reaches here (`_scan` refuses them first)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(body, True)
    except expat.ExpatError:
        return False
    return True


def _skeleton(body: bytes, tags: list[re.Match[bytes]]) -> bytes | None:
    """A copy of the feed keeping of each item only its own tags and the children that make its
    identity (`_IDENTITY_TAGS`, whole); the rest of the feed as it is. `tags` are the feed's
    tags (`_tags`; `_spans_of` found its items neither nested nor unclosed). None when an
    identity tag lies deeper than an item's child (inside `source`, or anywhere else
    feedparser might take it for the item's own): only the whole feed can say what it means
    there."""
    pieces: list[bytes] = []
    at = 0
    depth = 0        # 0 outside the items; 1 among an item's children; more inside a child
    kept_from = -1   # where the identity child being read began
    for m in tags:
        name = m.group(2)
        if depth == 0:
            if name in _ITEM_NAMES and not m.group(1):
                pieces.append(body[at:m.end()])
                depth = 1
            continue
        if m.group(1):  # an end tag
            depth -= 1
            if depth == 0:  # the item's
                pieces.append(m.group(0))
                at = m.end()
            elif depth == 1 and kept_from >= 0:
                pieces.append(body[kept_from:m.end()])
                kept_from = -1
            continue
        empty = bool(m.group(3))
        if name.rpartition(b":")[2] in _IDENTITY_TAGS:
            if depth == 1:
                if empty:
                    pieces.append(m.group(0))
                else:
                    kept_from = m.start()
            elif kept_from < 0:
                return None
        if not empty:
            depth += 1
    pieces.append(body[at:])
    return b"".join(pieces)


def _scan(body: bytes, url: str, headers: dict[str, str] | None,
          now: datetime | None) -> list[Candidate] | None:
    """The items' identities, read by feedparser from the feed's skeleton (`_skeleton`): it
    parses a fifth of a full-text feed's elements. None when the skeleton cannot be trusted to
    read as the whole feed does: not well-formed, not plainly UTF-8, items not cut for certain,
    an identity tag out of place; or the body is over `_SKELETON_MAX_BYTES`. feedparser reads
    the skeleton, so every key, link and date is its own reading, not a second parser's."""
    content_type = next((v for k, v in (headers or {}).items()
                         if k.lower() == "content-type"), None)
    if (len(body) > _SKELETON_MAX_BYTES or b"<!DOCTYPE" in body or b"<!ENTITY" in body
            or not _plain_utf8(body, content_type) or not _well_formed(body)):
        return None
    try:
        tags = list(_tags(body))
    except _Unclosed:
        return None
    spans = _spans_of(tags)
    if not spans:
        return None
    skeleton = _skeleton(body, tags)
    if skeleton is None:
        return None
    scanned = _identities(_feedparser(skeleton, url, headers, full=False), now)
    if scanned is None or len(scanned) != len(spans):
        return None
    return scanned


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
        scanned = _scan(body, url, headers, now) \
            or _identities(_feedparser(body, url, headers, full=False), now)
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
        scanned = _scan(body, url, headers, now)
        if scanned is None:
            scanned = _identities(_feedparser(body, url, headers, full=False), now)
        if scanned is not None:
            return scanned
    return _candidates(_feedparser(body, url, headers, full=True).get("entries") or [], now)
