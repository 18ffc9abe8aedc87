"""The five example statements survive a round trip through a realistic page of their kind.

Each seed's text is wrapped, by this test, in a page the way its site would publish it — a
WordPress-like or Joomla-like theme with navigation, header, sidebar, share buttons, comments,
related posts, footer and a cookie box — and the extractor must give back exactly the seed's
canonical text. How blocks are marked up: a line opening with a quotation mark is a block
quotation, a short line without final punctuation is a sub-heading, a line naming a source or
ending in "Source:" is an image caption, a line that opens with a dash is a signature, and
everything else is a paragraph.

Seed 001 has no headline: it opens with its date. Its page is published that way — the
`<title>` and og:site_name carry only the site's name, there is no `<h1>`, and the article body
opens with a dateline paragraph — so the extractor finds no headline and the dateline stands
first, as FORMAT.md says ("where a page has no headline, the first block of the body stands
there").
"""

from __future__ import annotations

import html as html_lib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.document import canonical_form, parse, render
from collector.extract import extract

SEEDS = Path(__file__).parents[1] / ".." / "shared" / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def e(text: str) -> str:
    return html_lib.escape(text, quote=True)


def block_html(line: str) -> str:
    if line.startswith(("“", '"', "‘")) and len(line) > 20:
        return f"<blockquote><p>{e(line)}</p></blockquote>"
    if line.startswith(("—", "–", "-")):
        return f'<p class="signature"><em>{e(line)}</em></p>'
    if line.rstrip().endswith("Source:") or line.startswith("Source:"):
        return (f'<figure class="wp-block-image"><img src="/img/{abs(hash(line)) % 97}.jpg" '
                f'alt=""><figcaption>{e(line)}</figcaption></figure>')
    if len(line) < 110 and not line.rstrip().endswith((".", ",", ";", ":", "!", "?", "”", '"')):
        return f"<h2>{e(line)}</h2>"
    # inline markup and a link inside the paragraph, as editors write them
    words = line.split(" ")
    if len(words) > 12:
        words[3] = f"<strong>{e(words[3])}</strong>"
        words[8] = f'<a href="https://example.org/ref">{e(words[8])}</a>'
        return "<p>" + " ".join(w if w.startswith("<") else e(w) for w in words) + "</p>"
    return f"<p>{e(line)}</p>"


COMMENTS = """<div id="comments" class="comments-area">
<h2 class="comments-title">3 thoughts on this statement</h2><ol class="comment-list">
<li class="comment"><article class="comment-body"><footer class="comment-meta">Reader</footer>
<div class="comment-content"><p>A very clear statement; we discussed it at our branch meeting on
Tuesday and agreed to circulate it to every member of the district committee.</p></div>
</article></li>
<li class="comment"><article class="comment-body"><div class="comment-content"><p>Thank you for
publishing this, comrades. It should be translated into as many languages as possible and read
out at every rally this weekend.</p></div></article></li></ol>
<div id="respond" class="comment-respond"><h3>Leave a Reply</h3><form><textarea name="c">
</textarea><input type="submit" value="Post Comment"></form></div></div>"""

SIDEBAR = """<aside id="secondary" class="widget-area">
<section class="widget widget_search"><form><input type="search"><button>Search</button></form>
</section><section class="widget widget_recent_entries"><h2 class="widget-title">Recent Posts
</h2><ul><li><a href="/p/1">May Day greetings to workers of all countries</a></li>
<li><a href="/p/2">Report of the international conference held in March</a></li>
<li><a href="/p/3">Statement on the general strike in the metal industry</a></li></ul></section>
<section class="widget widget_archive"><h2 class="widget-title">Archives</h2><ul>
<li><a href="/2024/05">May 2024</a></li><li><a href="/2024/04">April 2024</a></li></ul></section>
<section class="widget widget_text"><div class="textwidget"><p>Our paper is financed by its
readers alone. Please consider a regular donation so that we can keep publishing every
month.</p></div></section></aside>"""

SHARE = """<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block
sd-social"><h3 class="sd-title">Share this:</h3><div class="sd-content"><ul>
<li><a class="share-twitter" href="#"><span>Twitter</span></a></li>
<li><a class="share-facebook" href="#"><span>Facebook</span></a></li>
<li><a class="share-print" href="#"><span>Print</span></a></li>
<li><a class="share-email" href="#"><span>Email</span></a></li></ul></div></div></div>"""

RELATED = """<div id="jp-relatedposts" class="jp-relatedposts"><h3 class="jp-relatedposts-headline">
<em>Related</em></h3><div class="jp-relatedposts-items"><p class="jp-relatedposts-post">
<a href="/r/1">Solidarity with the dockers of the southern ports in their fight for jobs</a></p>
<p class="jp-relatedposts-post"><a href="/r/2">Against the war budget: a statement of the
central committee</a></p></div></div>"""

COOKIE = """<div id="cookie-law-info-bar" class="cookie-notice"><span>This website uses cookies to
improve your experience. We'll assume you're ok with this, but you can opt-out if you wish.
</span><a role="button" class="cookie_action_close_header">Accept</a>
<a href="/privacy">Read More</a></div>"""


def wordpress_page(site: str, title: str | None, body: str) -> str:
    head_title = f"{e(title)} – {e(site)}" if title else e(site)
    h1 = f'<h1 class="entry-title">{e(title)}</h1>' if title else ""
    og = f'<meta property="og:title" content="{e(title)}">' if title else ""
    return f"""<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{head_title}</title><meta property="og:site_name" content="{e(site)}">{og}
<link rel="stylesheet" href="/wp-content/themes/twentyseventeen/style.css">
<script>window._wpemojiSettings = {{"baseUrl": "https://s.w.org/images/core/emoji/"}};</script>
</head>
<body class="post-template-default single single-post postid-4242 single-format-standard
has-sidebar colors-light">
<div id="page" class="site"><a class="skip-link screen-reader-text" href="#content">Skip to
content</a>
<header id="masthead" class="site-header" role="banner"><div class="site-branding">
<p class="site-title"><a href="/" rel="home">{e(site)}</a></p>
<p class="site-description">Workers of all countries, unite!</p></div>
<nav id="site-navigation" class="main-navigation" role="navigation"><ul id="top-menu"
class="menu"><li><a href="/">Home</a></li><li><a href="/about">About us</a></li>
<li><a href="/statements">Statements</a></li><li><a href="/contact">Contact</a></li></ul></nav>
</header>
<div id="content" class="site-content"><div id="primary" class="content-area">
<main id="main" class="site-main" role="main">
<article id="post-4242" class="post-4242 post type-post status-publish format-standard
hentry category-statements tag-palestine">
<header class="entry-header"><div class="entry-meta"><span class="posted-on">Posted on
<a href="/statements/4242"><time class="entry-date published">2024</time></a></span>
<span class="byline"> by <a href="/author/editor">editor</a></span></div>{h1}</header>
<div class="entry-content">
{body}
{SHARE}
{RELATED}
</div>
<footer class="entry-footer"><span class="cat-links">Posted in <a href="/c/s">Statements</a>
</span><span class="tags-links">Tagged <a href="/t/p">Palestine</a></span></footer>
</article>
<nav class="navigation post-navigation" role="navigation"><div class="nav-links">
<div class="nav-previous"><a href="/p/prev">Previous Post: Statement on the elections</a></div>
<div class="nav-next"><a href="/p/next">Next Post: Greetings to the congress</a></div></div>
</nav>
{COMMENTS}
</main></div>
{SIDEBAR}
</div>
<footer id="colophon" class="site-footer" role="contentinfo"><div class="site-info">
<p>© 2024 {e(site)}. Proudly powered by WordPress.</p></div></footer></div>
{COOKIE}
<script src="/wp-includes/js/wp-embed.min.js"></script>
</body></html>"""


def joomla_page(site: str, title: str | None, body: str) -> str:
    head_title = e(title) if title else e(site)
    h2 = (f'<div class="page-header"><h2 itemprop="headline">{e(title)}</h2></div>'
          if title else "")
    return f"""<!DOCTYPE html>
<html xml:lang="en-gb" lang="en-gb" dir="ltr"><head>
<meta http-equiv="content-type" content="text/html; charset=utf-8">
<meta name="generator" content="Joomla! - Open Source Content Management">
<title>{head_title}</title>
<link href="/templates/protostar/css/template.css" rel="stylesheet">
</head>
<body class="site com_content view-article no-layout no-task itemid-101">
<div class="body"><div class="container">
<header class="header" role="banner"><div class="header-inner clearfix">
<a class="brand pull-left" href="/"><span class="site-title">{e(site)}</span></a>
<div class="header-search pull-right"><div class="search"><form><input name="searchword"
placeholder="Search ..."></form></div></div></div></header>
<nav class="navigation" role="navigation"><div class="navbar pull-left"><a class="btn btn-navbar
collapsed">Menu</a></div><div class="nav-collapse"><ul class="nav menu nav-pills mod-list">
<li class="item-101 current active"><a href="/">Home</a></li><li class="item-102"><a
href="/articles">Articles</a></li><li class="item-103"><a href="/contact">Contact us</a></li>
</ul></div></nav>
<div class="row-fluid"><main id="content" role="main" class="span9">
<div id="system-message-container"></div>
<ul class="breadcrumb"><li><a href="/" class="pathway">Home</a></li><li>Articles</li></ul>
<div class="item-page" itemscope itemtype="https://schema.org/Article">
<meta itemprop="inLanguage" content="en-GB">
{h2}
<dl class="article-info muted"><dt class="article-info-term">Details</dt>
<dd class="createdby" itemprop="author">Written by <span itemprop="name">Editor</span></dd>
<dd class="hits"><meta itemprop="interactionCount" content="UserPageVisits:1204">Hits: 1204</dd>
</dl>
<div class="btn-group pull-right"><a class="btn dropdown-toggle" href="#">Print</a>
<ul class="dropdown-menu actions"><li class="print-icon"><a href="#">Print</a></li>
<li class="email-icon"><a href="#">Email</a></li></ul></div>
<div itemprop="articleBody">
{body}
</div>
<ul class="pager pagenav"><li class="previous"><a href="/a/1" rel="prev">Prev</a></li>
<li class="next"><a href="/a/3" rel="next">Next</a></li></ul>
</div>
<div class="moduletable related-items"><h3>Related Articles</h3><ul class="relateditems mod-list">
<li><a href="/a/9">Statement on the anniversary of the Nakba</a></li>
<li><a href="/a/10">Resolution of the international executive committee</a></li></ul></div>
<div class="comments"><div id="jc"><h4>Comments (2)</h4><div class="comment-item"><p>Excellent
analysis, which every worker should read and discuss with colleagues at their workplace this
week.</p></div><div class="comment-item"><p>Translated and shared in our local bulletin, thank
you very much for this important and timely statement.</p></div></div></div>
</main>
<div id="aside" class="span3"><div class="well "><h3 class="page-header">Latest Articles</h3>
<ul class="latestnews mod-list"><li><a href="/a/11">The crisis of capitalism deepens</a></li>
<li><a href="/a/12">A reply to our critics on the national question</a></li></ul></div>
<div class="well "><h3 class="page-header">Newsletter</h3><div class="acymailing_module"><p>
Subscribe to our newsletter to receive every new statement by email as soon as it is
published.</p><input type="text" name="email"><input type="submit" value="Subscribe"></div></div>
</div></div></div></div>
<footer class="footer" role="contentinfo"><div class="container"><hr><p class="pull-right">
<a href="#top" id="back-top">Back to Top</a></p><p>&copy; 2024 {e(site)}</p></div></footer>
<div class="cookiesdirective" id="cookie-notice"><p>This site uses cookies. By continuing to
browse the site you are agreeing to our use of cookies, as set out in our privacy policy.</p>
<button>OK</button></div>
</body></html>"""


SITES = {  # seed number -> (site name, theme)
    0: ("Workers International Vanguard League", joomla_page),
    1: ("Communist Workers' Platform USA", wordpress_page),
    2: ("International Committee", wordpress_page),
    3: ("International Socialist League", joomla_page),
    4: ("Communist Worker", wordpress_page),
}


def build_page(number: int, seed_text: str) -> str:
    doc = parse(seed_text)
    site, theme = SITES[number]
    if number == 1:
        # no headline: the date line opens the article body as a dateline paragraph
        title = None
        lines = [doc.title, *doc.blocks]
        body = f'<p class="dateline"><strong>{e(lines[0])}</strong></p>' + "\n".join(
            block_html(b) for b in lines[1:])
    else:
        title = doc.title
        body = "\n".join(block_html(b) for b in doc.blocks)
    return theme(site, title, body)


@pytest.mark.skipif(not SEED_FILES, reason="../shared/seeds is not present")
@pytest.mark.parametrize("seed", SEED_FILES, ids=lambda p: p.name[:3])
def test_seed_statement_round_trips_through_its_sites_page(seed: Path):
    seed_text = seed.read_text("utf-8")
    number = int(seed.name[:3])
    html = build_page(number, seed_text)
    result = extract(html.encode("utf-8"), url=f"https://example.org/statements/{number}",
                     now=NOW)
    assert render(result.title, result.blocks) == canonical_form(seed_text)
    assert result.flags == ()


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not present")
def test_all_five_seeds_are_present():
    assert len(SEED_FILES) == 5
