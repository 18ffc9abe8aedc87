"""Content of the hard farm (bench/farm.py, profile "hard"): WordPress-like feeds and pages.

Everything is drawn from pools built once from a fixed seed, so a site's feed and pages depend
only on (site, version) and serving stays cheap. Post text is put together sentence by
sentence from a large pool, so that two posts rarely share a sentence (a near-duplicate check
keeps them all). The text is pseudo-English (words made of
syllables, Zipf-distributed, so that gzip compresses it about as much as real prose), wrapped
in the markup a WordPress theme and its feeds carry:

- RSS 2.0 (`/feed/`) or Atom (`/feed/atom/`), 10-20 items each;
- for a share of the sites every item carries the full post (`content:encoded`, or Atom
  `<content type="html">`), for the others a summary only;
- article pages `/<yyyy>/<mm>/<slug>-p<k>/` with head scripts, navigation, the post,
  share links, related posts, comments, sidebar widgets and a footer.

`feed_body(...)` and `article_body(...)` return bytes; the farm caches and compresses them.
"""

from __future__ import annotations

import email.utils
import itertools
import random
import time
from html import escape

#: Epoch of the simulated publication dates (posts are six hours apart, newest last).
EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
POST_SPACING_S = 6 * 3600

#: Size of the vocabulary and the exponent of its Zipf law: together they set how well the
#: text compresses (tuned so that a feed shrinks about as much under gzip as a real one).
VOCAB_SIZE = 1000
ZIPF_S = 1.35
#: Sentences in the pool post text is made of.
PROSE_SENTENCES = 40_000
_rng = random.Random(18)
_ONSETS = ("b", "c", "d", "f", "g", "h", "j", "l", "m", "n", "p", "r", "s", "t", "v", "w",
           "st", "tr", "pl", "ch", "sh", "br", "cr", "gr", "pr", "th", "sp", "")
_VOWELS = ("a", "e", "i", "o", "u", "ea", "ou", "io", "ai", "ee", "y")
_CODAS = ("", "", "n", "r", "s", "t", "l", "nd", "st", "ng", "m", "ck", "rt", "ss")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                   for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 3, 4))))


_VOCAB = list(dict.fromkeys(_word(_rng) for _ in range(6000)))[:VOCAB_SIZE]
_CUM: list[float] = list(itertools.accumulate(1.0 / (r + 1) ** ZIPF_S
                                              for r in range(len(_VOCAB))))
_FUNCTION = ("the", "of", "and", "to", "in", "a", "is", "that", "for", "on", "with", "as",
             "was", "by", "it", "at", "from", "this", "be", "are", "have", "has", "its")


_M64 = 0xFFFFFFFFFFFFFFFF


def _mix(*key: int) -> int:
    """A well-spread 64-bit hash of small integers (splitmix64's finaliser per key)."""
    h = 0x9E3779B97F4A7C15
    for k in key:
        h = (h ^ (k & _M64)) * 0xBF58476D1CE4E5B9 & _M64
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & _M64
        h ^= h >> 29
    return h


def _pick(pool: list[str], *key: int) -> str:
    return pool[_mix(*key) % len(pool)]


def _sentence(rng: random.Random) -> str:
    n = rng.randint(8, 26)
    words = rng.choices(_VOCAB, cum_weights=_CUM, k=n)
    for i in range(1, n, 3):
        words[i] = rng.choice(_FUNCTION)
    return " ".join(words).capitalize() + rng.choice((".", ".", ".", ".", "?", ";", "."))


def _para_text(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 7)))


def _inline(rng: random.Random, text: str) -> str:
    """Sprinkle links and emphasis into a paragraph, as editors do."""
    words = text.split(" ")
    for _ in range(rng.randint(0, 3)):
        i = rng.randrange(len(words))
        kind = rng.random()
        if kind < 0.5:
            words[i] = (f'<a href="https://www.{rng.choice(_VOCAB)}.org/{rng.choice(_VOCAB)}/'
                        f'{rng.choice(_VOCAB)}-{rng.randint(10, 9999)}/">{words[i]}</a>')
        elif kind < 0.8:
            words[i] = f"<strong>{words[i]}</strong>"
        else:
            words[i] = f"<em>{words[i]}</em>"
    return " ".join(words)


def _figure(rng: random.Random) -> str:
    name = f"{rng.choice(_VOCAB)}-{rng.choice(_VOCAB)}-{rng.randint(100, 99999)}"
    base = f"/wp-content/uploads/2025/{rng.randint(1, 12):02d}/{name}"
    return (f'<figure class="wp-block-image size-large"><img decoding="async" width="1024" '
            f'height="683" src="{base}-1024x683.jpg" alt="{escape(_sentence(rng))}" '
            f'class="wp-image-{rng.randint(1000, 99999)}" srcset="{base}-1024x683.jpg 1024w, '
            f'{base}-300x200.jpg 300w, {base}-768x512.jpg 768w, {base}.jpg 1500w" '
            f'sizes="(max-width: 1024px) 100vw, 1024px" /><figcaption>{_sentence(rng)}'
            f"</figcaption></figure>")


#: Sentences of post text, some with a link or emphasis. A post's blocks are put together
#: from sentences picked by (site, post, block, position): the pool is large enough that two
#: posts rarely share a sentence, so no two posts look alike to a near-duplicate check.
_PROSE = [_inline(_rng, s) if _rng.random() < 0.35 else s
          for s in (_sentence(_rng) for _ in range(PROSE_SENTENCES))]
_PLAIN = [s for s in (_sentence(_rng) for _ in range(PROSE_SENTENCES // 4))]
_FIGURES = [_figure(_rng) for _ in range(2000)]


def _block(seed: int, k: int, j: int) -> str:
    """Block j of post k: mostly paragraphs, sometimes a heading, quote, list or image."""
    h = _mix(seed, k, j)
    r = h % 100
    if r < 72:
        return "<p>" + " ".join(_pick(_PROSE, seed, k, j, m)
                                for m in range(2 + (h >> 8) % 6)) + "</p>"
    if r < 80:
        return f"<h2>{_pick(_PLAIN, seed, k, j).rstrip('.?;')}</h2>"
    if r < 86:
        return "<blockquote><p>" + " ".join(_pick(_PLAIN, seed, k, j, m)
                                            for m in range(2 + (h >> 8) % 5)) + "</p></blockquote>"
    if r < 92:
        return "<ul>" + "".join(f"<li>{_pick(_PLAIN, seed, k, j, m)}</li>"
                                for m in range(3 + (h >> 8) % 4)) + "</ul>"
    return _pick(_FIGURES, seed, k, j)


#: Sentences for titles, summaries, comments and widget entries.
_SENTENCES = [_sentence(_rng) for _ in range(6000)]
_AUTHORS = [f"{_rng.choice(_VOCAB).capitalize()} {_rng.choice(_VOCAB).capitalize()}"
            for _ in range(300)]
_CATEGORIES = [_rng.choice(_VOCAB).capitalize() for _ in range(200)]


def _stylesheet(rng: random.Random) -> str:
    """A theme's inline CSS (WordPress inlines its global styles, about 20 KB)."""
    props = ("margin", "padding", "color", "font-size", "line-height", "border", "display",
             "max-width", "background-color", "letter-spacing", "gap", "font-weight")
    rules = []
    for _ in range(260):
        sel = f".wp-block-{rng.choice(_VOCAB)}-{rng.choice(_VOCAB)}"
        body = ";".join(f"{rng.choice(props)}:var(--wp--preset--{rng.choice(_VOCAB)}--"
                        f"{rng.randint(1, 90)})" for _ in range(rng.randint(1, 4)))
        rules.append(f"{sel}{{{body}}}")
    return "\n".join(rules)


#: Inline stylesheets of a few themes; a site uses one.
_THEMES = [_stylesheet(_rng) for _ in range(8)]


class SiteShape:
    """What does not change for a site: its feed format, length, fullness, authors."""

    __slots__ = ("atom", "author", "base", "full", "index", "items", "name", "seed")

    def __init__(self, index: int, base: str, *, full: bool, atom: bool, items: int) -> None:
        self.index = index
        self.base = base
        self.full = full
        self.atom = atom
        self.items = items
        self.seed = index * 2_654_435_761
        self.name = _pick(_SENTENCES, index, 1).split(" ")[0].rstrip(".?;") + " " + \
            _pick(_CATEGORIES, index, 2)
        self.author = _pick(_AUTHORS, index, 3)


def title(site: SiteShape, k: int) -> str:
    return _pick(_SENTENCES, site.seed, k, 11).rstrip(".?;")[:90]


def slug(site: SiteShape, k: int) -> str:
    words = [w for w in title(site, k).lower().split(" ") if w.isalpha()][:6]
    return "-".join(words) or "post"


def post_path(site: SiteShape, k: int) -> str:
    when = time.gmtime(EPOCH + POST_SPACING_S * k)
    return f"/{when.tm_year}/{when.tm_mon:02d}/{slug(site, k)}-p{k}/"


def post_number(path: str) -> int | None:
    """k of an article path made by post_path, or None."""
    tail = path.rstrip("/").rsplit("-p", 1)
    if len(tail) != 2 or not tail[1].isdigit() or path.count("/") != 4:
        return None
    return int(tail[1])


def post_html(site: SiteShape, k: int, *, blocks: int | None = None) -> str:
    n = blocks if blocks is not None else 2 + int(_mix(site.seed, k, 13) % 9)
    return "\n".join(_block(site.seed, k, j) for j in range(n))


def summary(site: SiteShape, k: int) -> str:
    return " ".join(_pick(_SENTENCES, site.seed, k, 20 + j) for j in range(3))


def _date(k: int) -> str:
    return email.utils.formatdate(EPOCH + POST_SPACING_S * k, usegmt=True)


def _iso(k: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH + POST_SPACING_S * k))


def feed_body(site: SiteShape, newest: int, *, malformed: bool = False,
              items: int | None = None, blocks: int | None = None,
              full: bool | None = None) -> bytes:
    """The feed of `site` whose newest post is `newest` (RSS or Atom, per the site); `items`,
    `blocks` (per post) and `full` override the site's own."""
    count = items if items is not None else site.items
    posts = range(newest, newest - count, -1)
    whole = site.full if full is None else full
    if site.atom:
        return _atom(site, posts, malformed, blocks, whole)
    return _rss(site, posts, malformed, blocks, whole)


def _rss(site: SiteShape, posts: range, malformed: bool, blocks: int | None,
         full: bool) -> bytes:
    b = site.base
    out = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"\n'
           '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
           '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
           '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
           '\txmlns:atom="http://www.w3.org/2005/Atom"\n'
           '\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"\n'
           '\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"\n\t>\n<channel>',
           f"\t<title>{escape(site.name)}</title>",
           f'\t<atom:link href="{b}/feed/" rel="self" type="application/rss+xml" />',
           f"\t<link>{b}</link>\n\t<description>News and statements</description>",
           f"\t<lastBuildDate>{_date(posts[0])}</lastBuildDate>",
           "\t<language>en-US</language>\n\t<sy:updatePeriod>\n\thourly\t</sy:updatePeriod>",
           "\t<sy:updateFrequency>\n\t1\t</sy:updateFrequency>",
           "\t<generator>https://wordpress.org/?v=6.4.3</generator>"]
    for k in posts:
        t = escape(title(site, k))
        if malformed and k == posts[0]:
            t += " & more <b>unclosed"      # a raw & and an unclosed tag: not well-formed
        link = b + post_path(site, k)
        cats = "".join(f"\n\t\t<category><![CDATA[{_pick(_CATEGORIES, site.seed, k, c)}]]>"
                       f"</category>" for c in range(1 + k % 3))
        content = ""
        if full:
            content = (f"\n\t\t<content:encoded><![CDATA[{post_html(site, k, blocks=blocks)}"
                       f"]]></content:encoded>")
        out.append(
            f"\t<item>\n\t\t<title>{t}</title>\n\t\t<link>{link}</link>\n"
            f"\t\t<comments>{link}#respond</comments>\n"
            f"\t\t<dc:creator><![CDATA[{_pick(_AUTHORS, site.seed, k)}]]></dc:creator>\n"
            f"\t\t<pubDate>{_date(k)}</pubDate>{cats}\n"
            f'\t\t<guid isPermaLink="false">{b}/?p={1000 + k}</guid>\n'
            f"\t\t<description><![CDATA[{summary(site, k)} [&#8230;]]]></description>"
            f"{content}\n\t\t<wfw:commentRss>{link}feed/</wfw:commentRss>\n"
            f"\t\t<slash:comments>{k % 7}</slash:comments>\n\t</item>")
    out.append("\t</channel>\n</rss>\n")
    return "\n".join(out).encode()


def _atom(site: SiteShape, posts: range, malformed: bool, blocks: int | None,
          full: bool) -> bytes:
    b = site.base
    out = ['<?xml version="1.0" encoding="UTF-8"?><feed\n'
           '  xmlns="http://www.w3.org/2005/Atom"\n'
           '  xmlns:thr="http://purl.org/syndication/thread/1.0"\n'
           '  xml:lang="en-US"\n  >',
           f'\t<title type="text">{escape(site.name)}</title>',
           '\t<subtitle type="text">News and statements</subtitle>',
           f"\t<updated>{_iso(posts[0])}</updated>",
           f'\t<link rel="alternate" type="text/html" href="{b}" />',
           f"\t<id>{b}/feed/atom/</id>",
           f'\t<link rel="self" type="application/atom+xml" href="{b}/feed/atom/" />',
           '\t<generator uri="https://wordpress.org/" version="6.4.3">WordPress</generator>']
    for k in posts:
        t = f"<![CDATA[{escape(title(site, k))}]]>"
        if malformed and k == posts[0]:
            # outside CDATA, where a raw & and an unclosed tag are not well-formed
            t = escape(title(site, k)) + " & more <b>unclosed"
        link = b + post_path(site, k)
        cats = "".join(f'\n\t\t<category scheme="{b}" term="'
                       f'{_pick(_CATEGORIES, site.seed, k, c)}" />' for c in range(1 + k % 3))
        content = ""
        if full:
            content = (f'\n\t\t<content type="html" xml:base="{link}"><![CDATA['
                       f"{post_html(site, k, blocks=blocks)}]]></content>")
        out.append(
            f"\t<entry>\n\t\t<author>\n\t\t\t<name>{_pick(_AUTHORS, site.seed, k)}</name>\n"
            f"\t\t</author>\n\t\t<title type=\"html\">{t}</title>\n"
            f'\t\t<link rel="alternate" type="text/html" href="{link}" />\n'
            f"\t\t<id>{b}/?p={1000 + k}</id>\n\t\t<updated>{_iso(k)}</updated>\n"
            f"\t\t<published>{_iso(k)}</published>{cats}\n"
            f'\t\t<summary type="html"><![CDATA[{summary(site, k)} [&#8230;]]]></summary>'
            f'{content}\n\t\t<link rel="replies" type="text/html" href="{link}#comments" '
            f'thr:count="{k % 7}" />\n\t\t<thr:total>{k % 7}</thr:total>\n\t</entry>')
    out.append("</feed>\n")
    return "\n".join(out).encode()


def article_body(site: SiteShape, k: int, newest: int) -> bytes:
    """The page of post k, as a WordPress theme renders it (about 45 KB)."""
    b = site.base
    t = escape(title(site, k))
    nav = "".join(f'<li class="menu-item"><a href="{b}/category/{c.lower()}/">{c}</a></li>'
                  for c in (_pick(_CATEGORIES, site.seed, j) for j in range(14)))
    recent = "".join(f'<li><a href="{b}{post_path(site, j)}">{escape(title(site, j))}</a></li>'
                     for j in range(newest, max(newest - 8, -1), -1))
    related = "".join(
        f'<article class="related-post"><a href="{b}{post_path(site, j)}"><img src="{b}/'
        f'wp-content/uploads/thumb-{j}.jpg" alt="" loading="lazy" width="300" height="200">'
        f"<h3>{escape(title(site, j))}</h3></a><p>{_pick(_SENTENCES, site.seed, j, 30)}</p>"
        f"</article>" for j in range(max(k - 3, 0), k))
    comments = "".join(
        f'<li class="comment" id="comment-{k * 10 + j}"><article><footer class="comment-meta">'
        f'<b class="fn">{_pick(_AUTHORS, site.seed, k, j, 40)}</b> <time datetime="{_iso(k)}">'
        f"{_date(k)}</time></footer><div class=\"comment-content\"><p>"
        f"{_pick(_SENTENCES, site.seed, k, j, 41)} {_pick(_SENTENCES, site.seed, k, j, 42)}"
        f"</p></div><a class=\"comment-reply-link\" href=\"#comment-{k * 10 + j}\">Reply</a>"
        f"</article></li>" for j in range(k % 7))
    archives = "".join(f'<li><a href="{b}/2024/{m:02d}/">Month {m} 2024</a></li>'
                       for m in range(1, 13))
    scripts = "".join(f'<link rel="stylesheet" id="style-{j}-css" href="{b}/wp-content/'
                      f'plugins/plugin-{j}/style.css?ver=6.4.{j}" media="all" />\n'
                      for j in range(12))
    inline = ("var wpData = " + repr({f"key{j}": _pick(_SENTENCES, j, 50) for j in range(20)})
              + ";")
    html = f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t} &#8211; {escape(site.name)}</title>
<meta name="robots" content="max-image-preview:large">
<link rel="alternate" type="application/rss+xml" title="{escape(site.name)} &raquo; Feed" \
href="{b}/feed/">
<link rel="canonical" href="{b}{post_path(site, k)}">
<meta property="og:title" content="{t}">
<meta property="og:description" content="{escape(summary(site, k))}">
<meta property="article:published_time" content="{_iso(k)}">
{scripts}<script type="application/ld+json">{{"@context":"https://schema.org","@type":\
"NewsArticle","headline":"{t}","datePublished":"{_iso(k)}","author":{{"@type":"Person",\
"name":"{_pick(_AUTHORS, site.seed, k)}"}}}}</script>
<script>{escape(inline, quote=False)}</script>
<style id="global-styles-inline-css">{_THEMES[site.index % len(_THEMES)]}</style>
</head>
<body class="post-template-default single single-post postid-{1000 + k}">
<a class="skip-link screen-reader-text" href="#content">Skip to content</a>
<header id="masthead" class="site-header"><div class="site-branding"><p class="site-title">\
<a href="{b}/" rel="home">{escape(site.name)}</a></p><p class="site-description">News and \
statements</p></div><nav id="site-navigation" class="main-navigation"><ul id="primary-menu" \
class="menu">{nav}</ul></nav><form role="search" method="get" class="search-form" \
action="{b}/"><input type="search" class="search-field" placeholder="Search &hellip;" \
name="s"></form></header>
<div id="content" class="site-content"><main id="primary" class="site-main">
<article id="post-{1000 + k}" class="post-{1000 + k} post type-post status-publish">
<header class="entry-header"><h1 class="entry-title">{t}</h1><div class="entry-meta">\
<span class="posted-on">Posted on <time class="entry-date published" datetime="{_iso(k)}">\
{_date(k)}</time></span><span class="byline"> by <span class="author vcard">\
<a class="url fn n" href="{b}/author/a{k % 9}/">{_pick(_AUTHORS, site.seed, k)}</a></span>\
</span></div></header>
<div class="entry-content">
{post_html(site, k)}
</div>
<footer class="entry-footer"><span class="cat-links">Posted in <a href="{b}/category/news/" \
rel="category tag">News</a></span><div class="share"><a href="https://twitter.com/intent/\
tweet?url={b}{post_path(site, k)}">Share on X</a> <a href="https://www.facebook.com/sharer/\
sharer.php?u={b}{post_path(site, k)}">Share on Facebook</a></div></footer>
</article>
<nav class="navigation post-navigation" aria-label="Posts"><div class="nav-links">\
<div class="nav-previous"><a href="{b}{post_path(site, max(k - 1, 0))}" rel="prev">Previous \
post</a></div></div></nav>
<section class="related-posts"><h2>Related</h2>{related}</section>
<div id="comments" class="comments-area"><h2 class="comments-title">Comments</h2>\
<ol class="comment-list">{comments}</ol><div id="respond" class="comment-respond"><h3>Leave a \
Reply</h3><form action="{b}/wp-comments-post.php" method="post" id="commentform">\
<textarea id="comment" name="comment" cols="45" rows="8" required></textarea>\
<input name="submit" type="submit" id="submit" class="submit" value="Post Comment"></form>\
</div></div>
</main>
<aside id="secondary" class="widget-area"><section class="widget widget_recent_entries">\
<h2 class="widget-title">Recent Posts</h2><ul>{recent}</ul></section><section class="widget \
widget_archive"><h2 class="widget-title">Archives</h2><ul>{archives}</ul></section></aside>
</div>
<footer id="colophon" class="site-footer"><div class="site-info">&copy; 2025 \
{escape(site.name)}. Proudly powered by <a href="https://wordpress.org/">WordPress</a>.</div>\
</footer>
<script src="{b}/wp-includes/js/jquery/jquery.min.js?ver=3.7.1" id="jquery-core-js"></script>
</body>
</html>
"""
    return html.encode()


ROBOTS = (b"User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n"
          b"Disallow: /?s=\nDisallow: /search/\n\n")
