"""Class and id names → whether they name the page's furniture.

The words of a class or id token ("share", "related", "sidebar", ...) say what a region of the
page is: strong words mark furniture wherever they stand, weak layout words only on elements
holding little of the page (the walk, `extract_walk._is_furniture`, weighs that). A verdict is
worked out once per class string and per token and kept (see docs/extraction.md, step 3).
"""

from __future__ import annotations

import re

#: Words in class/id that mark furniture (matched against the parts of each class token).
_FURNITURE_PARTS = frozenset({
    "share", "sharing", "shares", "social", "socials", "sharedaddy", "addthis", "sharethis",
    "comment", "comments", "disqus", "respond", "related", "recommended", "recommendations",
    "cookie", "cookies", "consent", "gdpr", "newsletter", "subscribe", "subscription", "signup",
    "breadcrumb", "breadcrumbs", "pagination", "pager", "skiplink", "outbrain", "taboola",
    "tagcloud", "tags", "printfriendly", "authorbox", "mostread", "prevnext", "postnav",
    "readmore", "readalso", "reactions", "donate",
})
#: Layout words that usually mark furniture but also appear on content areas ("main-sidebar
#: layout", "content-sidebar-wrap"): they only count on elements holding little of the page.
_WEAK_PARTS = frozenset({
    "sidebar", "widget", "widgets", "navbar", "navigation", "nav", "menu", "topbar", "masthead",
    "advert", "advertisement", "ads", "ad", "adsense", "sponsored", "promo", "popup", "modal",
    "print", "bio", "trending", "popular", "footer", "copyright", "banner", "toolbar",
    "offcanvas", "jp", "rating",
})
#: Words naming a tabbed widget, whose panels hold the page's own text (a product's
#: description, a report's sections): a word for a menu after one that opens the name
#: ("tab-menu--product", "tabs-nav") names the widget's row of tabs, not the site's
#: navigation ("site-menu-tabs" is the site's menu). (Other layout words
#: stay believed: "sidebar-tabs", "widget-tabs" are a sidebar's tabs of latest and popular
#: posts.)
_PANEL_PARTS = frozenset({"tab", "tabs"})
_TAB_ROW_PARTS = frozenset({"menu", "nav", "navigation"})
#: Whole class tokens that mark furniture but whose parts are too generic alone.
_FURNITURE_TOKENS = frozenset({
    "author-box", "about-author", "author-info", "author-card", "post-author", "entry-author",
    "post-tags", "entry-tags", "tag-links", "tags-links", "cat-links", "entry-meta-bottom",
    "entry-footer", "post-footer", "article-footer", "more-stories", "also-read",
    "you-may-like", "read-next", "more-from", "post-navigation", "nav-links", "site-header",
    "site-footer", "page-header", "wp-block-latest-posts", "screen-reader-text", "sr-only",
    "visually-hidden", "noprint", "no-print", "share-bar",
    "author-details", "author-meta", "byline-author", "newsletter-signup", "tag-list",
    "article-tags", "keywords", "entry-categories", "post-categories", "categories",
    "wp-block-tag-cloud", "related-content", "read-more", "meta-tags", "entry-meta",
    "post-meta", "byline", "posted-on", "article-meta", "post-byline", "article-info",
})
#: Class tokens that describe the page or a post's taxonomy rather than a region.
_NEUTRAL_PREFIXES = ("has-", "has_", "no-", "is-", "with-", "hidden-", "tag-", "category-",
                     "format-", "postid-", "status-", "type-", "page-", "single", "js-",
                     "wp-embed")
_SIGNAL_PARTS = _FURNITURE_PARTS | _WEAK_PARTS
#: A token with one of these parts describes a state or layout ("main-with-sidebar").
_NEUTRAL_PARTS = frozenset({"with", "without", "has", "no", "is", "not"})
#: Where a word of a class token written in camel case starts ("Newsletter|Signup").
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
#: class or id string → 0 (neutral), 1 (weak furniture words), 2 (strong furniture words);
#: and the same for single tokens. Both only save time, so both are simply emptied when full.
NAMES_VERDICTS: dict[str, int] = {}
_TOKEN_VERDICTS: dict[str, int] = {}
_MAX_VERDICTS = 50_000


def names_verdict(names: str) -> int:
    """0 (neutral), 1 (weak furniture words) or 2 (strong furniture words) for a class or id
    string."""
    verdict = NAMES_VERDICTS.get(names)
    if verdict is not None:
        return verdict
    verdict = 0
    known = _TOKEN_VERDICTS.get
    for token in names.split():
        v = known(token)
        if v is None:
            if len(_TOKEN_VERDICTS) >= _MAX_VERDICTS:
                _TOKEN_VERDICTS.clear()
            v = _TOKEN_VERDICTS[token] = _token_verdict(token)
        if v > verdict:
            verdict = v
    if verdict == 1 and _names_content(names):
        # a layout word beside a name for the article's text ("entry-content print-only",
        # "article-content sticky-sidebar"): the element is the text, laid out
        verdict = 0
    if len(NAMES_VERDICTS) >= _MAX_VERDICTS:
        NAMES_VERDICTS.clear()
    NAMES_VERDICTS[names] = verdict
    return verdict


#: Words that name the article's text in a class ("entry-content", "article-body").
_CONTENT_PARTS = frozenset({"content", "article", "entry", "story", "body", "blog"})


def _names_content(names: str) -> bool:
    """Whether one of these class tokens names the article's text ("entry-content", not
    "content-wrapper") and no furniture."""
    for token in names.lower().split():
        parts = token.replace("_", "-").split("-")
        if parts[-1] in _CONTENT_PARTS and _SIGNAL_PARTS.isdisjoint(parts):
            return True
    return False


def _token_verdict(token: str) -> int:
    """2 for a token naming furniture, 1 for a layout word that often does, else 0."""
    lower = token.lower()
    if lower != token:
        # words joined in camel case ("NewsletterSignup", "relatedPosts") are parts too; of
        # a name for a part of a component ("documentContent__sharingBar", a style module's
        # "LongFormArticle_socialContainer__0RGo1"), the component's name, which comes first
        # (the part's name says what sits in the component beside the text); read in lower
        # case as before too ("TestReport__AuthorBox": "authorbox")
        return max(_token_verdict(lower),
                   _token_verdict(_CAMEL.sub("-", token.split("_", 1)[0]).lower()))
    if token in _FURNITURE_TOKENS:
        return 2
    parts = token.replace("_", "-").split("-")
    if _SIGNAL_PARTS.isdisjoint(parts):
        return 0  # most tokens: no word of either list
    # only plain tokens ([a-z][a-z0-9_-]*) are read: utility classes ("md:flex", "w-1/2")
    # and state or taxonomy prefixes say nothing about the region
    if not ("a" <= token[0] <= "z") or token.startswith(_NEUTRAL_PREFIXES):
        return 0
    word = "".join(parts)
    if not (word.isascii() and word.isalnum()):
        return 0
    if len(parts) > 1 and not _NEUTRAL_PARTS.isdisjoint(parts):
        return 0
    if not _FURNITURE_PARTS.isdisjoint(parts):
        return 2
    if parts[0] in _PANEL_PARTS and _WEAK_PARTS.intersection(parts) <= _TAB_ROW_PARTS:
        return 0  # a tabbed widget's menu of tabs ("tab-menu"): its panels are the page's text
    return 1
