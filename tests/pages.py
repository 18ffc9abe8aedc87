"""Realistic fixture pages and feeds, generated: WordPress-like and Joomla-like sites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape


@dataclass
class Article:
    slug: str
    title: str
    paragraphs: list[str]
    published: datetime
    guid: str | None = None


def wordpress_page(site: str, a: Article, base: str) -> str:
    paras = "\n".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8">
<title>{escape(a.title)} &#8211; {escape(site)}</title>
<link rel="canonical" href="{base}/{a.slug}/">
<meta property="og:title" content="{escape(a.title)}">
<meta property="article:published_time" content="{a.published.isoformat()}">
</head>
<body class="post-template-default single single-post">
<div id="page" class="site">
<header id="masthead" class="site-header"><div class="site-branding">
<p class="site-title"><a href="{base}/">{escape(site)}</a></p>
<p class="site-description">Workers of the world, unite</p></div>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">
<li><a href="{base}/">Home</a></li><li><a href="{base}/category/statements/">Statements</a></li>
<li><a href="{base}/about/">About us</a></li><li><a href="{base}/contact/">Contact</a></li>
</ul></nav></header>
<div id="content" class="site-content"><div id="primary" class="content-area">
<main id="main" class="site-main">
<article id="post-1" class="post type-post status-publish format-standard hentry">
<header class="entry-header"><h1 class="entry-title">{escape(a.title)}</h1>
<div class="entry-meta"><span class="posted-on">Posted on <time class="entry-date published"
datetime="{a.published.isoformat()}">{a.published:%B %d, %Y}</time></span>
<span class="byline"> by <span class="author vcard"><a href="{base}/author/editor/">editor</a>
</span></span></div></header>
<div class="entry-content">
{paras}
</div>
<footer class="entry-footer"><div class="sharedaddy sd-sharing-enabled"><div class="sd-block">
<h3 class="sd-title">Share this:</h3><ul><li><a class="share-twitter" href="#">Twitter</a></li>
<li><a class="share-facebook" href="#">Facebook</a></li><li><a class="share-print" href="#">Print
</a></li></ul></div></div>
<span class="cat-links">Posted in <a href="{base}/category/statements/">Statements</a></span>
<span class="tags-links">Tagged <a href="{base}/tag/palestine/">Palestine</a></span>
</footer></article>
<nav class="navigation post-navigation"><h2 class="screen-reader-text">Post navigation</h2>
<div class="nav-links"><a href="{base}/older/" rel="prev">Previous post: An older statement
that should not appear</a></div></nav>
<div id="comments" class="comments-area"><h2 class="comments-title">One thought on this</h2>
<ol class="comment-list"><li class="comment"><div class="comment-content"><p>Great article,
comrades! This comment must not be part of the document.</p></div></li></ol>
<div id="respond" class="comment-respond"><h3>Leave a Reply</h3><p>Your email address will not
be published.</p></div></div>
</main></div>
<aside id="secondary" class="widget-area"><section class="widget widget_recent_entries">
<h2 class="widget-title">Recent Posts</h2><ul><li><a href="{base}/x/">Another recent post in
the sidebar</a></li></ul></section></aside></div>
<footer id="colophon" class="site-footer"><div class="site-info">© 2024 {escape(site)}.
Proudly powered by WordPress</div></footer></div>
<div id="cookie-notice" class="cookie-notice">We use cookies to improve your experience.
<a href="#">Accept</a></div>
</body></html>"""


def joomla_page(site: str, a: Article, base: str) -> str:
    paras = "\n".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en-gb" dir="ltr"><head><meta charset="utf-8">
<title>{escape(a.title)} - {escape(site)}</title>
<meta name="generator" content="Joomla! - Open Source Content Management"></head>
<body class="site com_content view-article">
<div class="container-header"><div class="navbar-brand"><a class="brand-logo" href="{base}/">
{escape(site)}</a></div>
<nav class="navbar"><ul class="mod-menu mod-list nav"><li class="nav-item"><a href="{base}/">
Home</a></li><li class="nav-item"><a href="{base}/index.php/statements">Statements</a></li>
<li class="nav-item"><a href="{base}/index.php/contact">Contact</a></li></ul></nav></div>
<div class="site-grid"><div class="grid-child container-component">
<nav class="mod-breadcrumbs__wrapper" aria-label="Breadcrumbs"><ol class="mod-breadcrumbs
breadcrumb"><li><a href="{base}/">Home</a></li><li>Statements</li></ol></nav>
<main><div class="com-content-article item-page" itemscope
itemtype="https://schema.org/Article">
<div class="page-header"><h2 itemprop="headline">{escape(a.title)}</h2></div>
<dl class="article-info text-muted"><dd class="published"><time
datetime="{a.published.isoformat()}" itemprop="datePublished">Published:
{a.published:%d %B %Y}</time></dd><dd class="hits">Hits: 1234</dd></dl>
<div itemprop="articleBody" class="com-content-article__body">
{paras}
</div>
<ul class="pagenavigation pagination"><li><a href="{base}/index.php/prev" rel="prev">Prev</a>
</li><li><a href="{base}/index.php/next" rel="next">Next</a></li></ul>
</div></main></div>
<div class="grid-child container-sidebar-right"><div class="sidebar-right card">
<h3 class="card-header">Latest articles</h3><ul class="mod-articleslatest"><li><a
href="{base}/index.php/other">Some other latest article in the sidebar</a></li></ul></div></div>
</div>
<footer class="container-footer footer"><div class="grid-child"><p>Copyright © 2024
{escape(site)}. All rights reserved.</p></div></footer>
</body></html>"""


def rss_feed(title: str, base: str, items: list[Article], *, path_of=lambda a: f"/{a.slug}/",
             with_content: bool = False) -> str:
    entries = []
    for a in items:
        content = ""
        if with_content:
            body = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
            content = f"<content:encoded><![CDATA[{body}]]></content:encoded>"
        entries.append(f"""<item><title>{escape(a.title)}</title>
<link>{base}{path_of(a)}</link>
<guid isPermaLink="false">{escape(a.guid or base + path_of(a))}</guid>
<pubDate>{format_datetime(a.published)}</pubDate>
<description>{escape(a.paragraphs[0][:120])}…</description>{content}</item>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>{escape(title)}</title><link>{base}/</link><description>Statements</description>
{''.join(entries)}
</channel></rss>"""


def atom_feed(title: str, base: str, items: list[Article], *,
              path_of=lambda a: f"/index.php/statements/{a.slug}") -> str:
    entries = []
    for a in items:
        entries.append(f"""<entry><title>{escape(a.title)}</title>
<link rel="alternate" type="text/html" href="{base}{path_of(a)}"/>
<id>{escape(a.guid or base + path_of(a))}</id>
<published>{a.published.isoformat()}</published><updated>{a.published.isoformat()}</updated>
<summary type="html">{escape(a.paragraphs[0][:120])}</summary></entry>""")
    updated = max(a.published for a in items).isoformat() if items else "2024-01-01T00:00:00Z"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-gb">
<title>{escape(title)}</title><link rel="alternate" href="{base}/"/>
<id>{base}/</id><updated>{updated}</updated>
{''.join(entries)}
</feed>"""


_SUBJECTS = ["The dock workers", "The nurses' union", "Our section", "The students",
             "The tenants' committee", "Rail workers", "The women's assembly", "Teachers",
             "The executive committee", "Farm labourers", "Transport drivers", "The youth wing"]
_VERBS = ["have refused", "voted", "decided", "called", "demanded", "organised", "pledged",
          "marched", "resolved", "announced", "mobilised", "gathered"]
_OBJECTS = ["to load the weapons shipment", "to strike for a living wage",
            "against the eviction of families", "for the release of political prisoners",
            "to occupy the ministry", "for an end to the blockade", "for free public transport",
            "against the privatisation of water", "to build committees in every workplace",
            "for a general strike next month", "against police violence in the townships",
            "for the nationalisation of the mines"]
_TAILS = ["in the early hours of Monday", "despite threats of dismissal",
          "after a mass meeting at the gates", "with the support of neighbouring branches",
          "as the government stalled once more", "in defiance of the court order",
          "while the employers refused to negotiate", "for the third week running"]


def paragraphs(seed: int, count: int = 5) -> list[str]:
    """Distinct, plausible paragraphs: a different statement for every seed."""
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(count):
        sentences = []
        for _ in range(rng.randint(3, 5)):
            sentences.append(f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} "
                             f"{rng.choice(_OBJECTS)} {rng.choice(_TAILS)}, "
                             f"{rng.choice(_SUBJECTS).lower()} {rng.choice(_VERBS)} "
                             f"{rng.choice(_OBJECTS)}.")
        out.append(" ".join(sentences))
    return out


def article(n: int, title: str, published: datetime, *, extra: str = "") -> Article:
    paras = paragraphs(sum(map(ord, title)) * 7919 + n)
    if extra:
        paras.append(extra)
    return Article(slug=f"statement-{n}", title=title, paragraphs=paras, published=published)
