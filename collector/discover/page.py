"""Listing pages: the article links of a page that lists statements, and its next page.

Without selectors the links are found by structure: links are grouped by the tag path that
leads to them, and a group is kept when it looks like a repeated list of articles (distinct
same-site URLs shaped like articles, with headline-like text or headings). Links in site
furniture (navigation, sidebars, footers, breadcrumbs, pagination, tag and author lists) and
URLs of furniture (tags, authors, archives, feeds, assets) never count. Selectors from
sources.yaml replace the heuristics for one source. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from .. import limits
from ..document import clean_line
from ..documents import url_kind
from ..errors import ParseError
from ..models import Candidate
from . import table
from .links import (
    is_furniture_url,
    looks_like_article_url,
    normalise_url,
    parse_date,
    same_site,
    site_key,
)

#: Class/id words of site furniture. A token matches when it equals the word, starts with
#: `word-` or ends with `-word` (so `menu-item` and `site-footer` match, `content-sidebar-wrap`
#: does not).
_FURNITURE_WORDS = frozenset({
    "nav", "navbar", "navigation", "menu", "submenu", "subnav", "breadcrumb", "breadcrumbs",
    "pagination", "pager", "paging", "sidebar", "widget", "footer", "share", "sharing",
    "social", "tags", "tag", "tagcloud", "tag-cloud", "categories", "comments", "related",
    "popular", "trending", "most-read", "mostread", "cookie", "cookies", "newsletter", "skip",
    "masthead", "site-header", "topbar", "toolbar", "dropdown", "byline", "author", "meta",
    "cat-links", "languages", "language-switcher", "login", "ad", "ads", "advert",
    "sponsored",
})
#: Class/id tokens of one story or of the main content.
_LANDMARK_TOKENS = frozenset({
    "post", "hentry", "entry", "article", "story", "teaser", "card", "views-row", "blog-item",
    "news-item", "item", "main", "main-content", "content", "site-main", "post-outer",
})
_FURNITURE_ROLES = frozenset({"navigation", "complementary", "contentinfo", "banner", "search"})
_FURNITURE_TAGS = frozenset({"nav", "aside", "form", "select", "button", "template"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TITLE_CLASS = re.compile(r"title|headline|heading|teaser-link|story-link", re.IGNORECASE)
_SPLIT_TOKENS = re.compile(r"[\s]+")


@dataclass(frozen=True)
class _Link:
    url: str
    text: str
    heading: bool        # inside a heading, or marked as a title by its class
    signature: tuple[str, ...]
    node: LexborNode
    index: int = 0       # position among the page's links


def _tokens(node: LexborNode) -> list[str]:
    attrs = node.attributes
    raw = " ".join(v for v in (attrs.get("class"), attrs.get("id")) if v)
    return [t.lower().replace("_", "-") for t in _SPLIT_TOKENS.split(raw) if t]


#: Class prefixes that name a post's own taxonomy (WordPress writes `tag-rivers`,
#: `category-press` on every article), not a region of the page.
_TAXONOMY_CLASS = re.compile(r"^(tag|category|post|format|status|type|author|node|views|page)-")


def _is_furniture_token(token: str) -> bool:
    if token in _FURNITURE_WORDS:
        return True
    if _TAXONOMY_CLASS.match(token) and token not in ("tag-cloud", "page-numbers"):
        return False
    head, _, _ = token.partition("-")
    tail = token.rsplit("-", 1)[-1]
    return "-" in token and (head in _FURNITURE_WORDS or tail in _FURNITURE_WORDS)


def _language_mark(token: str) -> bool:
    return token in _LANGUAGE_MARKS or token.rsplit("-", 1)[-1] in _LANGUAGE_MARKS


def _is_landmark(node: LexborNode) -> bool:
    """An element that is one story or the main content: furniture classes above it (Blogger
    wraps the whole blog in a "widget") say nothing about the links inside it."""
    if node.tag in ("article", "main"):
        return True
    if (node.attributes.get("role") or "").lower() in ("main", "article"):
        return True
    return any(t in _LANDMARK_TOKENS for t in _tokens(node))


#: Class words that mark a list of a statement's languages: furniture for article links (a
#: site's language switcher), but the very place a row's language versions stand.
_LANGUAGE_MARKS = frozenset({"languages", "language", "language-switcher", "lang", "langs",
                             "translations", "versions"})


def _in_furniture(node: LexborNode, *, languages_ok: bool = False) -> bool:
    """True if the link sits in navigation, a sidebar, a site header/footer or similar, looking
    upwards from the link to the nearest story or main-content element. With `languages_ok`,
    an element marked as a list of languages does not count as furniture."""
    ancestors = []
    cur = node.parent
    while cur is not None and cur.tag not in ("body", "html", "-document"):
        ancestors.append(cur)
        cur = cur.parent
    inside_article = any(a.tag in ("article", "main") for a in ancestors)
    for anc in [node, *ancestors]:
        if anc.tag in _FURNITURE_TAGS:
            return True
        if anc.tag in ("header", "footer") and not inside_article:
            return True
        role = (anc.attributes.get("role") or "").lower()
        if role in _FURNITURE_ROLES:
            return True
        label = (anc.attributes.get("aria-label") or "").lower()
        if "breadcrumb" in label or "pagination" in label:
            return True
        if any(_is_furniture_token(t) and not (languages_ok and _language_mark(t))
               for t in _tokens(anc)):
            return True
        if _is_landmark(anc):
            return False
    return False


def _signature(node: LexborNode) -> tuple[str, ...]:
    """The tag path from <body> to the link: repeated list items share it."""
    path = []
    cur: LexborNode | None = node
    while cur is not None and cur.tag not in ("body", "html", "-document"):
        path.append(cur.tag or "")
        cur = cur.parent
    return tuple(reversed(path))


def _is_heading_link(node: LexborNode) -> bool:
    if node.css_first("h1, h2, h3, h4, h5, h6") is not None:
        return True
    cur: LexborNode | None = node
    for depth in range(4):
        if cur is None:
            break
        if cur.tag in _HEADINGS:
            return True
        if depth < 3 and any(_TITLE_CLASS.search(t) for t in _tokens(cur)):
            return True
        cur = cur.parent
    return False


def _link_text(node: LexborNode) -> str:
    """The headline a link shows: a heading inside a card-style link, else its text, its title
    attribute or its image's alt text."""
    inner = node.css_first("h1, h2, h3, h4, h5, h6, [class*=title], [class*=headline]")
    if inner is not None:
        text = clean_line(inner.text(separator=" "))
        if text:
            return text
    text = clean_line(node.text(separator=" "))
    if not text:
        text = clean_line(node.attributes.get("title") or "")
    if not text:
        img = node.css_first("img[alt]")
        if img is not None:
            text = clean_line(img.attributes.get("alt") or "")
    return text


def _parse(html: str) -> LexborHTMLParser:
    if len(html) > limits.MAX_HTML_BYTES:
        html = html[: limits.MAX_HTML_BYTES]
    return LexborHTMLParser(html)


def _node_date(node: LexborNode) -> datetime | None:
    """A date carried by one element: a datetime/content attribute, else its text."""
    for attr in ("datetime", "content", "data-date", "title"):
        value = node.attributes.get(attr)
        if value:
            found = parse_date(value)
            if found:
                return found
    return parse_date(node.text(separator=" "))


def _date_near(link: LexborNode, url: str, base_url: str,
               articles: set[str] | None = None) -> datetime | None:
    """The date printed in the link's own list item: the nearest ancestor (up to five levels)
    that links to no other article, searched for <time>, date-like classes, then its text."""
    cur = link.parent
    for _ in range(5):
        if cur is None or cur.tag in ("body", "html", "main"):
            return None
        others = {normalise_url(a.attributes.get("href") or "", base_url)
                  for a in cur.css("a[href]")}
        others.discard(None)
        if articles is not None:
            others &= articles
        if others - {url}:
            return None  # this ancestor already spans the neighbouring item
        for time_node in cur.css("time"):
            found = _node_date(time_node)
            if found:
                return found
        for dated in cur.css("[class*=date], [class*=time], [class*=posted], [class*=published], "
                             "[itemprop]"):
            if dated.attributes.get("itemprop") not in (None, "datePublished", "dateCreated"):
                continue
            found = _node_date(dated)
            if found:
                return found
        found = parse_date(cur.text(separator=" "))
        if found:
            return found
        cur = cur.parent
    return None


#: Hosts of social networks and sharing services: links there are share buttons or profiles,
#: never the list of a source's own posts.
_SOCIAL_HOSTS = re.compile(
    r"(^|\.)(facebook\.com|twitter\.com|x\.com|linkedin\.com|instagram\.com|youtube\.com|"
    r"youtu\.be|tiktok\.com|whatsapp\.com|wa\.me|reddit\.com|pinterest\.com|t\.me|"
    r"telegram\.me|vk\.com|threads\.net|bsky\.app|flickr\.com|google\.com|apple\.com)$")
#: Share and intent URLs on any host (`?url=https…` carries the page being shared).
_SHARE_URL = re.compile(r"(intent/tweet|sharer|sharearticle|/share\b|[?&](url|u|link)=https?)",
                        re.IGNORECASE)


@dataclass
class _Found:
    links: list[_Link]                     # same-site links outside furniture
    variants: list[table.Variant]          # "EN", "PDF": a row's other languages or formats
    offsite: dict[str, list[_Link]]        # other hosts' links outside furniture, by host


def _collect(tree: LexborHTMLParser, base_url: str) -> _Found:
    found = _Found([], [], {})
    root = tree.body or tree.root
    if root is None:
        return found
    for count, anchor in enumerate(root.css("a[href]")):
        if count >= limits.MAX_LISTING_LINKS:
            break
        url = normalise_url(anchor.attributes.get("href") or "", base_url)
        if url is None:
            continue
        if (anchor.attributes.get("rel") or "").lower() in ("nofollow tag", "tag", "author",
                                                            "next", "prev", "category"):
            continue
        text = _link_text(anchor)
        variant = table.variant_of(text, url, anchor.attributes.get("hreflang"), anchor, count)
        if variant is not None and (url_kind(url) or looks_like_article_url(url)):
            # (a language switcher's "/fr/" is a section, not a version of one statement)
            if not _in_furniture(anchor, languages_ok=True) and not _SHARE_URL.search(url):
                found.variants.append(variant)
            continue
        if is_furniture_url(url, base_url):
            continue
        own = same_site(url, base_url)
        if not own and (_SHARE_URL.search(url)
                        or _SOCIAL_HOSTS.search(site_key(url).split(":")[0])):
            continue
        if _in_furniture(anchor):
            continue
        link = _Link(url=url, text=text, heading=_is_heading_link(anchor),
                     signature=_signature(anchor), node=anchor, index=count)
        if own:
            found.links.append(link)
        else:
            found.offsite.setdefault(site_key(url), []).append(link)
    return found


def _is_article_group(group: list[_Link]) -> bool:
    """Decide whether links sharing one tag path are a list of articles."""
    urls = {link.url for link in group}
    texts = [link.text for link in group if link.text]
    if not texts:
        return False
    words = statistics.median(len(t.split()) for t in texts)
    heading = sum(link.heading for link in group) / len(group)
    article_urls = sum(looks_like_article_url(u) for u in urls) / len(urls)
    distinct = len(urls) / len(group)
    distinct_texts = len(set(texts)) / len(texts)
    if distinct < 0.6 or (len(texts) > 2 and distinct_texts < 0.5):
        return False  # the same few targets again and again: tags, authors, "read more"
    if len(urls) == 1:
        # A lone link (a featured story) must look like a headline on all counts.
        return heading == 1 and words >= 3 and article_urls == 1
    if article_urls >= 0.5 and (heading >= 0.5 or words >= 3):
        return True
    if len(urls) >= 3 and heading >= 0.8 and words >= 3:
        # Several distinct headline links in repeated blocks: a list of stories, whatever
        # their URLs look like (short slugs such as /news/statement-5/).
        return True
    return heading >= 0.8 and words >= 2 and article_urls >= 0.3


def _one_per_item(chosen: list[_Link]) -> list[_Link]:
    """Drop a short second link beside a story's headline in the same element (a "PDF" or
    "video" version of the same statement)."""
    out = []
    for link in chosen:
        parent = link.node.parent
        if len(link.text.split()) <= 2 and parent is not None:
            siblings = [o for o in chosen if o.url != link.url and o.node.parent is not None
                        and o.node.parent.mem_id == parent.mem_id]
            if any(len(o.text.split()) > len(link.text.split()) for o in siblings):
                continue
        out.append(link)
    return out


def _articles(links: list[_Link]) -> list[_Link]:
    """The links of `links` that belong to lists of articles, one per story."""
    groups: dict[tuple[str, ...], list[_Link]] = {}
    for link in links:
        groups.setdefault(link.signature, []).append(link)
    kept = {sig for sig, group in groups.items() if _is_article_group(group)}
    return _one_per_item([link for link in links if link.signature in kept])


def _other_host(found: _Found, own: list[_Link]) -> list[_Link]:
    """The article links on another host, when the page's main list points there link after
    link (a blog on a platform domain, a second domain): at least three stories on one host,
    and no fewer than the page lists on its own host. A host linked once or twice (a news
    site quoted, a donation platform) never qualifies."""
    best: list[_Link] = []
    own_urls = {link.url for link in own}
    for links in found.offsite.values():
        if len({link.url for link in links}) < 3:
            continue
        chosen = _articles(links)
        urls = {link.url for link in chosen}
        if len(urls) >= 3 and len(urls) >= len(own_urls) and len(urls) > len(
                {link.url for link in best}):
            best = chosen
    return best


def find_links(html: str, base_url: str, *,
               selectors: Mapping[str, str] | None = None,
               language: str | None = None) -> list[Candidate]:
    """The article links of a listing page, in page order, each URL once.

    `key` and `url` are the normalised absolute URL; `title` is the headline text (the heading
    link's text where a story has several links); `published` is a date printed in the story's
    own block, if any. Where a story's row also offers other languages or formats, `url` is the
    one `language` and the format preference choose (collector.discover.table) and
    `alternates` holds the others. The list may point at another host when the page's main
    list does. With `selectors` (items, link, title, date) those decide instead.
    Raises ParseError for a selector that is not valid CSS.
    """
    tree = _parse(html)
    if selectors and any(selectors.get(k) for k in ("items", "link", "title", "date")):
        return _find_with_selectors(tree, base_url, selectors)
    found = _collect(tree, base_url)
    links = found.links
    chosen = _articles(links)
    elsewhere = _other_host(found, chosen)
    if elsewhere:
        chosen = sorted([*chosen, *elsewhere], key=lambda link: link.index)
        links = [*links, *(link for group in found.offsite.values() for link in group)]
    # Other links to a chosen URL (an image, a "read more") may carry a better title.
    by_url: dict[str, list[_Link]] = {}
    for link in links:
        by_url.setdefault(link.url, []).append(link)
    chosen_urls = {link.url for link in chosen}
    chosen_ids = {v.node.mem_id for link in chosen for v in by_url[link.url]}
    attached: set[int] = set()
    entries: list[tuple[int, Candidate]] = []
    seen: set[str] = set()
    for link in chosen:
        if link.url in seen:
            continue
        seen.add(link.url)
        variants = by_url[link.url]
        titled = [v for v in variants if v.heading and v.text] or [v for v in variants if v.text]
        title = max(titled, key=lambda v: (v.heading, len(v.text))).text if titled else None
        published = None
        for variant in variants:
            published = _date_near(variant.node, link.url, base_url, chosen_urls)
            if published:
                break
        row_variants = table.title_row_variants(link.node, found.variants, chosen_ids)
        url = link.url
        others: tuple[str, ...] = ()
        if row_variants:
            attached.update(v.index for v in row_variants)
            url, others = table.choose(link.url, row_variants, language)
            if published is None:
                published = _date_near(link.node, link.url, base_url, chosen_urls | {
                    v.url for v in row_variants})
        entries.append((link.index, Candidate(key=url, url=url, title=title or None,
                                              published=published, alternates=others)))
    entries += _variant_rows([v for v in found.variants if v.index not in attached], base_url,
                             language)
    out: list[Candidate] = []
    keys: set[str] = set()
    for _, cand in sorted(entries, key=lambda e: e[0]):
        if cand.key not in keys:
            keys.add(cand.key)
            out.append(cand)
    return out


def _variant_rows(variants: list[table.Variant], base_url: str,
                  language: str | None) -> list[tuple[int, Candidate]]:
    """Rows that offer a statement only through language or format links (the title is plain
    text): one candidate per row, where at least two rows of the same shape do so."""
    rows: dict[int, tuple[LexborNode, list[table.Variant]]] = {}
    ids = {v.node.mem_id for v in variants}
    for v in variants:
        row = table.row_of(v.node, ids)
        if row is not None:
            rows.setdefault(row.mem_id, (row, []))[1].append(v)
    shapes: dict[tuple[str, ...], list[tuple[LexborNode, list[table.Variant]]]] = {}
    for row, vs in rows.values():
        shapes.setdefault(_signature(row), []).append((row, vs))
    out: list[tuple[int, Candidate]] = []
    for group in shapes.values():
        if len(group) < 2:
            continue
        for row, vs in group:
            cand = table.row_candidate(row, vs, base_url, language)
            if cand is not None and cand.title and len(cand.title.split()) >= 2:
                out.append((vs[0].index, cand))
    return out


def _select(node: LexborNode | LexborHTMLParser, css: str, name: str) -> list[LexborNode]:
    try:
        return list(node.css(css))
    except (SelectolaxError, ValueError) as exc:
        raise ParseError(f"selector {name}: {css!r} is not valid CSS ({exc})") from exc


def selector_problems(selectors: Mapping[str, object]) -> list[str]:
    """Messages for every selector that is unknown or not valid CSS (empty when all are fine);
    for configuration checks."""
    problems = []
    probe = LexborHTMLParser("<p></p>")
    for name, css in selectors.items():
        if name not in ("items", "link", "title", "date"):
            problems.append(f"unknown selector {name!r} (expected items, link, title, date)")
            continue
        if not isinstance(css, str) or not css.strip():
            problems.append(f"selector {name} must be a non-empty CSS selector")
            continue
        try:
            probe.css(css)
        except (SelectolaxError, ValueError):
            problems.append(f"selector {name}: {css!r} is not valid CSS")
    return problems


def _find_with_selectors(tree: LexborHTMLParser, base_url: str,
                         selectors: Mapping[str, str]) -> list[Candidate]:
    items_css = selectors.get("items")
    link_css = selectors.get("link") or "a[href]"
    title_css = selectors.get("title")
    date_css = selectors.get("date")
    if items_css:
        items = _select(tree, items_css, "items")
    else:
        items = [node for node in _select(tree, link_css, "link")]
    out: list[Candidate] = []
    seen: set[str] = set()
    for item in items[: limits.MAX_LISTING_LINKS]:
        if items_css:
            anchors = _select(item, link_css, "link")
            if not anchors and item.tag == "a":
                anchors = [item]
            anchor = anchors[0] if anchors else None
        else:
            anchor = item
        if anchor is None:
            continue
        if anchor.tag != "a":
            inner = anchor.css_first("a[href]")
            anchor = inner if inner is not None else anchor
        url = normalise_url(anchor.attributes.get("href") or "", base_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        title = None
        if title_css:
            nodes = _select(item, title_css, "title")
            title = clean_line(nodes[0].text(separator=" ")) if nodes else None
        title = title or _link_text(anchor) or None
        published = None
        if date_css:
            nodes = _select(item, date_css, "date")
            published = _node_date(nodes[0]) if nodes else None
        elif items_css:
            published = _date_near(anchor, url, base_url)
        out.append(Candidate(key=url, url=url, title=title, published=published))
    return out


_NEXT_TEXT = re.compile(
    r"^(next|next page|next »|next ›|older|older posts|older entries|older articles|"
    r"more articles|more news|load more|»|›|>|>>|→|page suivante|suivant|weiter|nächste|"
    r"siguiente|volgende|successivo)\W*$", re.IGNORECASE)


#: Words in a pagination link's class or aria-label that mean "the following page".
_NEXT_MARK = re.compile(r"\b(next|older|nächst|naechst|suivant|siguiente|volgende|successiv)",
                        re.IGNORECASE)


def next_page_url(html: str, base_url: str) -> str | None:
    """The URL of the next (older) page of a listing, or None on the last page.

    Looks for rel="next" (link or anchor), then a pagination link marked or worded as "next",
    then the link to page N+1 where the current page number is N.
    """
    tree = _parse(html)
    here = normalise_url(base_url, base_url)

    def usable(href: str | None) -> str | None:
        url = normalise_url(href or "", base_url)
        if url is None or url == here or not same_site(url, base_url):
            return None
        return url

    for node in tree.css("link[rel], a[rel]"):
        rels = (node.attributes.get("rel") or "").lower().split()
        if "next" in rels:
            found = usable(node.attributes.get("href"))
            if found:
                return found
    for node in tree.css("a[href]"):
        marks = " ".join(_tokens(node)) + " " + (node.attributes.get("aria-label") or "").lower()
        text = clean_line(node.text(separator=" "))
        if _NEXT_MARK.search(marks) or _NEXT_TEXT.match(text):
            found = usable(node.attributes.get("href"))
            if found:
                return found
    current = _page_number(base_url) or 1
    for node in tree.css("a[href]"):
        found = usable(node.attributes.get("href"))
        if found and _page_number(found) == current + 1:
            return found
    return None


def _page_number(url: str) -> int | None:
    match = re.search(r"(?:/page/|[?&](?:page|paged|p)=|/p)(\d{1,5})(?:/|&|$)", url)
    return int(match.group(1)) if match else None
