"""What a page declares about itself: head metadata, JSON-LD, title, canonical URL, language,
author."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from .extract_walk import clean

ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "report", "scholarlyarticle", "techarticle", "pressrelease",
    "posting", "socialmediaposting", "liveblogposting", "backgroundnewsarticle", "webpage",
    "creativework", "event", "review",
})
_MAX_JSONLD_CHARS = 500_000


class Head:
    """What the document head declares, read in one pass over its children."""

    __slots__ = ("canonical", "jsonld", "metas", "title")

    def __init__(self, tree: LexborHTMLParser):
        self.metas: dict[str, str] = {}
        self.title = ""
        self.canonical: str | None = None
        scripts: list[str] = []
        head = tree.head
        for node in head.iter() if head is not None else ():
            tag = node.tag
            if tag == "meta":
                attrs = node.attributes
                key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
                content = attrs.get("content")
                if key and content and content.strip():
                    self.metas.setdefault(key.strip().lower(), content.strip())
                elif (attrs.get("http-equiv") or "").lower() == "content-language" and content:
                    self.metas.setdefault("content-language", content.strip())
            elif tag == "script":
                if (node.attrs.get("type") or "").strip().lower() == "application/ld+json":
                    scripts.append(node.text(deep=True))
            elif tag == "title":
                if not self.title:
                    self.title = clean(node.text())
            elif tag == "link" and self.canonical is None:
                link_attrs = node.attrs  # one or two look-ups: cheaper than copying them all
                href = link_attrs.get("href")
                if (link_attrs.get("rel") or "").strip().lower() == "canonical" and href:
                    self.canonical = href
        # JSON-LD in the body (rarer): looked for only when some script of the page holds a
        # JSON-LD keyword or a publication date (a scan of the scripts is a fifth of the cost
        # of the selector's walk over every element)
        if not scripts and tree.body is not None and _scripts_hold_jsonld(tree):
            scripts = [n.text(deep=True)
                       for n in tree.body.css('script[type="application/ld+json"]')[:20]]
        self.jsonld = _jsonld_objects(scripts)


def _scripts_hold_jsonld(tree: LexborHTMLParser) -> bool:
    """Whether some script of the page holds `"@` or `datePublished`: what
    `tree.scripts_contain` tells for each, for a third less (the scripts found by lexbor's
    tag index rather than by a selector search, and the first that holds one ends it).

    Asked only to know whether to search the body for JSON-LD scripts: on a page without a
    script whose type names JSON-LD that search finds nothing whatever the scripts hold, so
    such a page answers False without its scripts' text being read."""
    nodes = tree.tags("script")
    if not any("ld+json" in (node.attributes.get("type") or "").lower() for node in nodes):
        return False
    for node in nodes:
        text = node.text(deep=True)
        if '"@' in text or "datePublished" in text:
            return True
    return False


def _jsonld_objects(scripts: list[str]) -> list[dict]:
    found: list[dict] = []
    for raw in scripts:
        if not raw or len(raw) > _MAX_JSONLD_CHARS:
            continue
        try:
            data = json.loads(raw.strip().rstrip(";"))
        except ValueError:
            continue
        todo = [data]
        while todo and len(found) < 100:
            item = todo.pop(0)
            if isinstance(item, list):
                todo.extend(item)
            elif isinstance(item, dict):
                if "@graph" in item:
                    todo.extend(item["@graph"] if isinstance(item["@graph"], list) else [])
                found.append(item)
    return found


#: The schema.org types whose `articleBody` is the page's article (Article and its kinds).
_BODY_TYPES = ARTICLE_TYPES - {"webpage", "creativework", "event", "review"}


def declared_body(jsonld: list[dict]) -> str | None:
    """The article's text as the page declares it (schema.org `articleBody` of an article
    object of its JSON-LD), when exactly one text is declared (white space aside): several
    are other articles' (a list of related stories), not this page's."""
    found: dict[str, str] = {}
    for obj in jsonld:
        body = obj.get("articleBody")
        if isinstance(body, str) and not _BODY_TYPES.isdisjoint(types_of(obj)):
            key = " ".join(body.split())
            if key:
                found[key] = body
    return next(iter(found.values())) if len(found) == 1 else None


def types_of(obj: dict) -> set[str]:
    t = obj.get("@type")
    if isinstance(t, str):
        return {t.lower()}
    if isinstance(t, list):
        return {x.lower() for x in t if isinstance(x, str)}
    return set()


def _name_of(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = value.get("name")
        return name if isinstance(name, str) else None
    if isinstance(value, list):
        names = [n for n in (_name_of(v) for v in value) if n]
        return ", ".join(names) if names else None
    return None



_TITLE_SEPARATORS = re.compile(r"\s+(?:[|–—•·:»«/]|-|::)\s+")


_NON_WORD = re.compile(r"\W+")
#: The ASCII characters `_NON_WORD` matches, each to a space.
_ASCII_NON_WORD = str.maketrans(dict.fromkeys(
    (c for c in map(chr, range(128)) if _NON_WORD.match(c)), " "))


@lru_cache(maxsize=2048)
def norm(text: str) -> str:
    # (cached: a page's titles, site names and first blocks are compared several times over,
    # half of the calls repeat a text, and the pattern reads every character)
    folded = text.casefold()
    if folded.isascii():
        # the same words joined by one space, without the pattern (ASCII text: most titles)
        return " ".join(folded.translate(_ASCII_NON_WORD).split())
    return _NON_WORD.sub(" ", folded).strip()


def _strip_site(title: str, site: str | None) -> str:
    """Drop a site name glued to a `<title>` or og:title ("Headline | Site")."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    if site:
        s = norm(site)
        kept = [p for p in parts if norm(p) != s and not (s and s in norm(p) and len(p) < 40)]
        if kept and len(kept) < len(parts):
            return " – ".join(kept) if len(kept) > 1 else kept[0]
    # without a known site name, keep the longest part (headlines are longer than site names)
    longest = max(parts, key=len)
    return longest if len(longest) >= 0.5 * len(title) or len(parts[-1]) < 30 else title


def home_names(tree: LexborHTMLParser, url: str | None) -> set[str]:
    """What the page's links to its home page say (the site's name, as the page shows it)."""
    selector = 'a[rel~="home"], a[href="/"]'
    if url:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc and '"' not in parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            selector += f', a[href="{origin}/"], a[href="{origin}"]'
    names: set[str] = set()
    for link in tree.css(selector)[:10]:
        text = norm(link.text())
        if text:
            names.add(text)
        for img in link.css("img[alt]")[:2]:
            alt = norm(img.attributes.get("alt") or "")
            if alt:
                names.add(alt)
    return names


#: A title of this many words or fewer may be a site's name: checked against the home links.
_SITE_NAME_WORDS = 6


def find_title(head: Head, h1s: list[str], tree: LexborHTMLParser | None = None,
               url: str | None = None, item_title: str | None = None,
               site_names: tuple[str, ...] = ()) -> str:
    """The headline. When the page's own candidates are only the site's name (as og:site_name,
    the publisher, the home link or the caller's `site_names` — a feed's channel title — say),
    the feed item's title `item_title`; without one, "" (the body's first block stands
    first, as FORMAT.md says)."""
    ld, metas = head.jsonld, head.metas
    site = metas.get("og:site_name") or metas.get("application-name")
    for obj in ld:
        if isinstance(obj.get("publisher"), dict) and not site:
            site = _name_of(obj["publisher"])
    sites = {norm(n) for n in (site, *site_names) if n}
    sites.discard("")
    home: set[str] | None = None

    def is_site(text: str) -> bool:
        nonlocal home
        nt = norm(text)
        if nt in sites:
            return True
        # the home links are read only when every declared title says the same short thing
        # (a page whose `<title>` and og:title are both the site's name); a page declaring a
        # headline anywhere is not asked
        if tree is None or len(set(declared)) > 1 or nt.count(" ") >= _SITE_NAME_WORDS:
            return False
        if home is None:
            home = home_names(tree, url)
        return nt in home

    candidates: list[str] = []
    for obj in ld:
        if types_of(obj) & ARTICLE_TYPES - {"webpage"}:
            h = obj.get("headline") or obj.get("name")
            if isinstance(h, str):
                candidates.append(clean(h))
    for key in ("og:title", "twitter:title", "title", "headline"):
        if metas.get(key):
            candidates.append(clean(metas[key]))
    if head.title:
        candidates.append(head.title)
    declared = [norm(c) for c in candidates if c]
    # a visible h1 that agrees with the declared titles is the headline as published
    for h in h1s:
        nh = norm(h)
        if nh and any(nh == d or (len(nh) > 15 and nh in d) for d in declared) \
                and not is_site(h):
            return h
    for c in candidates:
        stripped = clean(_strip_site(c, site))
        if stripped and not is_site(stripped):
            return stripped
    for h in h1s:
        if not is_site(h):
            return h
    return clean(item_title) if item_title else ""


def canonical_url(head: Head, url: str | None) -> str | None:
    raw = head.canonical or head.metas.get("og:url")
    if not raw:
        return None
    raw = raw.strip()
    parts = urlsplit(raw)
    if url and not (parts.scheme in ("http", "https") and parts.netloc and raw.startswith(
            ("http://", "https://")) and not any(c in raw for c in _URL_REWRITTEN)):
        # relative (or oddly written): resolve against the page's URL; an absolute URL in
        # plain form would come back unchanged, so the common case skips the work
        raw = urljoin(url, raw)
        parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return raw


#: Characters `urljoin` drops or rewrites in an absolute URL (empty query, fragment or
#: parameters; tabs and line breaks).
_URL_REWRITTEN = "?#;\t\n\r"


def language(tree: LexborHTMLParser, metas: dict[str, str]) -> str | None:
    html = tree.root
    lang = html.attributes.get("lang") if html is not None and html.tag == "html" else None
    lang = lang or metas.get("content-language") or metas.get("og:locale") or metas.get("language")
    if not lang:
        return None
    lang = lang.strip().replace("_", "-").split(",")[0]
    return lang.lower() if re.fullmatch(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", lang) else None


def author(ld: list[dict], metas: dict[str, str]) -> str | None:
    for obj in ld:
        if types_of(obj) & ARTICLE_TYPES and obj.get("author"):
            name = _name_of(obj["author"])
            if name:
                return clean(name) or None
    for key in ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator"):
        value = metas.get(key)
        if value and not value.startswith(("http://", "https://")):
            return clean(value) or None
    return None
