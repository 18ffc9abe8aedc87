"""Main-text extraction: blocks, furniture, title, date, metadata, feed choice, command."""

from __future__ import annotations

import io
import itertools
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector import extract_blocks, extract_sections, limits
from collector.document import clean_line, render, validate
from collector.errors import ExtractError
from collector.extract import choose, extract, html_to_blocks, main
from collector.extract_meta import _NON_WORD, norm
from collector.extract_walk import clean as _clean
from collector.models import Extracted
from collector.textdates import text_dates

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

PROSE = [
    "The council met on Monday evening to discuss the closure of the library in the old market"
    " hall, which has served the neighbourhood for more than sixty years.",
    "Residents who spoke at the meeting said the nearest branch is two bus rides away and that"
    " older people and children would be the first to lose out if the doors close.",
    "The campaign will hold a public meeting next week and has asked every member to bring a"
    " neighbour, a friend or a colleague who has not yet signed the petition.",
]


def page(article: str, furniture: str = "", head: str = "<title>Library campaign</title>") -> str:
    """A plausible page: site header and menu, the article, and extra furniture after it."""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{head}</head><body>
<header class="site-header"><a href="/">Town Library Campaign</a>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/about">About</a></li></ul></nav></header>
<div class="container"><main><article><h1>Save the market hall library</h1>
<div class="entry-content">{article}</div></article>{furniture}</main></div>
<footer class="site-footer"><p>© Town Library Campaign, 10 High Street</p></footer>
</body></html>"""


def prose_html() -> str:
    return "".join(f"<p>{p}</p>" for p in PROSE)


def body_of(html: str, **kw) -> list[str]:
    return list(extract(html, now=NOW, **kw).blocks)


# --- blocks --------------------------------------------------------------------------------

def test_fixture_article_keeps_every_kind_of_block_in_order():
    html = (FIXTURES / "news_article.html").read_bytes()
    result = extract(html, url="https://union.example.org/news/2024/03/dockers-strike", now=NOW)
    assert result.title == "Dockers strike over port privatisation"
    assert result.blocks == (
        "LISBON, 14 March 2024",
        "Dockers at all three container terminals stopped work at dawn on Thursday, the first day"
        " of a forty-eight hour strike against the government's plan to sell the port authority"
        " to a private consortium.",
        "The union says the sale would put more than two thousand jobs at risk and hand control"
        " of the country's busiest harbour to investors with no stake in its future.",
        "What the workers demand",
        "Withdrawal of the privatisation bill before its second reading.",
        "A guarantee that no docker loses a job or a pension right.",
        "Talks with the union on investment in the terminals.",
        "“We built this port and we keep it running. It is not for sale.”",
        "Pickets at the north terminal gate on Thursday morning.",
        "The strike committee will meet again on Saturday to decide on further action, and has"
        " called on dockers in other ports to send delegations to the picket lines next week.",
        "Executive Committee, Harbour Workers' Union",
    )
    assert validate(render(result.title, result.blocks)) == []


def test_subheading_is_its_own_block():
    blocks = body_of(page(f"<p>{PROSE[0]}</p><h2>Next steps</h2><p>{PROSE[1]}</p>"))
    assert blocks == [PROSE[0], "Next steps", PROSE[1]]


def test_list_items_are_blocks():
    html = page(prose_html() + "<ol><li>Sign the petition.</li><li>Come to the meeting.</li></ol>")
    assert body_of(html)[-2:] == ["Sign the petition.", "Come to the meeting."]


def test_block_quotation_paragraphs_are_blocks():
    html = page(prose_html() + "<blockquote><p>“Libraries are not a luxury.”</p>"
                "<p>“They are where a town keeps its memory.”</p></blockquote>")
    assert body_of(html)[-2:] == ["“Libraries are not a luxury.”",
                                  "“They are where a town keeps its memory.”"]


def test_caption_is_a_block_and_image_alt_text_is_not():
    html = page(prose_html() + '<figure><img src="x.jpg" alt="ALT TEXT">'
                "<figcaption>The market hall in 1962.</figcaption></figure>")
    blocks = body_of(html)
    assert blocks[-1] == "The market hall in 1962."
    assert not any("ALT TEXT" in b for b in blocks)


def test_a_photo_credit_after_a_copyright_sign_is_cut_from_its_caption():
    html = page(prose_html() + '<figure><img src="x.jpg" alt="">'
                "<figcaption>The market hall seen from the square in the spring of 1962 "
                "© Jane Doe/Town Archive</figcaption></figure>")
    assert body_of(html)[-1] == "The market hall seen from the square in the spring of 1962"


def test_a_copyright_sign_inside_a_sentence_keeps_the_line():
    line = "The emblem © was registered by the campaign in 1990 and is still in use."
    html = page("".join(f"<p>{p}</p>" for p in PROSE[:-1]) + f"<p>{line}</p><p>{PROSE[-1]}</p>")
    assert line in body_of(html)


def test_the_last_paragraph_of_a_body_is_judged_even_as_a_sentence():
    # a rights notice set as the closing paragraph: the classifier judges the body's first and
    # last paragraphs (of four prose blocks or more) even when they end as sentences
    notice = ("© 2022, Example News. This article is the copyrighted property of Example News. "
              "Written permission is required to reproduce it.")
    assert body_of(page(prose_html() * 2 + f"<p>{notice}</p>")) == PROSE * 2
    # the same paragraph between others is not at an edge, and a sentence there stays
    assert notice in body_of(page(prose_html() + f"<p>{notice}</p>" + prose_html()))


def test_a_section_under_a_heading_after_the_last_paragraph_is_furniture():
    teasers = "".join(f"<p>Teaser headline number {i}</p>" for i in range(4))
    html = page(prose_html() + "<h2>More on this topic</h2>" + teasers)
    blocks = body_of(html)
    assert blocks[-1] == PROSE[-1]
    assert not any("Teaser" in b or "More on" in b for b in blocks)


def test_a_heading_between_paragraphs_keeps_its_section():
    html = page(f"<p>{PROSE[0]}</p><h2>What comes next</h2><p>{PROSE[1]}</p>")
    assert body_of(html) == [PROSE[0], "What comes next", PROSE[1]]


def test_a_signature_set_as_a_heading_after_the_last_paragraph_stays():
    html = page(prose_html() + "<h4>The campaign committee – 10/07/2023</h4>")
    assert body_of(html)[-1] == "The campaign committee – 10/07/2023"


def test_signature_and_dateline_are_blocks():
    html = page('<p class="dateline">LEEDS, 3 May 2024</p>' + prose_html()
                + '<p class="signature">— The campaign committee</p>')
    blocks = body_of(html)
    assert blocks[0] == "LEEDS, 3 May 2024"
    assert blocks[-1] == "— The campaign committee"


def test_inline_markup_is_dropped_and_link_text_kept_in_place():
    html = page(f'<p>The <b>council</b> met on <a href="/m">Monday</a>; {PROSE[0]}</p>'
                + prose_html())
    assert body_of(html)[0] == f"The council met on Monday; {PROSE[0]}"


def test_line_breaks_split_blocks_and_white_space_collapses():
    html = page(prose_html() + "<p>Jane   Doe<br>\n  Secretary</p>")
    assert body_of(html)[-2:] == ["Jane Doe", "Secretary"]


def test_layout_table_page_keeps_the_article_cell_only():
    result = extract((FIXTURES / "table_layout.html").read_bytes(), now=NOW)
    assert result.blocks[0].startswith("The committee has studied the budget")
    assert not any("Archive" in b for b in result.blocks)


def test_entities_are_decoded_and_text_is_nfc():
    html = page(prose_html() + "<p>Caf&eacute; &amp; cine\u0301ma &mdash; open again.</p>")
    assert body_of(html)[-1] == "Café & cinéma — open again."


# --- furniture -----------------------------------------------------------------------------

FURNITURE = {
    "navigation": '<nav class="post-nav"><a href="/p">MARKER previous story about roads</a></nav>',
    "breadcrumbs": '<div class="breadcrumb"><a href="/">Home</a> › MARKER crumbs</div>',
    "share buttons": '<div class="share-buttons"><a href="#">MARKER Share on Facebook</a>'
                     '<a href="#">Tweet</a></div>',
    "print button": '<div class="print-link"><a href="javascript:print()">MARKER Print</a></div>',
    "cookie box": '<div id="cookie-consent"><p>MARKER We use cookies to make this site work and'
                  " to understand how visitors use it, so that we can improve it.</p></div>",
    "newsletter box": '<div class="newsletter"><h3>Newsletter</h3><p>MARKER Sign up to receive'
                      " our news every week in your inbox, free of charge, no adverts.</p></div>",
    "comments": '<section id="comments" class="comments-area"><article class="comment"><p>MARKER'
                " Great article, I went to the meeting last year and it was packed with people"
                " from all over town.</p></article></section>",
    "related articles": '<div class="related-posts"><h3>Related</h3><ul><li><a href="/a">MARKER'
                        " Campaign wins reprieve for the swimming pool in the park</a></li>"
                        '<li><a href="/b">Bus routes saved after petition</a></li></ul></div>',
    "tag cloud": '<div class="tagcloud"><a href="/t">MARKER libraries</a> <a href="/u">council'
                 "</a></div>",
    "author box": '<div class="author-box"><p>MARKER Jane Doe writes about local politics and has'
                  " been a member of the campaign since it was founded in 2009.</p></div>",
    "sidebar": '<aside class="sidebar"><h3>Recent</h3><p>MARKER An aside with a long paragraph of'
               " text that talks about something else entirely, like the weather.</p></aside>",
    "footer": '<footer><p>MARKER Published by the campaign, printed by volunteers, all rights'
              " reserved.</p></footer>",
}


@pytest.mark.parametrize("kind", sorted(FURNITURE))
def test_furniture_is_not_part_of_the_body(kind):
    blocks = body_of(page(prose_html(), FURNITURE[kind]))
    assert not any("MARKER" in b for b in blocks), kind
    assert blocks == PROSE


@pytest.mark.parametrize("kind", ["share buttons", "print button", "tag cloud", "author box"])
def test_furniture_inside_the_article_is_dropped(kind):
    blocks = body_of(page(prose_html() + FURNITURE[kind]))
    assert not any("MARKER" in b for b in blocks), kind


def test_fixture_page_has_no_furniture():
    text = "\n".join(extract((FIXTURES / "news_article.html").read_bytes(), now=NOW).blocks)
    for furniture in ("Skip to content", "Join the union", "Share this", "Twitter", "Tagged",
                      "Maria Lopes has covered", "Related posts", "Solidarity from the rail",
                      "Leave a Reply", "Recent news", "newsletter", "cookies", "All rights"):
        assert furniture not in text


def test_class_words_describing_layout_do_not_hide_the_article():
    html = page("").replace('<div class="container">',
                            '<div class="content-sidebar-wrap main-with-sidebar">')
    html = html.replace('<div class="entry-content"></div>',
                        f'<div class="entry-content field--label-hidden">{prose_html()}</div>')
    assert body_of(html) == PROSE


# --- title ---------------------------------------------------------------------------------

def test_title_is_the_headline_not_the_title_tag_with_the_site_name():
    html = page(prose_html(), head="<title>Save the market hall library | Town Library Campaign"
                                   "</title>")
    assert extract(html, now=NOW).title == "Save the market hall library"


def test_title_without_h1_drops_the_site_name_from_og_title():
    html = ('<html><head><meta property="og:site_name" content="Workers Weekly">'
            '<meta property="og:title" content="Rents rise again – Workers Weekly"></head>'
            f"<body><div>{prose_html()}</div></body></html>")
    assert extract(html, now=NOW).title == "Rents rise again"


def test_a_title_that_is_only_the_site_name_is_no_headline():
    html = ('<html><head><title>Workers Weekly</title><meta property="og:site_name" '
            f'content="Workers Weekly"></head><body><div>{prose_html()}</div></body></html>')
    result = extract(html, now=NOW)
    assert result.title == ""
    assert render(result.title, result.blocks).split("\n")[0] == PROSE[0]


def test_headline_is_not_repeated_as_the_first_body_block():
    blocks = body_of(page(prose_html()))
    assert "Save the market hall library" not in blocks


# --- date ----------------------------------------------------------------------------------

def dated(head: str = "", body_extra: str = "", url: str | None = None,
          now: datetime = NOW) -> datetime | None:
    html = (f"<html><head>{head}</head><body><article><h1>Title</h1>{body_extra}"
            f"{prose_html()}</article></body></html>")
    return extract(html, url=url, now=now).published


def test_date_from_json_ld_wins_over_meta_and_time():
    head = ('<script type="application/ld+json">{"@type":"NewsArticle",'
            '"datePublished":"2024-02-03T10:00:00Z"}</script>'
            '<meta property="article:published_time" content="2023-01-01T00:00:00Z">')
    html = (f"<html><head>{head}</head><body><article><h1>Title</h1>{prose_html()}"
            '<footer><time datetime="2022-05-05">5 May 2022</time></footer></article>'
            "</body></html>")
    assert extract(html, now=NOW).published == datetime(2024, 2, 3, 10, 0, tzinfo=UTC)


def test_date_shown_under_the_headline_wins_when_metadata_disagrees():
    head = ('<script type="application/ld+json">{"@type":"NewsArticle",'
            '"datePublished":"2019-02-03T10:00:00Z"}</script>')
    assert dated(head, '<p class="byline">By A. Writer, 5 May 2022</p>') == datetime(
        2022, 5, 5, tzinfo=UTC)


def test_declared_date_keeps_its_time_when_it_falls_on_the_day_shown():
    # 23:30 in New York on 4 May is 03:30 UTC on 5 May: the same day as printed
    head = '<meta property="article:published_time" content="2022-05-04T23:30:00-04:00">'
    assert dated(head, "<p>May 4, 2022</p>") == datetime(2022, 5, 5, 3, 30, tzinfo=UTC)


def test_an_updated_date_under_the_headline_is_not_the_publication_date():
    head = '<meta property="article:published_time" content="2019-02-03T10:00:00Z">'
    assert dated(head, "<p>Updated 5 May 2022</p>") == datetime(2019, 2, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("shown", "day"), [
    ("Published: 2021.12.17 | Essay", (2021, 12, 17)),
    ("17.05.2021", (2021, 5, 17)),
    ("2/24/2022", (2022, 2, 24)),
    ("24/2/2022", (2022, 2, 24)),
    ("March 5th, 2020", (2020, 3, 5)),
    ("5 Sept. 2020", (2020, 9, 5)),
])
def test_numeric_and_written_dates_under_the_headline(shown, day):
    assert dated(body_extra=f"<p>{shown}</p>") == datetime(*day, tzinfo=UTC)


def test_a_date_after_a_byline_set_as_many_small_blocks_is_the_headline_s():
    # a standfirst, then "By | Name | 6 | mins | date", each in an element of its own
    byline = "".join(f"<div>{part}</div>" for part in (
        "By", "The Newsroom Team", "|", "6", "mins", "|", "February 28, 2024"))
    head = '<meta property="article:published_time" content="2019-02-03T10:00:00Z">'
    assert dated(head, f"<p>{PROSE[2]}</p>{byline}") == datetime(2024, 2, 28, tzinfo=UTC)


def test_headline_date_in_the_future_is_ignored():
    head = '<meta property="article:published_time" content="2022-05-04T10:00:00Z">'
    assert dated(head, "<p>Event on 5 May 2031</p>") == datetime(2022, 5, 4, 10, 0, tzinfo=UTC)


def test_date_from_meta_tag_keeps_its_instant_and_the_page_s_offset():
    head = '<meta property="article:published_time" content="2024-03-14T09:30:00+01:00">'
    published = dated(head)
    assert published == datetime(2024, 3, 14, 8, 30, tzinfo=UTC)
    assert published is not None and published.utcoffset() == timedelta(hours=1)


def test_a_declared_evening_west_of_greenwich_stays_on_the_publisher_s_day():
    # 18:00 on 12 April in California is 01:00 on 13 April in UTC: the publication's day,
    # as the page gives it, is the 12th (the store keeps the instant, in UTC)
    head = ('<script type="application/ld+json">{"@type":"NewsArticle",'
            '"datePublished":"2020-04-12T18:00:00-0700"}</script>')
    published = dated(head)
    assert published == datetime(2020, 4, 13, 1, 0, tzinfo=UTC)
    assert published is not None and published.date().isoformat() == "2020-04-12"


def test_date_from_time_element():
    assert dated(body_extra='<time datetime="2023-11-02">2 Nov</time>') == datetime(
        2023, 11, 2, tzinfo=UTC)


def test_date_from_url_when_the_page_has_none():
    assert dated(url="https://example.org/2021/07/09/story/") == datetime(2021, 7, 9, tzinfo=UTC)


def test_date_from_visible_text_as_last_resort():
    assert dated(body_extra="<p>Posted on March 5, 2020</p>") == datetime(2020, 3, 5,
                                                                         tzinfo=UTC)


def test_future_date_is_never_taken():
    head = '<meta property="article:published_time" content="2031-01-01T00:00:00Z">'
    assert dated(head, url="https://example.org/2019/01/02/x") == datetime(2019, 1, 2, tzinfo=UTC)


def test_render_time_stamp_is_not_taken_for_a_publication_date():
    head = '<meta name="date" content="2025-01-01T11:58:00Z">'  # two minutes before NOW
    assert dated(head) is None


# --- metadata ------------------------------------------------------------------------------

def test_canonical_url_language_and_author():
    result = extract((FIXTURES / "news_article.html").read_bytes(),
                     url="https://union.example.org/p?id=7", now=NOW)
    assert result.canonical_url == "https://union.example.org/news/2024/03/dockers-strike"
    assert result.language == "en-gb"
    assert result.author == "Maria Lopes"
    assert result.published == datetime(2024, 3, 14, 8, 30, tzinfo=UTC)


def test_bytes_are_decoded_by_the_declared_meta_charset():
    result = extract((FIXTURES / "cp1251_meta.html").read_bytes(), now=NOW)
    assert result.title == "Привет"
    assert result.blocks == ("Сообщение для всех.",)


def test_http_charset_header_is_used_for_bytes():
    html = page(prose_html() + "<p>Première réunion à l’hôtel de ville.</p>").encode("cp1252")
    result = extract(html, headers={"Content-Type": "text/html; charset=windows-1252"}, now=NOW)
    assert result.blocks[-1] == "Première réunion à l’hôtel de ville."


# --- floor, selector, determinism ----------------------------------------------------------

def test_implausibly_short_body_is_flagged():
    result = extract(page("<p>Coming soon.</p>"), now=NOW)
    assert result.flags == ("short",)
    assert result.word_count < limits.MIN_BODY_WORDS


def test_full_article_is_not_flagged():
    assert extract(page(prose_html()), now=NOW).flags == ()


def test_content_selector_overrides_the_heuristics():
    html = page(prose_html(), '<div class="notice"><p>Office hours: Monday to Friday.</p></div>')
    result = extract(html, content_selector="div.notice", now=NOW)
    assert result.method == "selector"
    assert result.blocks == ("Office hours: Monday to Friday.",)


def test_invalid_content_selector_is_a_clear_error():
    with pytest.raises(ExtractError, match="not valid CSS"):
        extract(page(prose_html()), content_selector="div[[", now=NOW)


def test_valueless_attributes_in_the_head_do_not_break_extraction():
    html = page(prose_html(), head='<meta http-equiv><meta content="x"><script type>1</script>'
                                   '<link rel><title>Library campaign</title>')
    assert body_of(html) == PROSE


def test_extraction_is_deterministic():
    html = (FIXTURES / "news_article.html").read_bytes()
    assert extract(html, now=NOW) == extract(html, now=NOW)


def test_empty_and_garbage_input_give_a_flagged_result_not_a_crash():
    for junk in (b"", b"\x00\xff\xfe garbage", "<<<>>>", "<html>", "\ud800 lone surrogate"):
        result = extract(junk, now=NOW)
        assert result.flags == ("short",)
        assert result.word_count <= 3


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))))
def test_fast_line_cleaning_equals_the_format_rule(text):
    assert _clean(text) == clean_line(text)


# --- feed text -----------------------------------------------------------------------------

FEED_HTML = "".join(f"<p>{p}</p>" for p in PROSE) + "<p>Extra paragraph only the feed has.</p>"


def test_html_to_blocks_uses_the_same_block_rules():
    assert html_to_blocks("<p>One <em>two</em></p><ul><li>three</li></ul><h3>four</h3>") == [
        "One two", "three", "four"]


def test_feed_text_wins_when_the_page_yields_less():
    page_result = extract(page(f"<p>{PROSE[0]}</p>"), now=NOW)
    chosen = choose(page_result, FEED_HTML, "Feed title")
    assert chosen.method == "feed"
    assert chosen.blocks[-1] == "Extra paragraph only the feed has."
    assert chosen.title == page_result.title


def test_page_text_wins_when_it_is_at_least_as_long():
    page_result = extract(page(prose_html() + "<p>And one more paragraph here.</p>"), now=NOW)
    assert choose(page_result, "<p>Short summary.</p>", "T").method == "page"


def test_feed_text_is_used_when_the_page_could_not_be_fetched():
    chosen = choose(None, FEED_HTML, "Feed title")
    assert (chosen.method, chosen.title, len(chosen.blocks)) == ("feed", "Feed title", 4)


def test_no_page_and_no_feed_text_is_an_error():
    with pytest.raises(ExtractError):
        choose(None, None, "Title")


def test_choose_keeps_a_page_when_the_feed_has_no_text():
    page_result = Extracted(title="T", blocks=("one",))
    assert choose(page_result, "", None) is page_result


# --- command -------------------------------------------------------------------------------

def test_command_prints_the_stored_document_and_reports_on_stderr(capsys):
    path = FIXTURES / "news_article.html"
    assert main([str(path), "--url", "https://union.example.org/x"]) == 0
    out, err = capsys.readouterr()
    expected = extract(path.read_bytes(), url="https://union.example.org/x", now=NOW)
    assert out == render(expected.title, expected.blocks)
    assert "title: Dockers strike over port privatisation" in err
    assert "date: 2024-03-14T09:30:00+01:00" in err  # (the page's offset: its own day)
    assert "method: page" in err


def test_command_reads_standard_input(capsys, monkeypatch):
    data = (FIXTURES / "table_layout.html").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["-"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("Statement on the budget\n\nThe committee has studied")


def test_command_reports_an_unreadable_file(capsys, tmp_path):
    assert main([str(tmp_path / "missing.html")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_json_ld_in_the_body_is_read_when_some_script_holds_its_keywords():
    ld = ('<script type="application/ld+json">{"@type":"NewsArticle",'
          '"datePublished":"2024-02-03T10:00:00Z","author":{"name":"A. Writer"}}</script>')
    page = extract(f"<html><head><title>T</title></head><body><article><h1>Title</h1>"
                   f"{prose_html()}</article>{ld}</body></html>", now=NOW)
    assert page.published == datetime(2024, 2, 3, 10, 0, tzinfo=UTC)
    assert page.author == "A. Writer"
    # a JSON-LD script without either keyword is not looked for in the body (the search
    # over every element is skipped), unless another script of the page holds one
    # (the key written with an escape: JSON reads it as "@type")
    bare = ('<script type="application/ld+json">{"\\u0040type":"NewsArticle",'
            '"author":{"name":"B. Writer"}}</script>')
    assert extract(f"<html><body><article><h1>Title</h1>{prose_html()}</article>{bare}"
                   "</body></html>", now=NOW).author is None
    other = '<script>var ctx = {"@context": 1};</script>'
    assert extract(f"<html><head>{other}</head><body><article><h1>Title</h1>{prose_html()}"
                   f"</article>{bare}</body></html>", now=NOW).author == "B. Writer"
    # the type named in capitals is JSON-LD too (the scripts' text is read only on a page
    # with a script typed as JSON-LD, whatever the case of its type)
    loud = ld.replace("application/ld+json", "APPLICATION/LD+JSON")
    assert extract(f"<html><body><article><h1>Title</h1>{prose_html()}</article>{loud}"
                   "</body></html>", now=NOW).author == "A. Writer"


def test_patterns_written_from_their_first_digit_find_what_their_plain_forms_find():
    """The year and clock patterns of the classifier and the stamps rule are written from
    their first digit for speed; each must find a match exactly where its plain form does
    (every string of up to 6 characters over the characters that matter, Arabic-Indic digits
    included)."""
    year = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|\d\d?[./]\d\d?[./]")
    clock = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?![\d:])|(?<!\d)\d{1,2}[.h]\d{2}\s?(?:uhr|h)\b|"
                       r"(?<!\d)\d{1,2}\s?min\b", re.IGNORECASE)
    cases = [(extract_blocks._YEAR, year, "0129./ \u0663"),
             (extract_sections._DATED, year, "0129./ \u0663"),
             (extract_sections._CLOCK, clock, "12:.hHm \u0663")]
    for fast, plain, alphabet in cases:
        for n in range(7):
            for chars in itertools.product(alphabet, repeat=n):
                text = "".join(chars)
                assert bool(fast.search(text)) == bool(plain.search(text)), text
    for text in ("5 min read", "10.27 Uhr", "15:49", "12:301", "1:2:30", "9 MIN", "3 mins"):
        assert bool(extract_sections._CLOCK.search(text)) == bool(clock.search(text)), text


def test_dates_in_text_are_found_in_any_digits_and_none_without_a_year():
    # (text without four digits in a row is not searched: every written date has its year)
    assert list(text_dates("published ２０２３年１０月７日")) == [
        (10, datetime(2023, 10, 7, tzinfo=UTC))]
    assert list(text_dates("7 octobre 2023")) == [(0, datetime(2023, 10, 7, tzinfo=UTC))]
    assert list(text_dates("By A. Writer, May 5, in the morning")) == []


def test_norm_of_ascii_text_is_the_patterns():
    # norm reads ASCII text without its pattern: the same words, one space between them, on
    # every string of up to 2 characters over ASCII (and letters that casefold to ASCII)
    chars = [chr(i) for i in range(128)] + ["ß", "é", "\u212a", "ﬁ", "\xa0"]
    for text in ("".join(p) for n in range(3) for p in itertools.product(chars, repeat=n)):
        assert norm(text) == _NON_WORD.sub(" ", text.casefold()).strip(), repr(text)
    assert norm("  Hello, World -- 2024!") == "hello world 2024"
