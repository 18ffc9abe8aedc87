"""Article lines kept, by kind of page (docs/extraction.md, "Rules for kinds of page", rounds
eight to ten): each test is a small page of our own with one kind, which fails without its
rule."""

from __future__ import annotations

import json

import pytest

from collector.extract import extract
from tests.test_extract import NOW, PROSE


def _paragraphs() -> str:
    return "".join(f"<p>{p}</p>" for p in PROSE)


def test_a_headline_of_prose_length_does_not_make_its_wrapper_the_container():
    # the headline sits in the page's wrapper among the site's own short lines, the text in a
    # box of its own: counted as prose, the long headline would lift the container to the
    # wrapper, and the site's lines after the text would join the body
    headline = ("Best residential movers in the city this year: our ranking of nineteen"
                " companies")
    html = f"""<html><body><div class="page">
<p>Acme Moving Guide</p><p>Movers compared</p><p>Last update: March 2024</p>
<p>Contact us</p><p>Reviews</p>
<h1>{headline}</h1>
<div class="text">{_paragraphs()}</div>
<p>Moving news</p><p>Our awards</p><p>Press</p>
</div></body></html>"""
    result = extract(html, now=NOW)
    assert result.title == headline
    assert list(result.blocks) == PROSE


def _links(*titles: str) -> str:
    return "<ul>" + "".join(f'<li><a href="/p/{i}">{t}</a></li>'
                            for i, t in enumerate(titles)) + "</ul>"


_MORE = [
    "The second patch makes the code generator emit the attribute for weak variables, which"
    " the standard library needs on every platform that links its objects late.",
    "Two of the other patches are still under review, and the maintainers asked for tests"
    " that cover the unusual floating point types before they are merged upstream.",
]


#: A report's text after its introduction: paragraphs between lists of the patches it speaks
#: of, whose links weigh it down below the introduction's single paragraph.
_REPORT_TEXT = f"""<div class="text"><p>{PROSE[1]}</p>
{_links("codegen: add support for the weak variable attribute",
        "codegen: allow casts between integers and pointers",
        "codegen: fix the size of long double")}
<p>{PROSE[2]}</p>
{_links("codegen: fix volatile loads and stores",
        "codegen: check whether link-time optimisation is supported",
        "codegen: add the x87 processor feature")}
<p>{_MORE[0]}</p><p>{_MORE[1]}</p>
{_links("codegen: make type equality hold for floating point types",
        "codegen: fix the analyser flag")}
</div>"""


def test_an_article_whose_lists_of_links_cut_its_score_is_the_container_not_its_intro():
    # a report listing the patches it speaks of: the lists weigh the article's text down
    # below its introduction's single paragraph, set in a box of its own
    html = f"""<html><body><main><article><h1>Progress report for December</h1>
<div class="intro"><p>{PROSE[0]}</p></div>
{_REPORT_TEXT}</article></main></body></html>"""
    assert list(extract(html, now=NOW).blocks) == PROSE + _MORE


def test_a_long_headline_beside_the_lone_paragraph_does_not_hide_the_article_around_them():
    # the headline and the standfirst share a box: the headline is the title, not prose, so the
    # box still holds a single prose block and the article around it is the container
    headline = ("Progress report for December: what changed in the code generator and what"
                " is still waiting for review")
    html = f"""<html><body><main><article>
<div class="intro"><h1>{headline}</h1><p>{PROSE[0]}</p></div>
{_REPORT_TEXT}</article></main></body></html>"""
    result = extract(html, now=NOW)
    assert result.title == headline
    assert list(result.blocks) == PROSE + _MORE


def test_an_article_with_less_than_three_times_the_lone_paragraph_does_not_replace_it():
    # the article around the boxed paragraph holds only twice its prose, its other paragraph
    # under a list of links that weighs it down (less link text than prose): not enough to be
    # the container instead
    html = f"""<html><body><main><article>
<div class="intro"><p>{PROSE[0]}</p></div>
<div class="text"><p>{PROSE[1]}</p>
{_links(*(f"codegen: patch number {i} of the weekly series, merged" for i in range(3)))}
</div></article></main></body></html>"""
    assert list(extract(html, now=NOW).blocks) == [PROSE[0]]


def _sections_and_reading(more: str, reading: int = 10) -> str:
    """An article: a box of two paragraphs, then a box of `more` paragraphs over a list of
    `reading` links of further reading (ten outweigh the second box's prose)."""
    return f"""<html><body><main><article>
<div class="text"><p>{PROSE[0]}</p><p>{PROSE[1]}</p></div>
<div class="more">{more}
{_links(*(f"Further reading number {i} about the code generator" for i in range(reading)))}
</div></article></main></body></html>"""


def test_a_section_of_an_article_weighed_down_by_its_links_gives_way_to_the_article():
    # the best box holds two paragraphs; the article around it holds over three times its
    # prose and less text in link lists than in prose: the article is the container (the
    # links themselves stay dropped as link lines)
    more = [*_MORE, PROSE[2], *_WEEKS]
    html = _sections_and_reading("".join(f"<p>{p}</p>" for p in more))
    assert list(extract(html, now=NOW).blocks) == [*PROSE[:2], *more]


def test_a_container_is_kept_when_the_article_around_it_holds_little_more_prose():
    # (under three times the box's prose around it: the box is the article's text, the rest
    # another part of the page)
    html = _sections_and_reading(f"<p>{_MORE[0]}</p>", reading=2)
    assert list(extract(html, now=NOW).blocks) == PROSE[:2]


def test_an_article_that_is_mostly_links_does_not_replace_a_lone_paragraph():
    # a listing set as one article: more link text than prose around the one paragraph
    teasers = _links(*(f"Further news item number {i} from the regional desk" for i in range(12)))
    html = f"""<html><body><article><div class="intro"><p>{PROSE[0]}</p></div>
<div class="list"><p>{PROSE[1]}</p>{teasers}<p>{PROSE[2]}</p>{teasers}</div>
</article></body></html>"""
    assert list(extract(html, now=NOW).blocks) == [PROSE[0]]


_WEEKS = [
    "In the first week the plan asks for three short runs at an easy pace, with a day of rest"
    " between each of them and a long walk on the weekend.",
    "In the second week one of the runs grows by ten minutes, and the walk on the weekend is"
    " replaced by a slow run of half an hour along a flat route.",
]


def test_an_accordions_folded_panels_are_read_though_hidden():
    # the panels of an accordion (regions named by the heading that unfolds them) are hidden
    # until a reader opens them, by the attribute or by their style
    panels = (f'<h3 id="w1">Week 1</h3><div id="p1" role="region" aria-labelledby="w1" hidden>'
              f"<p>{_WEEKS[0]}</p></div>"
              f'<h3 id="w2">Week 2</h3><div id="p2" role="region" aria-labelledby="w2" '
              f'style="display: none"><p>{_WEEKS[1]}</p></div>')
    html = f"""<html><body><article><h1>A plan for your first race</h1>{_paragraphs()}
<div class="plan">{panels}</div></article></body></html>"""
    assert list(extract(html, now=NOW).blocks) == [*PROSE, "Week 1", _WEEKS[0], "Week 2",
                                                    _WEEKS[1]]


def test_a_hidden_region_named_by_a_label_of_its_own_stays_hidden():
    # a banner or a menu's panel labelled by itself is no accordion's panel
    html = f"""<html><body><article><h1>A plan for your first race</h1>{_paragraphs()}
<div role="region" aria-label="Notice" style="display:none"><p>{_WEEKS[0]}</p></div>
<p>{_WEEKS[1]}</p></article></body></html>"""
    assert list(extract(html, now=NOW).blocks) == [*PROSE, _WEEKS[1]]


def test_parts_a_server_streamed_after_the_page_are_read_though_hidden():
    # React's streamed rendering: the page's frame holds a placeholder, and the article's text
    # comes after the footer in a hidden element that a script moves into its place
    html = f"""<html><body><header><a href="/">Money Guide</a></header>
<main><h1>How index funds work</h1><template id="B:0"></template>
<template id="B:1"></template><template id="B:2"></template></main>
<footer><p>About us</p><p>Contact</p></footer>
<div hidden id="S:0"><p>{PROSE[0]}</p></div><script>$RC("B:0","S:0")</script>
<div hidden id="S:1"><p>{PROSE[1]}</p></div><script>$RC("B:1","S:1")</script>
<div hidden id="S:2"><p>{PROSE[2]}</p></div><script>$RC("B:2","S:2")</script>
<div hidden id="panel-7"><p>{_WEEKS[0]}</p></div>
</body></html>"""
    assert list(extract(html, now=NOW).blocks) == PROSE


def _app_page(*bodies: str, shown: str = "") -> str:
    """A page whose script draws the article: the server sends a frame with the site's lines
    (and `shown`) and declares the text in JSON-LD, once for each of `bodies`."""
    scripts = "".join(
        '<script type="application/ld+json">'
        + json.dumps({"@context": "https://schema.org", "@type": "NewsArticle",
                      "headline": "The library stays open", "articleBody": body})
        .replace("</", "<\\/")  # (as sites write it: "</script>" in a string ends no script)
        + "</script>" for body in bodies)
    return f"""<html><head><title>The library stays open | City News</title>{scripts}</head>
<body><header><a href="/">City News</a><a href="/subscribe">Subscribe</a></header>
<main><h1>The library stays open</h1>{shown}<div id="root"></div></main>
<footer><p>About us</p><p>Contact</p></footer></body></html>"""


def test_the_text_a_page_declares_is_the_body_when_the_page_shows_almost_none_of_it():
    result = extract(_app_page("\n".join(PROSE), shown=f"<p>{PROSE[0]}</p>"), now=NOW)
    assert list(result.blocks) == PROSE
    assert result.method == "metadata"


def test_a_declared_text_in_html_is_read_by_the_block_rules():
    declared = "".join(f"<p>{p} &amp; more.</p>" for p in PROSE)
    result = extract(_app_page(declared), now=NOW)
    assert list(result.blocks) == [f"{p} & more." for p in PROSE]


def test_a_declared_text_with_only_inline_markup_keeps_its_lines_and_loses_its_tags():
    declared = "\n".join(f'{p} See <a href="/earlier">our story</a> and <em>this</em>.'
                          for p in PROSE)
    result = extract(_app_page(declared), now=NOW)
    assert list(result.blocks) == [f"{p} See our story and this." for p in PROSE]


def test_a_declared_text_escaped_twice_is_read_as_html():
    declared = "".join(f"&lt;p&gt;{p}&lt;/p&gt;" for p in PROSE)
    assert list(extract(_app_page(declared), now=NOW).blocks) == PROSE


def test_the_declared_text_s_markup_does_not_count_as_its_words():
    # the page shows two of the three paragraphs it declares, the declared HTML is heavy
    # with attributes and a script: the article the page shows is more than half
    attrs = " ".join(f'data-x{i}="a b c d e f"' for i in range(12))
    declared = "".join(f"<p {attrs}>{p}</p>" for p in PROSE[:3]) + \
        "<script>" + " ".join(["var x = 1;"] * 200) + "</script>"
    result = extract(_app_page(declared, shown="".join(f"<p>{p}</p>" for p in PROSE[:2])),
                     now=NOW)
    assert result.method == "page"
    assert list(result.blocks) == PROSE[:2]


def test_the_page_s_own_text_stays_when_it_shows_half_the_declared_text_or_more():
    # (the declared text is often longer than the article shown: a caption, a box, a note)
    html = _app_page("\n".join([*PROSE, *_WEEKS]), shown=_paragraphs())
    result = extract(html, now=NOW)
    assert list(result.blocks) == PROSE
    assert result.method == "page"


def test_several_declared_texts_are_other_articles_and_none_replaces_the_page():
    # (a list of stories, each declared with its text, on a page showing one paragraph)
    html = _app_page("\n".join(PROSE), "\n".join(reversed(PROSE)), shown=f"<p>{PROSE[0]}</p>")
    result = extract(html, now=NOW)
    assert result.method == "page"
    assert list(result.blocks) == [PROSE[0]]


#: Summaries of other stories, each cut by the site's template at one length.
_SUMMARIES = [
    "The county will resurface the ring road over the summer, closing one lane at a time so",
    "A new bus line will link the hospital with the station from the first of September on",
    "Volunteers planted four hundred trees along the river bank on a cold Saturday morning",
    "The swimming pool reopens after a year of works with a new roof and a heated outdoor",
]


def _cards(summaries: list[str]) -> str:
    return "".join(
        f'<div class="post"><div class="title"><a href="/story/{i}">Story number {i} of the'
        f' week</a></div><div class="meta">Webmaster</div><div class="meta">December 19,'
        f" 2025</div><div class=\"summary\">{text}</div></div>"
        for i, text in enumerate(summaries))


def _with_stories(article: str, stories: str) -> str:
    return f"""<html><body><div class="wrap"><section><article><h1>The library stays open</h1>
<div class="text">{article}</div></article></section>
<section>{stories}</section></div></body></html>"""


def test_a_run_of_other_stories_teasers_after_the_article_is_furniture():
    # the teasers' summaries are prose: they lift the container to the wrapper that holds
    # the article and the run of other stories' cards after it
    html = _with_stories(_paragraphs(), _cards(_SUMMARIES))
    assert list(extract(html, now=NOW).blocks) == PROSE


def test_summaries_each_cut_with_an_ellipsis_are_teasers_whatever_their_lengths():
    summaries = [s + " in the town" * i + " …" for i, s in enumerate(_SUMMARIES)]
    html = _with_stories(_paragraphs(), _cards(summaries))
    assert list(extract(html, now=NOW).blocks) == PROSE


def test_summaries_of_their_own_lengths_are_not_a_templates_teasers():
    # (entries written each to its own length: a list the article makes)
    summaries = [s + " in the town" * i + "." for i, s in enumerate(_SUMMARIES)]
    blocks = list(extract(_with_stories(_paragraphs(), _cards(summaries)), now=NOW).blocks)
    assert summaries[0] in blocks and summaries[-1] in blocks


def test_cards_that_hold_more_prose_than_the_text_before_them_are_the_article():
    # a round-up: a short introduction, then the entries, each cut to one length
    intro = f"<p>{PROSE[0]}</p>"
    blocks = list(extract(_with_stories(intro, _cards(_SUMMARIES)), now=NOW).blocks)
    assert _SUMMARIES[0] in blocks and _SUMMARIES[-1] in blocks


_SIGNUP = """<form action="/subscribe"><p>Get our weekly letter about the town's libraries and
parks, with every meeting of the council and what was decided there.</p>
<div class="field">Your e-mail address</div>
<div class="note">This field is for validation purposes and should be left unchanged.</div>
<p>By subscribing you agree to our terms of service and to our privacy policy, which you
can read on our website at any time.</p></form>"""


def test_a_form_inside_the_article_is_the_site_s():
    html = f"""<html><body><article><h1>The library stays open</h1>{_paragraphs()}{_SIGNUP}
<p>{_WEEKS[0]}</p></article></body></html>"""
    assert list(extract(html, now=NOW).blocks) == [*PROSE, _WEEKS[0]]


def test_a_form_around_the_whole_page_is_not_furniture():
    # (an ASP.NET page: one form around everything)
    html = f"""<html><body><form id="aspnetForm" action="/page.aspx"><div class="top">
<a href="/">City News</a></div><article><h1>The library stays open</h1>{_paragraphs()}
</article></form></body></html>"""
    assert list(extract(html, now=NOW).blocks) == PROSE


def test_a_form_that_is_the_container_is_the_article():
    # the form (an ASP.NET page's) holds three paragraphs and is chosen as the container;
    # two sections of two after it join the body, with more text than the form
    html = f"""<html><body><div class="top">{"".join(f'<a href="/{i}">Page {i}</a> '
                                                     for i in range(40))}</div>
<form action="/page.aspx">{_paragraphs()}</form>
<section><p>{_WEEKS[0]}</p><p>{_WEEKS[1]}</p></section>
<section><p>{_MORE[0]}</p><p>{_MORE[1]}</p></section></body></html>"""
    assert list(extract(html, now=NOW).blocks) == [*PROSE, *_WEEKS, *_MORE]


def test_a_form_holding_most_of_the_body_is_the_article():
    # a comparison of products set in a form (to pick the ones to compare), after a short
    # introduction
    rows = "".join(f"<tr><td>Model {i}</td><td>{_SUMMARIES[i]}</td></tr>" for i in range(4))
    html = f"""<html><body><article><h1>The best bicycles</h1><p>{PROSE[0]}</p>
<form action="/compare"><table>{rows}</table></form></article></body></html>"""
    blocks = list(extract(html, now=NOW).blocks)
    assert PROSE[0] in blocks and _SUMMARIES[3] in blocks


#: An article long enough that no teaser, card or comment is (2,000 characters and more).
_LONG = [*PROSE, *_WEEKS, *_MORE, *_SUMMARIES, *(p.replace("council", "board") for p in PROSE),
         *(p.replace("library", "museum") for p in PROSE)]


def _newsletter_issue(wrapper: str, box: str) -> str:
    """A newsletter's archived issue: the issue's article sits in boxes named after the
    site's newsletter, a furniture word; the site's own lines fill the rest of the page."""
    text = "".join(f"<p>{p}</p>" for p in _LONG)
    site = "".join(f"<div>Podcast episode {i:03}</div>" for i in range(300))
    more = "".join(f"<div>Issue {i:03}</div>" for i in range(60))
    return f"""<html><body><main><section class="hero"><h1>The library stays open</h1>
<div class="{wrapper}"><article class="issue"><div class="{box}">{text}</div></article></div>
</section><section>{more}</section></main><div class="site">{site}</div></body></html>"""


def test_the_box_holding_an_article_s_text_is_the_article_whatever_its_name():
    html = _newsletter_issue("wrapper", "newsletter-richtext")
    assert sum(len(p) for p in _LONG) >= 2000
    assert list(extract(html, now=NOW).blocks) == _LONG


def test_the_box_holding_an_article_s_text_is_the_article_on_a_page_without_main():
    html = _newsletter_issue("wrapper", "newsletter-richtext").replace(
        "<main>", "<div>").replace("</main>", "</div>")
    assert list(extract(html, now=NOW).blocks) == _LONG


def test_a_box_around_a_long_article_is_not_furniture_whatever_its_name():
    html = _newsletter_issue("newsletter-wrapper", "richtext")
    assert list(extract(html, now=NOW).blocks) == _LONG


# --- round ten (docs/extraction.md, "Rules for kinds of page, round ten") -------------------


def _shop_page(widget: str) -> str:
    """A shop's product page: an introduction, then the product's description in a
    tabbed widget, among a large site menu and footer (the widget holds little of the page)."""
    menu = "".join(f'<li><a href="/c/{i}">Category {i}</a></li>' for i in range(120))
    footer = "".join(f"<p>Store {i}: open Monday to Saturday</p>" for i in range(60))
    return f"""<html><body><ul class="menu">{menu}</ul><div class="product">
<h1>Garden bench, oak</h1><p>{PROSE[0]}</p><p>{PROSE[1]}</p>
<div class="{widget}"><div class="tab--container"><p>{_MORE[0]}</p><p>{_MORE[1]}</p></div>
</div></div><div class="site-footer-links">{footer}</div></body></html>"""


def test_a_tabbed_widget_s_panels_are_the_page_s_text():
    # "menu" in a tab widget's name ("tab-menu--product") names the widget's tabs, not the
    # site's navigation: its panels hold the product's description
    blocks = list(extract(_shop_page("tab-menu--product"), now=NOW).blocks)
    assert _MORE[0] in blocks and _MORE[1] in blocks
    # a menu of the site's is still furniture
    blocks = list(extract(_shop_page("menu--product"), now=NOW).blocks)
    assert _MORE[0] not in blocks


_QUOTE = ["\u201cI know I am tired and should not say this\u2026\u201d",
          "\u2013 \u201cThen don't.\u201d", "\u2013 \u201cOkay.\u201d"]

#: A blog's comment form after a post: more words than a short post, and furniture.
_REPLY_FORM = """<div id="respond" class="comment-respond"><h3>Leave a reply</h3>
<form action="/comments"><p>Enter your details below or click an icon to log in with the
account you already have on one of the services we work with, so that your name and your
picture appear beside your comment.</p><p>Your e-mail address will not be published and is
only used to tell you about replies to your comment if you ask us to.</p></form></div>"""


def _short_post(post: str) -> str:
    lines = "".join(f"<p>{line}</p>" for line in _QUOTE)
    return f"""<html><body><div id="content"><{post}><h1>Overheard</h1>{lines}</{post.split()[0]}>
{_REPLY_FORM}</div></body></html>"""


def test_a_short_post_is_not_traded_for_the_comment_form_after_it():
    # a post of a few lines is shorter than the body the rules ask for: the walk again
    # without the furniture words finds the comment form's longer text, outside the post
    for post in ('article class="post"', 'div class="post hentry"', "main"):
        assert list(extract(_short_post(post), now=NOW).blocks) == _QUOTE, post


def test_a_short_body_outside_any_article_is_still_read_again():
    # outside an article, the short text may be what the furniture words left of the page:
    # the longer text found without them is taken, as before
    blocks = list(extract(_short_post('div class="post"'), now=NOW).blocks)
    assert any(b.startswith("Enter your details below") for b in blocks)


def test_a_short_post_s_article_is_not_mistaken_for_a_later_one_with_the_same_title():
    # the post's own note sits in a box named with a furniture word, inside the post's
    # article; the next post's teaser, in an article of its own, repeats the title: the
    # note, found by the walk without furniture words, lies in the post's article (the
    # smallest holding the post's lines), and is taken
    lines = "".join(f"<p>{line}</p>" for line in _QUOTE)
    note = " ".join(PROSE[:2])
    html = f"""<html><body><div id="content"><article class="post"><h1>Overheard</h1>{lines}
<div class="related-note"><p>{note}</p></div></article>
<article class="post"><h2>Overheard</h2><p>Is it Friday yet?</p></article></div>
</body></html>"""
    assert note in list(extract(html, now=NOW).blocks)


#: Sentences of a report that go on into a link to an earlier report: most of each line's
#: characters are in its link.
_LINKED = [
    ("The new spokesman replaced the head of marketing, ",
     "who for the past eight months had combined the role with his duties in the department"
     " of marketing and sales."),
    ("Before that, for almost four years, he was the spokesman of ",
     "an insurance company, where he handled corporate communications, relations with the"
     " media and internal communications."),
    ("From 2013 to 2017 he worked for ",
     "the financial supervision authority, where he kept in touch with journalists and ran"
     " public campaigns."),
]


def _linked_report(after: str = "") -> str:
    lines = "".join(f'<p>{head}<a href="/article/{i}">{tail}</a></p>'
                    for i, (head, tail) in enumerate(_LINKED))
    return f"""<html><body><div class="top"><h1>A new spokesman for the group</h1>
<p>{PROSE[0]}</p></div><article class="article-content">{lines}<p>{PROSE[1]}</p>{after}
</article></body></html>"""


def test_a_sentence_going_on_into_a_link_is_prose():
    blocks = list(extract(_linked_report(), now=NOW).blocks)
    for head, tail in _LINKED:
        assert head + tail in blocks
    assert PROSE[1] in blocks


def test_a_line_of_three_links_is_not_a_sentence_of_the_article():
    follow = ('<p>Write to us or follow us on <a href="https://facebook.com/x">our Facebook'
              ' page</a>, <a href="https://x.com/x">our account on X</a> and <a'
              ' href="https://instagram.com/x">our Instagram profile for pictures</a>.</p>')
    blocks = list(extract(_linked_report(follow), now=NOW).blocks)
    assert not any(b.startswith("Write to us") for b in blocks)


def test_a_sidebar_s_tabs_are_still_furniture():
    blocks = list(extract(_shop_page("sidebar-tabs"), now=NOW).blocks)
    assert _MORE[0] not in blocks


def test_an_article_element_holding_only_the_header_does_not_keep_the_text_out():
    # the `<article>` holds the headline and a standfirst; the text follows it in a box whose
    # name has a furniture word: the walk without those words finds it, long, and takes it
    # (the site's own lines outweigh the text, as on a large site: the furniture word is
    # believed of a box holding under half of the page)
    text = "".join(f"<p>{p}</p>" for p in _LONG)
    site = "".join(f"<div>Podcast episode {i:03}</div>" for i in range(300))
    html = f"""<html><body><article><h1>The library stays open</h1><p>{_QUOTE[0]}</p>
</article><div class="pagination-first">{text}</div>{_REPLY_FORM}<div class="site">{site}</div>
</body></html>"""
    blocks = list(extract(html, now=NOW).blocks)
    assert blocks[-len(_LONG):] == _LONG


def test_a_sentence_with_emphasis_inside_its_link_is_still_one_link():
    head, tail = _LINKED[0]
    words = tail.split(" ", 3)
    marked = f"{words[0]} {words[1]} <em>{words[2]}</em> {words[3]}"
    html = _linked_report().replace(tail, f"\n  <span>{marked}</span>\n", 1)
    blocks = list(extract(html, now=NOW).blocks)
    assert head + tail in blocks


def test_a_sentence_closed_inside_quotation_marks_is_a_sentence():
    head, tail = _LINKED[1]
    quoted = f"\u201c{tail}\u201d"
    blocks = list(extract(_linked_report().replace(tail, quoted, 1), now=NOW).blocks)
    assert head + quoted in blocks


def test_a_linked_line_without_a_sentence_s_end_is_not_prose():
    line = ('<p>Our coverage of the council continues <a href="/article/9">with every vote on'
            " the library in the old market hall and the budget for it</a></p>")
    blocks = list(extract(_linked_report(line), now=NOW).blocks)
    assert not any(b.startswith("Our coverage") for b in blocks)


@pytest.mark.parametrize("label", [
    "See related",  # two words of the line's own do not open a sentence
    "Lesen Sie auch:", "Lire aussi :", "Home \u203a World \u203a",  # three, ending as a label
])
def test_a_teaser_link_after_a_label_or_a_trail_is_not_a_sentence_of_the_article(label):
    linked = ('<a href="/article/9">The council closes the library in the old market hall after'
              " sixty years of service to the neighbourhood.</a>")
    blocks = list(extract(_linked_report(f"<p>{label} {linked}</p>"), now=NOW).blocks)
    assert not any(b.startswith(label[:4]) for b in blocks)
