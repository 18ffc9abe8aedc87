"""URL helpers shared by the discovery modules: normalising links, telling one site from another,
and recognising the URLs of site furniture (tags, authors, pagination, feeds, assets).

Pure functions on strings; no parsing of pages here.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

#: Query parameters that only track where a click came from; they never name another page.
_TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z]+|fbclid|gclid|dclid|mc_cid|mc_eid|_hsenc|_hsmi|ref_src)$", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}

#: Path segments that name a list of things (taxonomy, people, search, paging, feeds, accounts)
#: rather than one statement; anything below them is a list too.
_LIST_SEGMENTS = frozenset({
    "tag", "tags", "category", "categories", "author", "authors", "label", "search", "page",
    "feed", "feeds", "user", "users", "account", "profile", "taxonomy", "topic", "topics",
    "keyword", "keywords", "comments", "wp-admin", "people",
})
#: Single pages of site furniture (a one-segment path naming one of these is never a statement).
_FURNITURE_PAGES = _LIST_SEGMENTS | frozenset({
    "rss", "atom", "login", "logout", "register", "contact", "about", "privacy", "cookies",
    "terms", "sitemap", "archive", "archives", "subscribe", "newsletter", "cart", "basket",
    "checkout", "imprint", "impressum", "legal", "accessibility", "faq", "help", "jobs",
    "careers", "donate", "wp-login.php",
})
#: Final segments that are a view of some other page (its feed, print or AMP version).
_VIEW_SEGMENTS = frozenset({"feed", "rss", "atom", "amp", "print", "comments", "trackback"})
_QUERY_FURNITURE = frozenset({"page", "paged", "p_page", "start", "offset", "tag", "cat",
                              "category", "author", "s", "q", "search", "feed", "format",
                              "replytocom", "share", "print", "lang"})
_ASSET_EXT = re.compile(
    r"\.(jpe?g|png|gif|webp|svg|ico|bmp|tiff?|css|js|mjs|json|xml|rss|atom|zip|gz|tgz|rar|7z|"
    r"mp3|mp4|m4a|ogg|wav|webm|mov|avi|woff2?|ttf|eot|exe|dmg|apk|doc|xlsx?|pptx?|csv|ics)$",
    re.IGNORECASE)
_NON_HTTP = re.compile(r"^\s*(javascript|mailto|tel|sms|data|file|ftp|about|blob):", re.IGNORECASE)

#: A date in a URL path (/2024/05/ or /2024/05/17/) marks a dated post.
_DATE_IN_PATH = re.compile(r"/(19|20)\d\d/(0?[1-9]|1[0-2])(/|$)")
#: A path that is nothing but a date archive (/2024/, /2024/05/, /2024/05/17/).
_DATE_ARCHIVE = re.compile(r"^/((19|20)\d\d)(/\d\d?){0,2}/?$")


def normalise_url(href: str, base_url: str) -> str | None:
    """The absolute, normalised form of a link, or None if it does not name an http(s) page.

    Lower-cased scheme and host, default port dropped, fragment dropped, tracking parameters
    dropped, an empty path made `/`. Other query parameters keep their order (some sites need it).
    """
    href = (href or "").strip()
    if not href or href.startswith("#") or _NON_HTTP.match(href) or "\\" in href:
        return None
    try:
        absolute = urljoin(base_url, href)
        parts = urlsplit(absolute)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal: in brackets, in its one compressed spelling
        try:
            host = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING_PARAMS.match(k)])
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def site_key(url: str) -> str:
    """The host a URL belongs to, without a leading `www.`, for same-site comparisons."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host.removeprefix("www.")
    return f"{host}:{parts.port}" if parts.port else host


def same_site(url: str, other: str) -> bool:
    return site_key(url) == site_key(other)


def path_segments(url: str) -> list[str]:
    return [s for s in urlsplit(url).path.split("/") if s]


def is_furniture_url(url: str, listing_url: str) -> bool:
    """True for links that cannot be one statement: the listing itself or a page above it, the
    home page, taxonomy/author/search/paging/feed/account pages, date archives and assets."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if path == "/" and not parts.query:
        return True
    listing = urlsplit(listing_url)
    if parts.netloc == listing.netloc:
        lpath = listing.path or "/"
        # The listing itself, or a section above it (breadcrumbs, "all news").
        if (path.rstrip("/") == lpath.rstrip("/") and parts.query == listing.query) or (
                lpath.startswith(path.rstrip("/") + "/") and not parts.query):
            return True
    if _ASSET_EXT.search(path) or _DATE_ARCHIVE.match(path):
        return True
    segments = [s.lower() for s in path.split("/") if s]
    if len(segments) == 1 and segments[0] in _FURNITURE_PAGES:
        return True
    if any(s in _LIST_SEGMENTS for s in segments[:-1]):
        return True
    if segments and segments[-1] in _VIEW_SEGMENTS:
        return True
    if segments and segments[-1].isdigit() and len(segments) >= 2 and segments[-2] == "page":
        return True
    query_keys = {k.lower() for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    return bool(query_keys & _QUERY_FURNITURE)


def looks_like_article_url(url: str) -> bool:
    """A URL shaped like one statement: a multi-word slug, a numeric id, a dated path or a page
    file name. Section names (`/news/`, `/about-us`) usually fail the slug test by length."""
    path = urlsplit(url).path
    query = urlsplit(url).query
    segments = [s for s in path.split("/") if s]
    if not segments:
        return bool(re.search(r"(^|&)(id|p|article|story|item|node)=\d+", query))
    last = segments[-1]
    stem = re.sub(r"\.(s?html?|php|aspx?|jsp|cfm|pdf|docx|odt)$", "", last, flags=re.IGNORECASE)
    words = [w for w in re.split(r"[-_+.]+", stem) if w]
    if len(words) >= 3:
        return True
    if re.search(r"\d{3,}", stem):
        return True
    if _DATE_IN_PATH.search(path) and len(segments) >= 3:
        return True
    if stem != last and len(segments) >= 2:  # a page file below a section
        return True
    return bool(re.search(r"(^|&)(id|p|article|story|item|node)=\d+", query))


#: Month names as listing pages print them (English, French, German, Spanish, Italian, Dutch),
#: lower case and without accents or a final dot.
_MONTH_NUMBERS = {
    **{m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                    "oct", "nov", "dec"), 1)},
    "sept": 9, "january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    "januar": 1, "februar": 2, "marz": 3, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "settembre": 9, "ottobre": 10, "dicembre": 12,
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8,
}
_MONTH_WORD = r"[^\W\d_]{3,10}\.?"
#: Dates as listing pages print them: ISO; day month year; month day, year; numeric d.m.y.
_DATE_TEXT = re.compile(
    r"\b(?P<iso>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?)"
    rf"|\b(?P<d1>\d{{1,2}})(?:st|nd|rd|th|er)?\.?\s+(?:de\s+)?(?P<m1>{_MONTH_WORD})\s+"
    r"(?:de\s+)?(?P<y1>\d{4})\b"
    rf"|\b(?P<m2>{_MONTH_WORD})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}})\b"
    r"|\b(?P<d3>\d{1,2})[./](?P<m3>\d{1,2})[./](?P<y3>\d{4})\b",
    re.IGNORECASE)


def _month(word: str) -> int | None:
    plain = unicodedata.normalize("NFKD", word.lower().rstrip(".")).encode("ascii", "ignore")
    return _MONTH_NUMBERS.get(plain.decode())


def parse_date(text: str | None) -> datetime | None:
    """A datetime in UTC from a date as printed on a page or in an attribute, or None.

    Dates without a zone are taken as UTC; numeric dates are read day first (03/04/2024 is
    3 April, the common form outside the USA); month names in six languages are understood.
    """
    if not text:
        return None
    for match in _DATE_TEXT.finditer(text[:300]):
        try:
            if match.group("iso"):
                value = datetime.fromisoformat(match.group("iso").replace("Z", "+00:00"))
            else:
                if match.group("d1"):
                    day, month, year = match.group("d1"), _month(match.group("m1")), \
                        match.group("y1")
                elif match.group("m2"):
                    day, month, year = match.group("d2"), _month(match.group("m2")), \
                        match.group("y2")
                else:
                    day, month, year = match.group("d3"), int(match.group("m3")), \
                        match.group("y3")
                if not month:
                    continue
                value = datetime(int(year), month, int(day))
        except ValueError:
            continue
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return None
