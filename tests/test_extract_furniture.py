"""Furniture set inside the article's container, by kind of page structure (docs/extraction.md,
"Clean-up"): each test is a small page of our own with one kind."""

from __future__ import annotations

import json
import re

from selectolax.lexbor import LexborHTMLParser

from collector.extract import _drop_opening_byline, _drop_opening_date
from collector.extract_clean import block_rows
from collector.extract_names import names_verdict
from collector.extract_recipe import _RECIPE_MAX_CHARS, recipe_lines
from collector.extract_sections import (
    _RELATED,
    _RELATED_CHARS,
    _related,
    prompts,
)
from collector.extract_walk import Walk
from tests.test_extract import PROSE, body_of, page, prose_html


def _links(*titles: str) -> str:
    return "<ul>" + "".join(f'<li><a href="/n/{i}">{t}</a></li>'
                            for i, t in enumerate(titles)) + "</ul>"


def test_a_heading_over_a_list_of_teaser_links_mid_article_goes_with_the_list():
    # "Read also" over links to other articles, between two paragraphs of the article
    html = page(f"<p>{PROSE[0]}</p><h4>Read also</h4>"
                + _links("Where the branch libraries stand", "Who pays for the hall")
                + f"<p>{PROSE[1]}</p><p>{PROSE[2]}</p>")
    assert body_of(html) == PROSE


def test_a_heading_over_a_section_of_its_own_stays_though_a_link_list_follows_later():
    # the heading introduces prose; a link list somewhere after that prose does not take it
    html = page(f"<p>{PROSE[0]}</p><h2>What comes next</h2><p>{PROSE[1]}</p>"
                + _links("Agenda of the meeting", "Minutes") + f"<p>{PROSE[2]}</p>")
    assert body_of(html) == [PROSE[0], "What comes next", PROSE[1], PROSE[2]]


def test_a_heading_whose_section_opens_with_a_judged_line_keeps_its_section():
    # only link lists make the heading the list's: a heading followed by a line the
    # classifier drops (a photo credit) and then prose is a section heading
    html = page(prose_html() + "<h3>Breaking down barriers</h3><p>Photo: Town Archive</p>"
                + prose_html())
    assert "Breaking down barriers" in body_of(html)


def test_a_source_label_or_rights_line_after_the_last_paragraph_is_judged_not_a_signature():
    # "Source: …" / "Published: …" labels and a rights line closing the body are the site's
    for tail in ("Source: Town Wire", "© 2024 Town Media Ltd. All rights reserved"):
        assert body_of(page(prose_html() * 2 + f"<p>{tail}</p>")) == PROSE * 2


def test_a_closing_signature_line_stays():
    html = page(prose_html() * 2 + "<p>Jane Doe, Secretary of the campaign</p>")
    assert body_of(html)[-1] == "Jane Doe, Secretary of the campaign"


def test_a_rights_notice_closing_the_body_is_dropped_even_as_a_sentence():
    notice = "© 2024 Town Media Ltd. All rights reserved."
    assert body_of(page(prose_html() + f"<p>{notice}</p>")) == PROSE
    # a copyright sign further into the last line (a caption's credit) is not a notice
    html = page(prose_html() + "<p>The market hall seen from the square in the spring of "
                "1962, a view the campaign has printed on its leaflets © Jane Doe.</p>")
    assert body_of(html)[-1].startswith("The market hall")


def _cards(n: int) -> str:
    return "".join(f"<h3>Other story number {i}</h3><p>{PROSE[i % 3][:120]}</p>"
                   f'<div><a href="/s/{i}">Read more</a></div>' for i in range(n))


def test_a_run_of_teaser_cards_inside_the_container_goes_with_its_heading():
    # headline, summary, "Read more": other articles listed inside the article's box
    html = page(prose_html() * 3 + "<h2>More on this topic</h2>" + _cards(2)
                + f"<p>{PROSE[0]} Still the article.</p>")
    blocks = body_of(html)
    assert not any("Other story" in b or "More on this" in b for b in blocks)
    assert blocks[-1] == f"{PROSE[0]} Still the article."


def test_a_round_up_made_of_cards_is_the_article():
    # the same shape holding most of the container's prose is the article itself
    html = page(f"<p>{PROSE[0]}</p>" + _cards(4))
    assert sum("Other story" in b for b in body_of(html)) == 4


def _walked(html: str) -> tuple[Walk, list[int]]:
    """The walk of this page's body, and the blocks of its chosen container."""
    root = LexborHTMLParser(html).body
    assert root is not None
    w = Walk(True, root)
    w.enter(root.tag_id)
    w.walk(root)
    w.leave()
    return w, w.chosen()


def _judged(html: str) -> list[str]:
    """The container's blocks the classifier judges on this page."""
    w, keep = _walked(html)
    todo, _rows = block_rows(w, keep)
    return [w.blocks[keep[k]] for k in todo]


def test_a_closing_sentence_with_links_after_the_last_paragraph_is_judged():
    # "Tip: …" / "Write to us at … or follow us on …" below the article: judged, not kept as
    # a sentence of the article's own
    tip = 'Tip: all our news are on <a href="/all">this page</a>.'
    assert "Tip: all our news are on this page." in _judged(page(prose_html() + f"<p>{tip}</p>"))
    # the same sentence without links, or with links before the last paragraph, is not
    plain = "Tip: all our news are in the town hall."
    assert plain not in _judged(page(prose_html() + f"<p>{plain}</p>"))
    assert not any(b.startswith("Tip") for b in _judged(
        page(f"<p>{PROSE[0]}</p><p>{tip}</p>" + prose_html())))


def test_a_labelled_credit_closing_a_caption_is_cut():
    caption = "The market hall seen from the square in the spring of 1962."
    for credit in ("Photo: Jane Doe/Town Archive", "(Source: Town Archive)",
                   "| Picture: Jane Doe"):
        html = page(prose_html() + f'<figure><img src="x.jpg" alt="">'
                    f"<figcaption>{caption} {credit}</figcaption></figure>" + prose_html())
        assert caption in body_of(html)
    # the same ending in a paragraph is the article's ("… Place: the town hall")
    line = "The meeting opens at seven in the evening. Place: the old market hall"
    assert line in body_of(page(prose_html() + f"<p>{line}</p>" + prose_html()))


def test_a_credit_after_a_copyright_sign_as_long_as_the_caption_is_cut():
    html = page(prose_html() + '<figure><img src="x.jpg" alt=""><figcaption>'
                "The market hall at dawn in the spring of 1962. – © Jane Doe – archive.example.org"
                "</figcaption></figure>" + prose_html())
    assert "The market hall at dawn in the spring of 1962." in body_of(html)


# --- container choice ---------------------------------------------------------------------------

LEAD = ("Campaigners say closing the branch would leave the old market quarter without a"
        " library for the first time since 1961.")


def test_a_standfirst_in_the_article_header_is_the_articles_lead():
    # headline, standfirst and share links in the article's header; the body in a box of its
    # own: the standfirst is the first prose block after the headline, before the container
    html = f"""<html><body><header class="site-header"><a href="/">Town news</a></header>
<article><header class="entry-header"><h1>Save the market hall library</h1>
<p class="standfirst">{LEAD}</p>
<ul class="links"><li><a href="/s/1">Facebook</a></li><li><a href="/s/2">Email</a></li>
<li><a href="/s/3">Copy the address of this page</a></li><li><a href="/s/4">Print this page</a></li>
<li><a href="/s/5">Send us a correction</a></li></ul></header>
<div class="entry"><div class="text"><p>{PROSE[0]}</p><p>{PROSE[1]}</p></div></div></article>
<footer><p>Town news, 10 High Street</p></footer></body></html>"""
    assert body_of(html) == [LEAD, *PROSE[:2]]


def test_a_caption_between_the_headline_and_the_body_is_not_taken_as_the_lead():
    caption = ("The market hall seen from the square in the spring of 1962, a year after the"
               " library opened on its first floor")
    html = f"""<html><body><article><header><h1>Save the market hall library</h1>
<figure><figcaption>{caption}</figcaption></figure>
<ul><li><a href="/s/1">Facebook</a></li><li><a href="/s/2">Email</a></li>
<li><a href="/s/3">Copy the address of this page</a></li><li><a href="/s/4">Print this page</a></li>
<li><a href="/s/5">Send us a correction</a></li></ul></header>
<div class="entry"><div class="text">{prose_html()}</div></div></article></body></html>"""
    assert body_of(html) == PROSE


ABOUT = ("The Town Library Campaign was founded by residents of the market quarter in 2019 and"
         " is run by volunteers who meet every second Tuesday in the community centre.")

ABOUT2 = ("Anyone who lives or works in the town may join, and members receive a short letter"
          " about the campaign's work and its meetings four times a year.")


def test_a_layout_word_beside_a_name_for_the_articles_text_does_not_make_it_furniture():
    # "print-only", "sticky-sidebar" describe how the text is laid out; "entry-content" says
    # what it is
    about = (f"<div class='about'><p>{ABOUT}</p><p>{ABOUT2}</p>"
             + _links("Who we are and what we do", "Our volunteers and their work",
                      "Meetings of the campaign", "Write to the campaign", "Our leaflets",
                      "The petition and its signatures", "Press releases of the campaign",
                      "Photographs of the market hall", "Donate to the campaign")
             + "</div>")
    for cls in ("entry-content print-only", "article-content sticky-sidebar-relative"):
        html = f"""<html><body><div class="site"><h1>Save the market hall library</h1>
<div class="{cls}">{prose_html()}</div>{about}</div></body></html>"""
        assert body_of(html) == PROSE, cls


def test_a_long_rights_notice_with_the_sites_description_closing_the_body_is_dropped():
    # "© 2024 Example. The independent portal compares …": a notice and a word about the site
    notice = ("© 2024 Town Media Ltd. Town Media is the independent news service of the market"
              " quarter: our reporters cover the council, the schools, the markets and the clubs"
              " of the town, and every article is free to read. We are funded by our readers and"
              " by the advertising on these pages, never by the council or by a party. All"
              " rights reserved; reprints only with our written permission.")
    assert 300 < len(notice) < 600
    assert body_of(page(prose_html() + f"<p>{notice}</p>")) == PROSE


BIO = ("Jane Doe has reported on the town's libraries, schools and markets since 2015 and"
       " writes a weekly column on local history for this paper.")


def test_a_closing_paragraph_boxed_apart_from_the_articles_paragraphs_is_the_sites():
    # the article's paragraphs are siblings; an author's bio (or a word about the site) in a
    # small box of its own after them is not the article
    html = page(prose_html() + f"<p>{PROSE[0][:60]} and more of the same report here.</p>"
                + f"<div class='box'><p>{BIO}</p></div>")
    assert BIO not in body_of(html)
    # a closing quotation is the article's own, boxed or not
    html = page(prose_html() + f"<p>{PROSE[1][:60]} and more of the same report here.</p>"
                + f"<blockquote><p>{BIO}</p></blockquote>")
    assert body_of(html)[-1] == BIO


def test_a_heading_over_related_articles_goes_with_its_teaser_lines_in_any_language():
    # "Mehr zum Thema" over short teaser lines (partly linked, so not link lists), between
    # paragraphs of the article; the article after the box stays
    for heading in ("Mehr zum Thema", "À lire aussi :", "Leggi anche", "Читайте также",
                    "You may also like", "相关阅读"):
        teasers = "".join(f'<p><a href="/n/{i}">Branch libraries</a> where they stand now</p>'
                          for i in range(2))
        html = page(prose_html() + f"<h6>{heading}</h6>{teasers}" + prose_html())
        assert body_of(html) == PROSE * 2, heading
    # a sub-heading of the article that only begins like one stays, with its section
    html = page(prose_html() + "<h3>Mehr zum Thema Bibliotheken in der Stadt</h3>"
                + prose_html())
    assert "Mehr zum Thema Bibliotheken in der Stadt" in body_of(html)
    # a sub-heading (no links, set in bold) of the article going on after the box stays
    html = page(prose_html() + '<h6>Lesen Sie auch:</h6><p><a href="/n/1">Branch libraries'
                '</a> where they stand now</p><p><b>Longer opening hours</b></p>'
                + prose_html())
    assert body_of(html) == [*PROSE, "Longer opening hours", *PROSE]
    # a bibliography under "Further reading" is the document's own, not the site's articles
    html = page(prose_html() + '<h2>Further reading</h2><p><a href="/b">J. Smith</a>, The '
                'libraries of the town (2001)</p>' + prose_html())
    assert "J. Smith, The libraries of the town (2001)" in body_of(html)


def _language(pattern: str) -> list[str]:
    """Every string a pattern of literals, groups, alternatives, character sets and optional
    parts matches (a finite language); any other construct fails the test that uses it, so a
    new form of `_RELATED` is either enumerated here or the test is extended."""
    def strings(items) -> list[str]:
        out = [""]
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                alts = [chr(arg)]
            elif name == "IN":
                assert all(str(o) == "LITERAL" for o, _ in arg), arg
                alts = [chr(c) for _, c in arg]
            elif name == "SUBPATTERN":
                alts = strings(arg[3])
            elif name == "BRANCH":
                alts = [s for branch in arg[1] for s in strings(branch)]
            elif name in ("MAX_REPEAT", "MIN_REPEAT"):
                low, high, item = arg
                assert (low, high) == (0, 1), (low, high)
                alts = ["", *strings(item)]
            else:
                raise AssertionError(f"construct not enumerated: {name}")
            out = [s + a for s in out for a in alts]
        return out
    return strings(re._parser.parse(pattern))


def test_every_heading_form_of_the_related_pattern_passes_its_first_word_refusal():
    # `_RELATED_FIRST` refuses most lines before the pattern runs; a heading form whose first
    # word (or first two characters, in scripts without spaces) it lacks would never be found
    forms = _language(_RELATED.pattern)
    assert len(forms) > 200
    for form in forms:
        if len(form) >= _RELATED_CHARS:
            continue
        for line in (form, form.capitalize(), form.upper(), form + ":", form + " »"):
            assert _related(line), line


def test_short_questions_to_the_reader_after_the_last_paragraph_are_dropped():
    # the site's prompts closing the body, in any language; a question inside the article,
    # and a signature after it, stay
    html = page(prose_html() + "<p>What do you think: should the hall stay open?</p>"
                + prose_html() + "<p>Jane Doe, Secretary</p><div>War der Artikel nützlich?</div>"
                "<div>Möchten Sie den Artikel teilen? *</div>")
    blocks = body_of(html)
    assert blocks[-1] == "Jane Doe, Secretary"
    assert "What do you think: should the hall stay open?" in blocks



def test_a_closing_question_followed_by_its_answer_is_not_a_prompt():
    # the last entry of a page of questions and answers: its answer, a sentence the
    # classifier does not read as prose (a link in it), follows the question
    html = page(prose_html() + "<h3>Where can I get more help?</h3><p>Guides for every step "
                'are found on <a href="/docs">our documentation pages</a>.</p>'
                "<div>Was this article useful?</div>")
    w, keep = _walked(html)
    lines = [w.blocks[i] for i in keep]
    question = lines.index("Where can I get more help?")
    w.goods[keep[question + 1]] = False  # (as on the page the rule is for)
    dropped = [lines[k] for k in prompts(w, keep)]
    assert dropped == ["Was this article useful?"]


def test_a_publication_stamp_with_a_time_of_day_at_the_top_is_dropped_a_dateline_stays():
    # the page's record of posting ("… • 2:54pm", "… 5 min read") under a standfirst is the
    # site's; a dateline (a place and a date) before the body is the document's own
    for stamp in ("17 April 2012 • 2:54pm", "Feb 8, 2020 · 5 min read",
                  "Aktualisiert: 11.04.2020, 10:27 Uhr", "November 8 2023, 3:18 p.m."):
        html = page(f"<p>{PROSE[0]}</p><div>{stamp}</div>" + prose_html())
        assert stamp not in body_of(html), stamp
    html = page("<p>LISBON, May 20, 2024</p>" + prose_html())
    assert body_of(html)[0] == "LISBON, May 20, 2024"
    # a short sentence of the article with a date and a time stays
    lead = "Doors open at 7:30pm on 3 June 2021."
    assert body_of(page(f"<p>{lead}</p>" + prose_html()))[0] == lead


def test_a_cookie_notice_at_the_edge_of_the_body_is_dropped_one_in_the_article_stays():
    notice = ("Durch die weitere Nutzung der Seite stimmst du der Verwendung von Cookies zu. "
              "Weitere Informationen")
    consent = ("Die Cookie-Einstellungen auf dieser Website sind auf Cookies zulassen "
               "eingestellt, um das beste Surferlebnis zu ermöglichen.")
    inside = "The bakery sold cookies and bread to raise money for the campaign last week."
    html = page(prose_html() + f"<p>{inside}</p>" + prose_html()
                + f"<div>{notice}</div><div>{consent}</div>")
    blocks = body_of(html)
    assert notice not in blocks and consent not in blocks
    assert inside in blocks
    # a recipe's steps after its introduction are list items, not a notice
    steps = ["Crush the chocolate chip cookies into fine crumbs for the base.",
             "Press the crumbs of the cookies firmly into the tin and chill."]
    html = page(prose_html() + f"<ol><li>{steps[0]}</li><li><p>{steps[1]}</p></li></ol>")
    assert body_of(html)[-2:] == steps


def test_a_breadcrumb_trail_before_the_body_is_dropped_even_ending_in_a_long_headline():
    trail = ("&gt; Blog &gt; Aus den Ländern &gt; Digitalpolitische Jahrestagung 2015 der "
             "Heinrich-Böll-Stiftung in der Landeshauptstadt Stuttgart")
    html = page(f"<div>{trail}</div>" + prose_html())
    assert body_of(html) == PROSE
    # inside the article, parts set apart by slashes are the article's
    line = "Members / friends / neighbours: all are welcome at the hall on Monday."
    html = page(prose_html() + f"<p>{line}</p>" + prose_html())
    assert line in body_of(html)
    # and a heading listing its topics between bars is the page's own
    heading = "Letters: Library hours | Bus routes | Market rents"
    assert body_of(page(f"<h2>{heading}</h2>" + prose_html()))[0] == heading


def test_error_messages_of_the_sites_scripting_engine_are_dropped():
    error = ("Warning: Creating default object from empty value in "
             "/www/htdocs/site/wp-includes/classes.php on line 407")
    html = page(prose_html() + f"<p>{error}</p><p>Deprecated: preg_replace(): The /e modifier "
                "is deprecated in /www/htdocs/site/formatting.php on line 82</p>" + prose_html())
    assert body_of(html) == PROSE * 2


def test_button_labels_and_the_advertisement_label_are_dropped_in_other_languages():
    for label in ("Reklama", "Anzeige", "Publicité", "Реклама", "Weiterlesen", "Lire la suite",
                  "Teilen", "Drucken"):
        html = page(prose_html() + f"<div>{label}</div>" + prose_html())
        assert body_of(html) == PROSE * 2, label


def test_a_related_post_with_its_own_h1_after_the_headline_is_furniture():
    # the next post's template repeated under the article (its h1, a role=main column): once
    # the page's headline is read, another h1 does not make a "related" box the article
    teaser = ('<div class="related-posts-container"><div role="main"><h1>Another story from '
              'the town</h1>' + "".join(f"<p>An interview with the librarian about the fifty "
                                        f"years she spent at the market hall, part {i}.</p>"
                                        for i in range(2)) + '</div></div>')
    html = page(prose_html() * 2 + teaser)
    blocks = body_of(html)
    assert blocks == PROSE * 2
    # before the headline, an h1 still keeps its box the article's, whatever its class
    html = ('<html><body><div class="related-wrap"><h1>Save the library</h1>'
            + prose_html() * 2 + '</div></body></html>')
    assert body_of(html) == PROSE * 2



def test_a_posts_own_h1_in_a_widget_box_after_the_blogs_name_stays_the_article():
    # a blog engine's page: the blog's name is the page's first h1, the post (its title an h1
    # too) sits in a layout box named "widget", small beside a long column set apart
    side = "".join(f"<p>Older note {i}: the reading group meets on the first Tuesday of the "
                   f"month in the back room of the hall, tea provided.</p>" for i in range(40))
    html = ('<html><body><header><h1>Town Library Blog</h1></header>'
            '<div class="widget Blog"><h1>Save the market hall library</h1>' + prose_html()
            + f'</div><aside>{side}</aside></body></html>')
    assert body_of(html)[-3:] == PROSE


def test_the_label_over_a_table_of_contents_goes_with_its_links():
    # a plugin's box: the title in a container of its own, the links in a nav
    for label in ("Table of contents", "Inhaltsverzeichnis", "Sommaire", "Spis treści"):
        toc = (f'<div class="toc-container"><div class="toc-title-container"><p>{label}</p>'
               '<span><a class="toggle"></a></span></div>'
               f'<nav>{_links("The hall", "The meeting", "The petition")}</nav></div>')
        html = page(f"<p>{PROSE[0]}</p>{toc}" + prose_html() * 2)
        assert body_of(html) == [PROSE[0], *PROSE, *PROSE], label


def test_the_label_over_a_posts_tags_goes_with_them_in_other_languages():
    for label in ("Schlagwörter", "Temas", "Étiquettes", "Теги"):
        html = page(prose_html() * 2 + f"<div>{label}</div>" + _links("Library", "Council"))
        assert body_of(html) == PROSE * 2, label


def test_a_page_whose_only_text_is_its_noscript_fallback_is_read_from_it():
    # a page rendered by a script, with the whole page for browsers without scripts in
    # <noscript>: nothing else holds prose, so the fallback is the page
    fallback = ('<noscript><div id="page"><h2>Save the market hall library</h2>'
                + prose_html() + "</div></noscript>")
    html = ('<html><head><title>Library campaign</title></head><body>'
            '<div id="app"></div><script>render()</script>' + fallback + "</body></html>")
    assert body_of(html) == ["Save the market hall library", *PROSE]
    # a page with prose of its own never reads its notice for browsers without scripts
    notice = "<noscript><p>Please enable JavaScript to see every part of this site.</p></noscript>"
    assert body_of(page(prose_html()).replace("<main>", "<main>" + notice)) == PROSE


def test_a_section_of_the_article_after_a_layout_box_is_not_a_closing_box():
    # the article's paragraphs, a box of shop links between them, and the article going on in
    # a section of its own, a sub-heading over its paragraph: that section joins the
    # container as its sibling and is the article's, not a box the site closes the body with
    shop = ('<div class="shop">' + "".join(
        f'<div><a href="/shop/{i}">A pair of white trainers from the shop, size 38 to 42, '
        f'at a price</a></div>' for i in range(3)) + "</div>")
    last = ("The library will stay open on Saturdays until the end of the year, the council"
            " said, while it looks for a tenant for the upper floor.")
    html = page('<div class="text">' + prose_html() + "</div>" + shop
                + f'<div class="text"><h2>What happens next</h2><p>{last}</p></div>')
    assert body_of(html) == [*PROSE, "What happens next", last]
    # a box of the site's own closing the body (no sub-heading over it) still goes
    html = page('<div class="text">' + prose_html() + "</div>" + shop
                + f'<div class="text"><p>{last}</p></div>')
    assert last not in body_of(html)


def test_a_labelled_credit_closing_a_caption_set_in_a_figure_without_figcaption_is_cut():
    # the caption is a paragraph (or a box) of its own in the <figure>, with no <figcaption>
    caption = "The market hall seen from the square in the spring of 1962."
    for wrap in ("<p>{}</p>", '<div class="caption"><span>{}</span></div>'):
        html = page(prose_html() + '<figure><img src="x.jpg" alt="">'
                    + wrap.format(f"{caption}   Credit: Jane Doe") + "</figure>" + prose_html())
        assert caption in body_of(html), wrap
    # a heading in a figure keeps its colon and what follows it
    html = page(prose_html() + '<figure><h3>Plan: the hall in 1962</h3><img src="x.jpg" alt="">'
                "</figure>" + prose_html())
    assert "Plan: the hall in 1962" in body_of(html)


def test_furniture_words_in_class_names_written_in_camel_case_count():
    # "NewsletterSignup", "relatedPosts": the same words as "newsletter-signup"
    box = ('<div class="NewsletterSignup"><p>Get the best of our stories every week in your'
           ' inbox, with news from the town and the region, free of charge</p></div>')
    html = page(prose_html() + box + prose_html())
    assert body_of(html) == PROSE * 2
    # of a name for a part of a block ("documentBody__sharingContainer"), the block's name
    # decides: the part is named for what sits beside the text in it
    topics = "".join(f'<li><a href="/t/{i}">Topic number {i} of the site</a></li>'
                     for i in range(40))
    html = ('<html><body><h1>Save the market hall library</h1>'
            f'<div class="documentBody__sharingContainer">{prose_html()}'
            f'<a href="/share">Share</a></div><div class="topics"><ul>{topics}</ul></div>'
            '<div class="about"><p>The campaign is run by volunteers from the town, who meet '
            'every month in the back room of the old market hall to plan the next steps and '
            'write to the council, the county and anybody else who will listen to them about '
            'the library and its future in the town.</p></div></body></html>')
    assert body_of(html) == PROSE
    # strong words, weak words, nothing; a part's name read in lower case as ever
    # (a style module's "Component_part__hash": the component's name decides)
    assert [names_verdict(names) for names in (
        "relatedPosts", "mainSidebar", "hasSidebar layout", "TestReport__AuthorBox",
        "documentContent__sharingContainer", "ArticleBody", "RecommendedTeasers_wrapper__A7fsu",
        "LongFormArticle_socialContainer__0RGo1")] == [2, 1, 0, 2, 0, 0, 2, 0]


def test_a_trail_of_links_without_separators_ending_in_the_headline_is_dropped():
    # "Home Campaigns <headline>": the links to the page's place in the site, then the
    # headline, with no arrow or bar between them; with a long headline the line reads as prose
    headline = "Council votes to close the market hall library after sixty years of service"
    trail = f'<div class="crumbs"><a href="/">Home</a> <a href="/c">Campaigns</a> {headline}</div>'
    html = (f"<html><body><h1>{headline}</h1><div class=\"entry\">{trail}{prose_html()}"
            "</div></body></html>")
    assert body_of(html) == PROSE
    # a paragraph that only mentions the headline's words after a link stays
    line = (f'Read <a href="/r">the report</a> on why the {headline.lower()} before the '
            "vote next week.")
    html = (f"<html><body><h1>{headline}</h1><div class=\"entry\"><p>{line}</p>{prose_html()}"
            "</div></body></html>")
    assert len(body_of(html)) == 4


def test_a_block_that_is_only_a_pictures_credit_is_dropped_and_a_caption_stays():
    # "Photo: Name / Agency" under a picture, in a paragraph, a figure or a box of its own
    credits = ("Photo: Jane Doe / Town Archive", "(Credit: Jane Doe / Town Archive)",
               "Photograph by Jane Doe, Town Archive", "Foto: J. Doe/dpa")
    wraps = ('<p><img src="x.jpg" alt=""></p><p>{}</p>',
             '<figure><img src="x.jpg" alt=""><figcaption>{}</figcaption></figure>',
             '<div class="image"><img src="x.jpg" alt=""><span>{}</span></div>')
    for credit in credits:
        for wrap in wraps:
            html = page(f"<p>{PROSE[0]}</p>" + wrap.format(credit)
                        + f"<p>{PROSE[1]}</p><p>{PROSE[2]}</p>")
            assert body_of(html) == PROSE, (credit, wrap)
    # a caption saying what the picture shows stays, with a label or without
    for caption in ("Photo: the reading room of the market hall library in 1962.",
                    "The reading room in 1962, before the hall was rebuilt"):
        html = page(f"<p>{PROSE[0]}</p>" + wraps[1].format(caption)
                    + f"<p>{PROSE[1]}</p><p>{PROSE[2]}</p>")
        assert caption in body_of(html)


def test_a_date_alone_opening_the_body_under_a_headline_is_left_to_the_metadata():
    # the day shown under the headline, first or after a standfirst, is the publication date
    for date in ("20 May 2024", "May 20, 2024", "20.05.2024", "20 maja 2024"):
        html = page(f'<p class="date">{date}</p>' + prose_html())
        assert body_of(html) == PROSE, date
        html = page(f"<p>{PROSE[0]}</p><p><span>{date}</span></p><p>{PROSE[1]}</p>"
                    f"<p>{PROSE[2]}</p>")
        assert body_of(html) == PROSE, date
    # a date closing the body is a signature's, and a line that tells more than a date stays
    html = page(prose_html() + "<p>20 May 2024</p>")
    assert body_of(html)[-1] == "20 May 2024"
    blocks = ["20 May 2024: the council votes", *PROSE]
    assert _drop_opening_date(blocks) == blocks


def test_a_byline_alone_opening_the_body_under_a_headline_is_left_to_the_metadata():
    # "By Name" under the headline (or after a standfirst) names the author, kept apart
    for byline in ("By Jane Doe", "Von Hans Müller und Eva Beck", "Par Jean-Luc Mélenchon"):
        html = page(f'<p class="credit">{byline}</p>' + prose_html())
        assert body_of(html) == PROSE, byline
        html = page(f"<p>{PROSE[0]}</p><p><span>{byline}</span></p><p>{PROSE[1]}</p>"
                    f"<p>{PROSE[2]}</p>")
        assert body_of(html) == PROSE, byline
    # a line that goes on past a name, or a sentence opening with "By", is the article's
    for line in ("By the time we arrived", "By Jane Doe, who ran the library for years.",
                 "By clicking here you agree"):
        blocks = [line, *PROSE]
        assert _drop_opening_byline(blocks) == blocks, line
    # a signature closing the body stays
    html = page(prose_html() + "<p>By Jane Doe</p>")
    assert body_of(html)[-1] == "By Jane Doe"


def test_a_blogs_closing_line_of_filing_is_dropped_a_sentence_about_filing_stays():
    for line in ("This entry was posted in News. Bookmark the permalink.",
                 "Der Beitrag wurde am Mittwoch, den 27. November 2019 um 15:21 Uhr "
                 "veröffentlicht und wurde unter Allgemein, Bibliothek abgelegt.",
                 "Erstellt am Dienstag 6. Mai 2014 um 23:30 und abgelegt unter Stadt, Kultur."):
        html = page(prose_html() + f'<p class="small">{line}</p>')
        assert body_of(html) == PROSE, line
    line = "The complaint was filed under the law on public libraries in March."
    html = page(prose_html() + f"<p>{line}</p>")
    assert body_of(html)[-1] == line


def test_a_single_address_written_out_as_a_link_stays_a_list_of_them_goes():
    # a link whose text is the address it points to, alone in the body: the petition to sign
    # or the mailbox to write to, which the article gives its readers
    for address in ("https://petition.example.org/save-the-market-hall-library",
                    "library.campaign@example.org"):
        html = page(f"<p>{PROSE[0]}</p><p><a href='https://x.example/'>{address}</a></p>"
                    f"<p>{PROSE[1]}</p><p>{PROSE[2]}</p>")
        assert body_of(html) == [PROSE[0], address, PROSE[1], PROSE[2]], address
    # links named by words, and a run of addresses (a list of sources), are link lists
    html = page(prose_html() + _links("Where the branch libraries stand")
                + _links("https://a.example.org/one", "https://b.example.org/two"))
    assert body_of(html) == PROSE


def test_a_standfirst_that_joined_as_the_containers_sibling_is_not_taken_twice_as_the_lead():
    # a standfirst in a box of its own, a box of teaser links, then the body: the standfirst
    # joins as a prose sibling of the container, and is also the lead set apart
    html = page(f'<div class="standfirst"><p>{PROSE[0]}</p></div>'
                + _links(*(f"Another story from the town hall, number {i}" for i in range(6)))
                + f'<div class="text"><p>{PROSE[1]}</p><p>{PROSE[2]}</p></div>')
    assert body_of(html) == PROSE


ABOUT = ("I write about the songs I love, in the languages I love, and I translate them for "
         "the friends who asked me to: a line of the words as they are sung, a line of how they "
         "are read, and now and then a word about the singer and the year the song came out.")
#: a blog's archive of month links, the most of a page's text beside a short post
ARCHIVE = "".join(f'<li><a href="/{y}/{m}">Posts of month {m} in the year {y} of the blog'
                  f'</a></li>' for y in range(2005, 2012) for m in range(1, 13))


def test_a_blog_engines_post_widget_is_the_post_beside_a_long_sidebar():
    # a blog engine sets the post in a layout box named "widget Blog"; the sidebar (an
    # archive of links and a word about the blog) holds most of the page's text, so the
    # layout word would count on the post
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Songs</title>'
            '</head><body><div class="main section" id="main"><div class="widget Blog" '
            f'id="Blog1"><div class="post hentry"><h3>Songs</h3>{prose_html()}</div></div></div>'
            f'<div class="sidebar section"><p>{ABOUT}</p>'
            f'<div class="widget BlogArchive"><ul>{ARCHIVE}</ul>'
            '</div></div></body></html>')
    assert body_of(html) == PROSE


def test_preformatted_text_closing_the_body_is_the_articles():
    # a command to type, set in <pre> after the last paragraph, is not judged as furniture
    html = page(prose_html() + "<p>To turn the setting off:</p>"
                "<pre>netsh interface tcp set global autotuninglevel=disabled</pre>"
                "<p>To turn it back on:</p>"
                "<pre>netsh interface tcp set global autotuninglevel=normal</pre>")
    assert body_of(html)[-1] == "netsh interface tcp set global autotuninglevel=normal"


def test_an_entry_going_on_with_the_numbering_before_it_is_the_articles():
    # a ranking written as paragraphs: its last entries, short lines after the last prose
    # block, are the list's, not a signature or furniture
    names = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov",
             "Donald Knuth"]
    entries = [f"{n}. {name}" for n, name in enumerate(names, 95)]
    html = page(prose_html() + "".join(f"<p>{e}</p>" for e in entries))
    assert body_of(html) == PROSE + entries


def test_a_recipes_declared_ingredients_and_steps_join_the_body_from_boxes_of_their_own():
    # a recipe's page: the description is the container; the ingredients (with headings over
    # each part) and the steps sit in boxes of their own, apart from it by a box of links;
    # the page declares the recipe in JSON-LD
    recipe = {"@context": "https://schema.org", "@type": "Recipe", "name": "Apple cake",
              "recipeIngredient": ["250 g flour", "125 g butter", "3 apples", "100 g sugar"],
              "recipeInstructions": [
                  {"@type": "HowToStep", "text": "Rub the butter into the flour."},
                  {"@type": "HowToStep", "text": "Slice the apples and lay them on top."}]}
    links = _links(*(f"Another cake from the kitchen, number {i}" for i in range(8)))
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Apple cake'
            '</title><script type="application/ld+json">' + json.dumps(recipe) + '</script>'
            '</head><body><h1>Apple cake</h1><div class="intro">' + prose_html() + '</div>'
            + links + '<div class="recipe"><div class="ingredients"><h3>For the dough:</h3>'
            '<table><tr><td>250 g</td><td>flour</td></tr><tr><td>125 g</td><td>butter</td></tr>'
            '</table><h3>For the topping:</h3><table><tr><td>3</td><td>apples</td></tr>'
            '<tr><td>100 g</td><td>sugar</td></tr></table></div><ol class="steps">'
            '<li>Rub the butter into the flour.</li><li>Slice the apples and lay them on top.'
            '</li></ol></div>' + links + '</body></html>')
    body = body_of(html)
    assert body[:3] == PROSE
    for line in ("For the dough:", "flour", "125 g", "For the topping:", "apples",
                 "Rub the butter into the flour.", "Slice the apples and lay them on top."):
        assert line in body, line
    # without the declaration, the boxes are not the body's
    assert body_of(html.replace('"Recipe"', '"Thing"')) == PROSE


def test_text_collapsed_behind_a_read_more_button_is_the_articles():
    # a description a script unfolds, in a box named for the "read more" button: no link in
    # it, a sentence of prose; a "read more" box holding a link is still furniture
    notes = ("Children under four years of age are not counted as guests, and a cot and a high "
             "chair can be had on request at no charge.")
    html = page(prose_html() + f'<div class="js_readmore"><span>{notes}</span></div>'
                + '<div class="read-more"><a href="/next">Read the next story about the hall '
                'and its long history in the town</a></div>')
    assert body_of(html) == [*PROSE, notes]


def test_a_state_token_hidden_something_does_not_make_the_article_furniture():
    # "hidden-contents-menu": the state of a part of the box (its table of contents folded
    # away), not a menu; the article's box holds little of a page with a long archive
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Hall</title>'
            '</head><body><div class="single-page hidden-contents-menu classic-post">'
            f'<div class="the-content">{prose_html()}</div></div><div class="archive">'
            f'<p>{ABOUT}</p><ul>{ARCHIVE}</ul></div></body></html>')
    assert body_of(html) == PROSE


def test_a_line_between_two_declared_ingredients_joins_them():
    # the ingredients in cells of their own (an amount, an ingredient), one written otherwise
    # than the page declares it ("egg(s), large" for "1 egg"), in a box that holds a table of
    # nutrients as well: the line between two declared ones is the list's; the nutrients,
    # far from any, are not taken
    recipe = {"@context": "https://schema.org", "@type": "Recipe", "name": "Apple cake",
              "recipeIngredient": ["250 g flour", "1 egg", "100 g sugar"],
              "recipeInstructions": [
                  {"@type": "HowToStep", "text": "Rub the butter into the flour."},
                  {"@type": "HowToStep", "text": "Slice the apples and lay them on top."}]}
    links = _links(*(f"Another cake from the kitchen, number {i}" for i in range(8)))
    nutrients = "".join(f"<tr><td>Nutrient {i}</td><td>{i}0 mg</td></tr>" for i in range(20))
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Apple cake'
            '</title><script type="application/ld+json">' + json.dumps(recipe) + '</script>'
            '</head><body><h1>Apple cake</h1><div class="intro">' + prose_html() + '</div>'
            + links + '<div class="recipe"><table><tr><td>250 g</td><td>flour</td></tr>'
            '<tr><td>1</td><td>egg(s), large</td></tr><tr><td>100 g</td><td>sugar</td></tr>'
            f'</table><table>{nutrients}</table><ol class="steps">'
            '<li>Rub the butter into the flour.</li><li>Slice the apples and lay them on top.'
            '</li></ol></div>' + links + '</body></html>')
    body = body_of(html)
    assert body[:3] == PROSE
    for line in ("flour", "egg(s), large", "sugar", "Rub the butter into the flour."):
        assert line in body, line
    assert not any(line.startswith("Nutrient") for line in body)


def test_a_note_heading_the_article_in_a_box_of_its_own_is_the_articles():
    # a syndicated post: "This post originally appeared on …" in a box of its own right above
    # the text's box; a byline in the box before it (no full stop) stays out
    note = "This story first appeared in the Weekly Gazette."
    article = (f'<div class="byline">By Ann Smith, 4 March 2024</div><div class="note"><p>{note}'
               f'</p></div><div class="text">{prose_html()}</div>')
    assert body_of(page(article)) == [note, *PROSE]


def test_a_number_with_a_superscript_after_a_numbered_line_does_not_break_the_page():
    # "1²." reads as digits to str.isdigit, but is no number int() takes: the line is text
    lines = ["1 apple", "1². Something else that is not an entry"]
    html = page(prose_html() + "".join(f"<p>{line}</p>" for line in lines))
    assert body_of(html)[:3] == PROSE


def test_a_recipes_declared_lines_are_read_up_to_a_bound():
    # every block outside the body is looked for in the declared lines: a declaration of
    # megabytes would make that search the page's length times its own
    step = "Stir the mixture slowly and taste it now and then. " * 20
    recipe = {"@type": "Recipe", "recipeIngredient": ["250 g flour"],
              "recipeInstructions": [step] * 400}
    lines = recipe_lines([recipe])
    assert lines[0] == "250 g flour"
    assert len("\n".join(lines)) <= _RECIPE_MAX_CHARS


def test_collapsed_text_and_a_heading_note_count_words_of_scripts_without_spaces():
    # a description behind "read more" and a note above the article, in Japanese: words are
    # counted as everywhere else (every two characters in a script written without spaces)
    prose = ["市議会は火曜日の夜に会合を開き、古い市場ホールの将来について長い議論を行った後、"
             "その建物を町の図書館として開いておくことを決めました。" * 2,
             "図書館の利用者たちは、この決定を歓迎し、週末には新しい読書会を開く予定です。" * 2,
             "市長は、改修の費用は来年度の予算から支払われると述べ、工事は春に始まります。" * 2]
    notes = "四歳未満のお子様は人数に含まれず、ベビーベッドと子供用の椅子は無料で貸し出します。"
    body = "".join(f"<p>{p}</p>" for p in prose)
    html = page(body + f'<div class="readmore"><span>{notes}</span></div>')
    assert body_of(html) == [*prose, notes]
    note = "本記事は週刊新聞の転載です。"
    article = (f'<div class="byline">山田花子、2024年3月4日</div><div class="note"><p>{note}'
               f'</p></div><div class="text">{body}</div>')
    w, keep = _walked(page(article))
    assert [w.blocks[i] for i in keep] == [note, *prose]


def test_a_word_inside_a_declared_step_does_not_join_a_block_to_the_body():
    # "Rate" (a button) is in "separate", "Home" in "serve at home": a block joins as a
    # declared line whole, or its start or end (a cell of an ingredient's row), only
    recipe = {"@context": "https://schema.org", "@type": "Recipe", "name": "Apple cake",
              "recipeIngredient": ["250 g flour", "3 apples"],
              "recipeInstructions": [
                  {"@type": "HowToStep", "text": "Separate the eggs and beat the whites."},
                  {"@type": "HowToStep", "text": "Bake until golden and serve at home."}]}
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Apple cake'
            '</title><script type="application/ld+json">' + json.dumps(recipe) + '</script>'
            '</head><body><div class="top"><span>Home</span></div><h1>Apple cake</h1>'
            '<div class="intro">' + prose_html() + '</div><div class="tools"><span>Rate</span>'
            '</div><table><tr><td>250 g</td><td>flour</td></tr></table></body></html>')
    body = body_of(html)
    assert body[:3] == PROSE
    assert "Rate" not in body and "Home" not in body
    assert "250 g" in body and "flour" in body
