"""Auto-discovery: given a site or section URL, choose how to follow it and say why.

In order: the URL is itself a feed or sitemap; a feed the page links with <link rel=alternate>
(section feeds before site-wide ones, comment feeds never); the usual feed paths of WordPress,
Joomla, Drupal, Blogger and Ghost (and a few generic ones); for a site's home page, a (news)
sitemap named in robots.txt or at the usual paths; else the page itself as a listing page.
Every candidate must really be a feed with at least one entry (a cheap sniff, no full parse),
so a broken feed link falls through to the next method. The number of requests is bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from .. import limits
from ..browser import empty_shell
from ..channels.social import KIND as SOCIAL
from ..channels.social import profile_feed
from ..encoding import decode_html
from ..errors import FetchError, ParseError
from ..models import Fetched
from ..sniff import sniff
from .links import normalise_url, same_site
from .page import find_links
from .sitemap import parse_sitemap

Fetch = Callable[[str], Awaitable[Fetched]]


@dataclass(frozen=True)
class Discovery:
    """The method chosen for a source: `kind` is feed, sitemap, page or social (a profile's
    feed of whole posts); `url` is what to poll;
    `reason` says why in one sentence; `tried` lists every URL looked at and what it gave."""

    kind: str
    url: str
    reason: str
    tried: tuple[tuple[str, str], ...] = ()


_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json",
               "application/json", "application/rdf+xml", "application/xml", "text/xml")
#: Root elements of feeds (by local name) and the format each one is.
_FEED_ROOTS = {"rss": "RSS", "feed": "Atom", "rdf": "RSS 1.0"}
_FEED_ENTRY = re.compile(rb"<(item|entry)[\s>/]", re.IGNORECASE)
_FEED_ENTRY_TEXT = re.compile(r"<(item|entry)[\s>/]", re.IGNORECASE)
_SITEMAP_ROOT = re.compile(rb"<(\w+:)?(urlset|sitemapindex)\b", re.IGNORECASE)

#: Feed paths by CMS, relative to the page's directory (section feeds exist on all of these).
_CMS_FEEDS = {
    "wordpress": ["feed/", "?feed=rss2"],
    "joomla": ["?format=feed&type=rss", "index.php?format=feed&type=rss"],
    "drupal": ["rss.xml", "/rss.xml", "feed"],
    "blogger": ["/feeds/posts/default", "/feeds/posts/default?alt=rss"],
    "ghost": ["rss/", "/rss/"],
}
_GENERIC_FEEDS = ["feed/", "rss/", "rss.xml", "feed.xml", "atom.xml", "index.xml"]
_SITEMAP_PATHS = ["/news-sitemap.xml", "/sitemap-news.xml", "/sitemap_news.xml",
                  "/sitemap_index.xml", "/sitemap.xml"]


def sniff_feed(body: bytes) -> tuple[str | None, int]:
    """(format, number of entries) if the body is an RSS/Atom/RDF/JSON feed, else (None, 0).
    The root element decides (sniff.py's rule, the fetcher's too), in whatever encoding."""
    found = sniff(body)
    if found.kind == "json":
        try:
            data = json.loads(body.decode(found.encoding or "utf-8").lstrip("\ufeff"))
        except (UnicodeDecodeError, ValueError):
            return None, 0
        if isinstance(data, dict) and "jsonfeed.org" in str(data.get("version", "")):
            items = data.get("items")
            return "JSON Feed", len(items) if isinstance(items, list) else 0
        return None, 0
    name = _FEED_ROOTS.get(found.root_local) if found.kind == "xml" else None
    if name is None:
        return None, 0
    if found.encoding is None:
        return name, len(_FEED_ENTRY.findall(body))
    text = body.decode(found.encoding, errors="replace")
    return name, len(_FEED_ENTRY_TEXT.findall(text))


def detect_cms(html: str) -> str | None:
    """The CMS that made a page, from its generator tag and telltale paths, or None."""
    tree = LexborHTMLParser(html[: limits.MAX_HTML_BYTES])
    generator = " ".join((n.attributes.get("content") or "")
                         for n in tree.css("meta[name=generator], meta[name=Generator]")).lower()
    for name in ("wordpress", "joomla", "drupal", "blogger", "ghost"):
        if name in generator:
            return name
    if "/wp-content/" in html or "/wp-json/" in html:
        return "wordpress"
    if "data-drupal-selector" in html or "/sites/default/files/" in html:
        return "drupal"
    if "blogger.com" in html and "/feeds/posts/default" in html:
        return "blogger"
    return None


def feed_links(html: str, base_url: str) -> list[str]:
    """Feeds a page announces with <link rel=alternate>: comment feeds dropped, feeds of the
    page's own section first, then the rest in page order."""
    tree = LexborHTMLParser(html[: limits.MAX_HTML_BYTES])
    section = urlsplit(base_url).path or "/"
    found: list[str] = []
    for node in tree.css("link[rel][href]"):
        rels = (node.attributes.get("rel") or "").lower().split()
        kind = (node.attributes.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or kind not in _FEED_TYPES or kind in ("text/xml",):
            continue
        title = (node.attributes.get("title") or "").lower()
        url = normalise_url(node.attributes.get("href") or "", base_url)
        if url is None or "comment" in title or "/comments/" in url or url in found:
            continue
        found.append(url)
    if section != "/":
        found.sort(key=lambda u: not urlsplit(u).path.startswith(section))
    return found


def _guesses(cms: str | None, base_url: str) -> list[str]:
    base = base_url if base_url.endswith("/") else base_url.rsplit("/", 1)[0] + "/"
    paths = (_CMS_FEEDS.get(cms, []) if cms else []) + _GENERIC_FEEDS
    out: list[str] = []
    for path in paths:
        url = normalise_url(urljoin(base, path), base_url)
        if url and url not in out:
            out.append(url)
    return out


class _Prober:
    """Fetches within a request budget and records what every URL gave."""

    def __init__(self, fetch: Fetch, budget: int):
        self.fetch = fetch
        self.budget = budget
        self.tried: list[tuple[str, str]] = []

    async def get(self, url: str) -> Fetched | None:
        if any(url == seen for seen, _ in self.tried):
            return None
        if self.budget <= 0:
            self.tried.append((url, "not tried: request budget spent"))
            return None
        self.budget -= 1
        try:
            return await self.fetch(url)
        except FetchError as exc:
            outcome = f"HTTP {exc.status}" if exc.status else exc.kind
            self.tried.append((url, f"failed: {outcome}"))
            return None

    def note(self, url: str, outcome: str) -> None:
        self.tried.append((url, outcome))

    async def feed(self, url: str) -> tuple[str, int] | None:
        fetched = await self.get(url)
        if fetched is None:
            return None
        kind, entries = sniff_feed(fetched.content)
        if kind is None:
            self.note(url, f"not a feed ({fetched.content_type or 'no content type'})")
            return None
        if entries == 0:
            self.note(url, f"{kind} feed with no entries")
            return None
        self.note(url, f"{kind} feed with {entries} entries")
        return kind, entries


def _is_home(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in ("", "/") or bool(re.fullmatch(r"/index\.\w+", parts.path))


async def discover(url: str, fetch: Fetch, *,
                   max_fetches: int = limits.MAX_DISCOVERY_FETCHES) -> Discovery:
    """Choose how to follow `url`. Raises FetchError if the URL itself cannot be fetched and
    ParseError if it is neither HTML nor a feed nor a sitemap."""
    probe = _Prober(fetch, max_fetches - 1)
    profile = profile_feed(url)
    if profile is not None:
        found = await probe.feed(profile[0])
        if found:
            return Discovery(SOCIAL, profile[0], f"the URL is a {profile[1]}; its {found[0]} "
                             f"feed has {found[1]} posts", tuple(probe.tried))
    page = await fetch(url)
    base = page.final_url or url
    kind, entries = sniff_feed(page.content)
    if kind:
        probe.note(base, f"{kind} feed with {entries} entries")
        return Discovery("feed", base, f"the URL is itself a {kind} feed", tuple(probe.tried))
    if _SITEMAP_ROOT.search(page.content[:4096]) or page.content.startswith(b"\x1f\x8b"):
        result = parse_sitemap(page.content, base)
        what = "sitemap index" if result.is_index else (
            "news sitemap" if result.is_news else "sitemap")
        probe.note(base, f"{what} with {len(result.candidates) or len(result.sitemaps)} entries")
        return Discovery("sitemap", base, f"the URL is itself a {what}", tuple(probe.tried))
    if page.content_type and "html" not in page.content_type and b"<html" not in \
            page.content[:2048].lower():
        raise ParseError(f"{url} is {page.content_type}, not a web page, feed or sitemap")
    html = decode_html(page.content, page.headers.get("content-type"))
    probe.note(base, "web page")

    for feed_url in feed_links(html, base):
        found = await probe.feed(feed_url)
        if found:
            return Discovery("feed", feed_url,
                             f"the page links this {found[0]} feed ({found[1]} entries)",
                             tuple(probe.tried))

    cms = detect_cms(html)
    for guess in _guesses(cms, base):
        if not same_site(guess, base):
            continue
        found = await probe.feed(guess)
        if found:
            origin = f"the usual {cms.capitalize()} feed path" if cms else "a usual feed path"
            return Discovery("feed", guess,
                             f"the page links no working feed, but {origin} has a {found[0]} "
                             f"feed ({found[1]} entries)", tuple(probe.tried))

    if _is_home(base):
        found_map = await _find_sitemap(probe, base)
        if found_map:
            return Discovery("sitemap", found_map[0],
                             f"no feed found; the site has a {found_map[1]}", tuple(probe.tried))

    links = find_links(html, base)
    where = "the site's home page" if _is_home(base) else "this section"
    shell = empty_shell(html)
    if shell is not None and len(links) < 3:
        return Discovery("page", base, f"no working feed for {where}, and the page is {shell}: "
                         f"it is read as a listing page, but set `render: browser` on this "
                         f"source to see what a reader sees", tuple(probe.tried))
    if links:
        reason = (f"no working feed{' or sitemap' if _is_home(base) else ''} for {where}; "
                  f"the page lists {len(links)} article links, so it is read as a listing page")
    else:
        reason = (f"no working feed{' or sitemap' if _is_home(base) else ''} for {where}, and "
                  "no article links found on the page yet; it is read as a listing page "
                  "(add selectors if it stays empty)")
    return Discovery("page", base, reason, tuple(probe.tried))


async def _find_sitemap(probe: _Prober, base: str) -> tuple[str, str] | None:
    origin = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"
    declared: list[str] = []
    robots = await probe.get(origin + "/robots.txt")
    if robots is not None:
        for line in robots.content[:65536].decode("utf-8", "replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "sitemap":
                url = normalise_url(value.strip(), origin + "/")
                if url and same_site(url, base) and url not in declared:
                    declared.append(url)
        probe.note(origin + "/robots.txt", f"names {len(declared)} sitemap(s)")
    candidates = declared + [origin + p for p in _SITEMAP_PATHS if origin + p not in declared]
    # News sitemaps first: they carry titles and publication dates of recent statements.
    candidates.sort(key=lambda u: "news" not in u.lower())
    for url in candidates:
        fetched = await probe.get(url)
        if fetched is None:
            continue
        try:
            result = parse_sitemap(fetched.content, url)
        except ParseError as exc:
            probe.note(url, f"not a sitemap ({exc})")
            continue
        if result.is_index and result.sitemaps:
            probe.note(url, f"sitemap index of {len(result.sitemaps)} sitemaps")
            return url, "sitemap index"
        dated = sum(1 for c in result.candidates if c.published)
        if result.candidates and dated:
            what = "news sitemap" if result.is_news else "sitemap with modification dates"
            probe.note(url, f"{what}, {len(result.candidates)} URLs")
            return url, what
        probe.note(url, "sitemap without dates" if result.candidates else "empty sitemap")
    return None
