"""Deduplication: canonical URLs, exact content fingerprints, near-duplicates, and which copy
of a statement is kept.

This module owns the pure decisions of the stage and does no I/O; the near-duplicate
signatures and index live in `collector.neardup` and are re-exported here.

- `canonical_url` / `url_key`: which URL identifies a page (the document id of FORMAT.md is
  made from the canonical URL) and the looser key under which two URLs count as the same page.
- `content_fingerprint`: a hash of the body text with case, white space and punctuation folded;
  equal fingerprints mean the same text published under another URL.
- `signature` + `NearDuplicateIndex` (collector.neardup): one-permutation MinHash over word
  3-shingles, with banded LSH, so a republished statement with a new title, an added or
  removed paragraph or a few edited words is found.
- `decide`, `choose_original` and `choose_primary`: what becomes of a fetched text given what
  the store already holds (new document, unchanged, edited in place, another location of a
  stored document), and which of two copies of a statement is the original whose text the
  document shows (`names_other` reads a page's claim that another site's page is the
  original).

The store persists the canonical URL, `content_fingerprint` and `signature` bytes per document
and rebuilds a `NearDuplicateIndex` from them on start (`NearDuplicateIndex.add_many`).
docs/dedup.md gives the rules and the measurements behind the constants below.
"""

from __future__ import annotations

import hashlib
import ipaddress
import posixpath
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from collector.errors import ParseError

# The near-duplicate half of the stage lives in collector.neardup; its names are used
# through this module, the stage's one entry point.
from collector.neardup import (  # noqa: F401
    LSH_BANDS,
    LSH_ROWS,
    MAX_BUCKET_CANDIDATES,
    NEAR_DUP_MIN_WORDS,
    NEAR_DUP_THRESHOLD,
    NUM_PERM,
    SHINGLE_WORDS,
    NearDuplicateIndex,
    Signature,
    StaleSignature,
    minhash,
    shingle_hashes,
    signature,
    signature_of,
    signature_of_words,
    similarity,
    words,
)

#: A duplicate's text replaces the stored text only when it is this much longer ...
FULLER_RATIO = 1.15
#: ... and by at least this many words, so that a trailing signature or a changed sentence does
#: not make the texts swap back and forth.
FULLER_MIN_EXTRA_WORDS = 40

# --- URLs ---------------------------------------------------------------------------------

#: Query parameters that only say how a visitor arrived (analytics, ad clicks, mail campaigns,
#: share buttons); they never select content.
_TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
    "ttclid", "li_fat_id", "igshid", "mc_cid", "mc_eid", "mkt_tok", "_ga", "_gl", "_hsenc",
    "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking", "oly_anon_id", "oly_enc_id",
    "rb_clickid", "s_cid", "vero_conv", "vero_id", "wt_mc", "wt_mc_id", "cmpid", "icid", "ocid",
    "ncid", "sr_share", "ref_src", "ref_url", "smid", "smtyp", "share", "shared", "spm",
    "soc_src", "soc_trk", "at_medium", "at_campaign", "at_custom1", "at_custom2", "trk",
    "trkcampaign", "trk_contact", "trk_msg", "trk_module", "trk_sid", "ito", "cid_source",
    "feature", "from", "src", "source", "ref", "referrer", "amp", "amp_js_v", "amp_gsa",
    "usqp", "outputtype", "print", "printable", "printview", "view", "output", "format",
    "phpsessid", "jsessionid", "sessionid", "nocache", "_",
})
#: Parameter name prefixes with the same meaning (utm_source, utm_medium, pk_campaign, ...).
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "matomo_", "hsa_", "ns_", "wt.", "at_", "ga_")
#: Values that make `view`, `output`, `format` and `amp`-like parameters mean "print/AMP view".
#: Those names are dropped only with one of these values; `format=pdf` still selects content.
_VIEW_PARAMS = frozenset({"view", "output", "format", "outputtype", "amp", "print", "printable",
                          "printview"})
_VIEW_VALUES = frozenset({"", "1", "true", "yes", "y", "on", "print", "printable", "printer",
                          "amp", "mobile"})
#: Tracking-like names that also select content on some sites; dropped only when their value
#: looks like a referrer tag (letters, digits, dots, dashes; no path or id shape).
_SOFT_PARAMS = frozenset({"feature", "from", "src", "source", "ref", "referrer", "share",
                          "shared"})
#: Path segments that mark an alternative rendering of the same article.
_VIEW_SEGMENTS = frozenset({"amp", "print", "printable", "printer-friendly", "print-view"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Second-level labels under which registrations happen in many country domains (example.co.uk,
#: example.com.au); a compact stand-in for the public suffix list, good enough to compare two
#: hosts of one site.
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "gov", "ac", "edu", "or", "ne", "go",
                           "gob", "gouv", "nic", "mil", "ltd", "plc", "nhs", "sch", "asso"})
#: Hosting domains whose sub-domains belong to different owners (alice.github.io and
#: bob.github.io are two sites).
_SHARED_HOSTING = frozenset({"github.io", "gitlab.io", "blogspot.com", "wordpress.com",
                             "substack.com", "tumblr.com", "medium.com", "wixsite.com",
                             "netlify.app", "vercel.app", "pages.dev", "herokuapp.com",
                             "squarespace.com", "weebly.com", "ghost.io", "noblogs.org"})
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_AMP_CACHE = re.compile(r"^/(?:[cv]/)(s/)?(.+)$")
_INDEX_HTML = re.compile(r"/index\.html?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _bad_url(url: str, why: str) -> ParseError:
    return ParseError(f"cannot canonicalise URL {url[:200]!r}: {why}")


def _normalise_percent(part: str, safe: str) -> str:
    """Uppercase percent escapes, decode escaped unreserved characters, escape the unsafe."""

    def fix(m: re.Match[str]) -> str:
        ch = chr(int(m.group(0)[1:], 16))
        return ch if ch in _UNRESERVED else m.group(0).upper()

    part = _PERCENT.sub(fix, part)
    # Escape anything else that is not allowed raw (spaces, non-ASCII), keeping existing escapes.
    return quote(part, safe=safe + "%")


def _host(hostname: str, url: str) -> str:
    """The host as it is written in a URL: lower case, IDNA-encoded, an IPv6 address in its
    compressed form and in brackets (`urlsplit` hands it over without them)."""
    host = hostname.rstrip(".").lower()
    if not host:
        raise _bad_url(url, "no host")
    if ":" in host:
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError as exc:
            raise _bad_url(url, "invalid IPv6 address") from exc
    if "\\" in host or any(ch.isspace() for ch in host):
        raise _bad_url(url, "invalid host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise _bad_url(url, "host is not a valid internationalised name") from exc
    return host


def _registrable(host: str) -> str:
    """The registrable part of a host name (example.org for www.news.example.org)."""
    if host.startswith("[") or re.fullmatch(r"[0-9.]+", host):
        return host
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _SHARED_HOSTING:
        return ".".join(labels[-3:])
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _split(url: str) -> tuple[str, str, int | None, str, str, str]:
    """scheme, host, port, path, query, fragment of an absolute http(s) URL; ParseError if not."""
    if not isinstance(url, str):
        raise ParseError(f"URL must be a string, not {type(url).__name__}")
    raw = url.strip()
    if not raw:
        raise _bad_url(url, "empty")
    if "\\" in raw:
        # Browsers read a backslash as a slash, Python's parser does not: refuse the difference.
        raise _bad_url(url, "contains a backslash")
    if _CONTROL.search(raw):
        raise _bad_url(url, "contains control characters")
    try:
        parts = urlsplit(raw)
    except ValueError as exc:  # an unbalanced or invalid bracketed (IPv6) host
        raise _bad_url(url, "invalid host") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise _bad_url(url, "not an http or https URL")
    try:
        port = parts.port
    except ValueError as exc:
        raise _bad_url(url, "invalid port") from exc
    if parts.username is not None or parts.password is not None:
        raise _bad_url(url, "contains credentials")
    host = _host(parts.hostname or "", url)
    return scheme, host, port, parts.path, parts.query, parts.fragment


def _clean_path(path: str) -> str:
    path = path.split(";jsessionid=", 1)[0].split(";JSESSIONID=", 1)[0]
    path = _normalise_percent(path, safe="/:@!$&'()*+,;=-._~")
    path = re.sub(r"/{2,}", "/", path)
    # Resolve "." and ".." segments; posixpath keeps a leading "/".
    path = posixpath.normpath(path) if path else "/"
    if not path.startswith("/"):
        path = "/" + path
    path = "/" if path in ("/.", "//") else path
    # AMP and print renderings: /amp/, /amp, /print/, /print, article.amp.html
    segments = [s for s in path.split("/") if s]
    kept = [s for s in segments if s.lower() not in _VIEW_SEGMENTS]
    if kept and kept[-1].lower().endswith((".amp.html", ".amp.htm")):
        kept[-1] = re.sub(r"\.amp(\.html?)$", r"\1", kept[-1], flags=re.IGNORECASE)
    if kept and kept[-1].lower().endswith((".amp", "-amp")):
        kept[-1] = kept[-1][:-4] or kept[-1]
    path = "/" + "/".join(kept)
    path = _INDEX_HTML.sub("/", path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path


def _is_tracking(name: str, value: str) -> bool:
    low = name.lower()
    if low.startswith(_TRACKING_PREFIXES):
        return True
    if low not in _TRACKING_PARAMS:
        return False
    if low in _VIEW_PARAMS:
        return value.lower() in _VIEW_VALUES
    if low in _SOFT_PARAMS:
        return re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,40}", value) is not None
    return True


def _clean_query(query: str) -> str:
    if not query:
        return ""
    kept: list[tuple[str, str]] = []
    for item in query.split("&"):
        if not item:
            continue
        name, eq, value = item.partition("=")
        if _is_tracking(unquote(name), unquote(value)):
            continue
        name = _normalise_percent(name, safe="!$'()*+,;:@/?-._~")
        value = _normalise_percent(value, safe="!$'()*+,;=:@/?-._~")
        kept.append((name, f"{name}{'=' if eq else ''}{value}"))
    # Order does not select content on any site we know; sorting makes a=1&b=2 equal b=2&a=1.
    kept.sort()
    return "&".join(item for _, item in kept)


def _normalise(url: str) -> tuple[str, str, str, str, str]:
    scheme, host, port, path, query, fragment = _split(url)
    # Google's AMP cache (example-org.cdn.ampproject.org/c/s/example.org/path) wraps the origin.
    if host.endswith(".cdn.ampproject.org"):
        m = _AMP_CACHE.match(path)
        if m:
            inner = ("https://" if m.group(1) else "http://") + m.group(2)
            return _normalise(inner + (f"?{query}" if query else ""))
    if host.startswith("amp.") and host.count(".") >= 2:
        host = "www." + host[4:]
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    keep_fragment = fragment if fragment.startswith("!") else ""  # "#!" routes select content
    return scheme, netloc, _clean_path(path), _clean_query(query), keep_fragment


def _plain(url: str) -> str:
    return urlunsplit(_normalise(url))


def _trustworthy(declared: str, fetched: str) -> bool:
    """Whether a page's own claim of its canonical URL may replace the URL it was fetched at.

    Trusted only when it stays on the same site (same host or same registrable domain: a
    syndicated copy pointing at another organisation's site must not take that site's document
    id), is http(s), and does not point at the site's home page from an article page (a common
    template mistake that would merge every article into one).
    """
    try:
        _, d_host, _, d_path, d_query, _ = _split(declared)
        _, f_host, _, f_path, f_query, _ = _split(fetched)
    except ParseError:
        return False
    if d_host != f_host and _registrable(d_host) != _registrable(f_host):
        return False
    d_home = _clean_path(d_path) == "/" and not _clean_query(d_query)
    f_home = _clean_path(f_path) == "/" and not _clean_query(f_query)
    if d_home and not f_home:
        return False
    # Template placeholders left unrendered ({{ url }}, $url, %7B%7B...) are not addresses.
    return not re.search(r"\{\{|\}\}|%7b%7b|\$\{|\$url", declared, flags=re.IGNORECASE)


def canonical_url(url: str, *, declared: str | None = None, og_url: str | None = None) -> str:
    """The URL that identifies the page fetched at `url`; document ids are made from it.

    `declared` is the page's rel=canonical and `og_url` its og:url, as written in the page
    (relative values are resolved against `url`). The first of them that is trustworthy (see
    `_trustworthy`) replaces `url`. The result is normalised: scheme and host lower-cased,
    default port, fragment, tracking parameters, AMP and print variants, `index.html` and the
    trailing slash removed, query parameters sorted, percent escapes normalised. The scheme and
    a leading `www.` are kept as published; `url_key` folds those too.

    Raises ParseError when `url` is not an absolute http(s) URL.
    """
    base = _plain(url)
    for claim in (declared, og_url):
        if claim and claim.strip():
            try:
                absolute = urljoin(url.strip(), claim.strip())
            except ValueError:
                continue
            if _trustworthy(absolute, url):
                return _plain(absolute)
    return base


def url_key(url: str) -> str:
    """The form under which two URLs count as the same page: `canonical_url` normalisation, and
    http/https and a leading `www.` folded (`https://www.a.org/x` and `http://a.org/x/` agree).
    Not a fetchable URL: the scheme is dropped. Raises ParseError like `canonical_url`."""
    _, netloc, path, query, fragment = _normalise(url)
    if netloc.startswith("www.") and netloc.count(".") >= 2:
        netloc = netloc[4:]
    return urlunsplit(("", netloc, path, query, fragment))

# --- exact duplicates -------------------------------------------------------------------


def content_fingerprint(title: str, blocks: Sequence[str]) -> str:
    """Exact-duplicate fingerprint (64 hex digits): SHA-256 of the body's folded words.

    The title does not take part, because a republished statement often gets a new headline;
    block boundaries do not either (a re-wrapped paragraph is the same text). Only when the body
    has no words at all does the title stand in, so title-only documents are not all equal.
    """
    return _fingerprint(title, [w for block in blocks for w in words(block)])


def _fingerprint(title: str, tokens: Sequence[str]) -> str:
    body = " ".join(tokens)
    if not body:
        body = "title:" + " ".join(words(title))
    return hashlib.sha256(("v1\n" + body).encode("utf-8")).hexdigest()


def fingerprints(title: str, blocks: Sequence[str]) -> tuple[str, bytes]:
    """`content_fingerprint(title, blocks)` and `signature(blocks)` of one text, its words
    folded once for both (the folding is most of the cost of each)."""
    tokens = [w for block in blocks for w in words(block)]
    return _fingerprint(title, tokens), signature_of_words(tokens).to_bytes()


# --- decisions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredMatch:
    """A stored document found under the fetched page's `url_key`."""

    doc_id: int
    content_hash: str


@dataclass(frozen=True)
class DedupDecision:
    """What to do with a fetched text.

    action: "new" (store a new document), "unchanged" (same URL, same text: nothing to do),
    "update" (same URL, changed text: replace the text of `doc_id`, keep its id), or
    "duplicate" (another location of `doc_id`: no new corpus file, no second digest entry).
    """

    action: Literal["new", "unchanged", "update", "duplicate"]
    doc_id: int | None = None
    similarity: float | None = None
    reason: str = ""


def decide(*, content_hash: str, by_url: StoredMatch | None, by_hash: int | None,
           near: Sequence[tuple[int, float]] = (),
           by_location: int | None = None) -> DedupDecision:
    """Classify a fetched text from what the store found for it.

    `by_url`: the document whose own URL has the same `url_key`, if any; `by_hash`: a document
    with the same `content_fingerprint`; `near`: `NearDuplicateIndex.query` of its signature;
    `by_location`: a document that already lists this `url_key` among its other locations. The
    URL wins: a page edited in place stays the same document even if its new text now resembles
    another one. A known other location never rewrites the document's text (a section editing
    its copy must not overwrite the original), so it is "unchanged".
    """
    if by_url is not None:
        if by_url.content_hash == content_hash:
            return DedupDecision("unchanged", by_url.doc_id, 1.0, "same URL, same text")
        return DedupDecision("update", by_url.doc_id, None, "same URL, text edited in place")
    if by_location is not None:
        return DedupDecision("unchanged", by_location, None,
                             "URL already recorded as another location of this document")
    if by_hash is not None:
        return DedupDecision("duplicate", by_hash, 1.0, "same text under another URL")
    if near:
        doc_id, sim = max(near, key=lambda pair: (pair[1], -pair[0]))
        return DedupDecision("duplicate", doc_id, sim,
                             f"near-duplicate (estimated similarity {sim:.2f})")
    return DedupDecision("new", None, None, "no stored document matches")


@dataclass(frozen=True)
class PrimaryChoice:
    """Which text a document keeps after a duplicate arrived; the document id never changes."""

    keep: Literal["existing", "incoming"]
    reason: str
    #: the rule that decided: partial, canonical, date, marked, fuller or first
    rule: str = ""


def choose_primary(existing_words: int, incoming_words: int, *,
                   existing_partial: bool = False,
                   incoming_partial: bool = False) -> PrimaryChoice:
    """Keep the stored text unless the duplicate is clearly the fuller version of it.

    A text flagged partial (an extract's "short" flag, a feed summary instead of the page) loses
    to one that is not. Otherwise the incoming text wins only if it is FULLER_RATIO times as long
    and FULLER_MIN_EXTRA_WORDS longer: the first publication stays the reference for ordinary
    variants (a new title, a signature, a few edits), and a truncated first copy is replaced by
    the complete statement when it turns up. The id, first-seen time and every location stay.
    """
    if existing_words < 0 or incoming_words < 0:
        raise ValueError("word counts cannot be negative")
    if existing_partial != incoming_partial:
        if existing_partial:
            return PrimaryChoice("incoming", "the stored text is partial; the duplicate is not",
                                 "partial")
        return PrimaryChoice("existing", "the duplicate is partial; the stored text is not",
                             "partial")
    extra = incoming_words - existing_words
    if incoming_words >= existing_words * FULLER_RATIO and extra >= FULLER_MIN_EXTRA_WORDS:
        return PrimaryChoice("incoming", f"the duplicate is fuller ({extra} more words)",
                             "fuller")
    return PrimaryChoice("existing", "the first-stored text is kept; the duplicate is not "
                                     "substantially fuller", "first")


@dataclass(frozen=True)
class Version:
    """One location's copy of a statement, as the choice of the original sees it."""

    #: the url_keys the page is known under (fetched URL, canonical URL)
    keys: frozenset[str]
    #: url_key of another page the page declares canonical (`names_other`): it calls itself
    #: a copy of that page
    names: str | None = None
    #: the publication date the page (or its feed entry) states
    published: datetime | None = None
    #: its source is marked `original: true` in sources.yaml
    marked_original: bool = False
    words: int = 0
    #: a feed summary or an implausibly short extract, not the whole statement
    partial: bool = False


def names_other(url: str, declared: str | None) -> str | None:
    """The url_key of the page that the page fetched at `url` declares canonical, when that
    is a page of another site (a republisher pointing at the original: `canonical_url` does
    not take such a claim as the page's identity, but it says which copy is the original).
    None when the page names itself or its own site, names nothing, or names something that
    is not a page (a home page, a bad URL)."""
    if not declared or not declared.strip():
        return None
    try:
        absolute = urljoin(url.strip(), declared.strip())
        _, d_host, _, d_path, d_query, _ = _split(absolute)
        _, f_host, _, _, _, _ = _split(url)
    except (ParseError, ValueError):
        return None
    if d_host == f_host or _registrable(d_host) == _registrable(f_host):
        return None
    if _clean_path(d_path) == "/" and not _clean_query(d_query):
        return None   # another site's home page: a template mistake, not an original
    if re.search(r"\{\{|\}\}|%7b%7b|\$\{|\$url", absolute, flags=re.IGNORECASE):
        return None
    try:
        return url_key(absolute)
    except ParseError:
        return None


def _day_or_instant(a: datetime, b: datetime) -> tuple[Any, Any]:
    """Two stated dates made comparable: a date given without a time of day (midnight UTC) is
    compared with the other by calendar day, so 2024-06-01 is not "earlier" than
    2024-06-01T14:00 of the same day."""
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    if a.time() == datetime.min.time() or b.time() == datetime.min.time():
        return a.date(), b.date()
    return a, b


def choose_original(existing: Version, incoming: Version, *,
                    named: Collection[str] = ()) -> PrimaryChoice:
    """Which copy's text (and title) a document shows once a duplicate arrived.

    The original publisher's version wins; in order, the first rule that tells them apart:

    1. a partial text (a feed summary, a "short" extract) never replaces a whole one, and a
       whole one always replaces a partial one;
    2. canonical links: a copy whose page another copy declares canonical (`named`: what the
       document's other locations name; and what `existing` and `incoming` name each other)
       is the original; otherwise a page that declares another site's page canonical (it
       calls itself a copy) loses to one that does not;
    3. the earlier stated publication date (by calendar day when one of them gives no time);
    4. the source marked `original: true`;
    5. otherwise `choose_primary`: the stored text stays unless the duplicate is clearly the
       fuller version of it.

    The document id, its sequence number and its locations never change; only which of them
    is the document's own (its URL and source) follows the text.
    """
    if existing.partial != incoming.partial:
        return choose_primary(existing.words, incoming.words, existing_partial=existing.partial,
                              incoming_partial=incoming.partial)
    named_set = set(named)
    if incoming.keys & (named_set | {existing.names}):
        return PrimaryChoice("incoming", "the duplicate is the page the copies declare "
                                         "canonical", "canonical")
    if existing.keys & (named_set | {incoming.names}):
        return PrimaryChoice("existing", "the stored text's page is the one the copies declare "
                                         "canonical", "canonical")
    if incoming.names and not existing.names:
        return PrimaryChoice("existing", "the duplicate declares another page canonical",
                             "canonical")
    if existing.names and not incoming.names:
        return PrimaryChoice("incoming", "the stored text's page declares another page "
                                         "canonical; the duplicate's does not", "canonical")
    if existing.published and incoming.published:
        a, b = _day_or_instant(existing.published, incoming.published)
        if b < a:
            return PrimaryChoice("incoming", "the duplicate was published earlier", "date")
        if a < b:
            return PrimaryChoice("existing", "the stored text was published earlier", "date")
    if existing.marked_original != incoming.marked_original:
        if incoming.marked_original:
            return PrimaryChoice("incoming", "the duplicate's source is marked original",
                                 "marked")
        return PrimaryChoice("existing", "the stored text's source is marked original",
                             "marked")
    return choose_primary(existing.words, incoming.words)


@dataclass(frozen=True)
class Location:
    """One place a document was published: stored beside the document for every duplicate."""

    source_id: str
    url: str
    seen_at: str  # ISO 8601 UTC, as the store writes it
