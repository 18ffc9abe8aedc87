"""Splitting one page into several statements at headings or at a selector."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from collector.errors import ParseError
from collector.split import split_document

ISSUE = """<html><body><header><a href="/">The Valley Courier</a></header>
<main><h1>Issue 42, June 2024</h1><p>In this issue: three statements.</p>
<h2>Council approves the bypass</h2><p>The council voted 12 to 3.</p><p>Work starts in May.</p>
<h2>Quarry: residents object</h2><p>Two hundred letters were sent.</p>
<h2>Quarry: residents object</h2><ul><li>Same heading, another article.</li></ul>
</main><footer>Printed by us</footer></body></html>"""

SECTIONS = """<html><body><div class="issue">
<section id="bypass"><h2>Council approves the bypass</h2><p>The vote was close.</p></section>
<section><h2>Library hours extended</h2><p>From July, until 8 pm.</p></section>
</div></body></html>"""


def _text(fragment: str) -> tuple[str, list[str]]:
    tree = LexborHTMLParser(fragment)
    return tree.css_first("h1").text(), [p.text() for p in tree.css("p, li")]


def test_headings_split_a_page_into_one_piece_per_heading():
    """Each h2 and what follows it up to the next h2 is one piece; the intro is dropped."""
    pieces = split_document(ISSUE, selector=None, headings="h2", url="https://c.example/42")
    assert [k for k, _ in pieces] == ["council-approves-the-bypass", "quarry-residents-object",
                                      "quarry-residents-object-2"]
    title, blocks = _text(pieces[0][1])
    assert title == "Council approves the bypass"
    assert blocks == ["The council voted 12 to 3.", "Work starts in May."]
    assert _text(pieces[2][1])[1] == ["Same heading, another article."]


def test_headings_inside_wrappers_split_at_the_wrappers():
    pieces = split_document(SECTIONS, selector=None, headings="h2", url="u")
    assert [_text(html) for _, html in pieces] == [
        ("Council approves the bypass", ["The vote was close."]),
        ("Library hours extended", ["From July, until 8 pm."])]


def test_selector_split_uses_ids_as_keys_and_heading_as_title():
    pieces = split_document(SECTIONS, selector="section", headings=None, url="u")
    assert [k for k, _ in pieces] == ["bypass", "library-hours-extended"]
    assert _text(pieces[1][1]) == ("Library hours extended", ["From July, until 8 pm."])


def test_keys_are_stable_across_runs():
    first = split_document(ISSUE, selector=None, headings="h2", url="u")
    assert first == split_document(ISSUE, selector=None, headings="h2", url="u")


def test_page_without_matches_gives_no_pieces():
    assert split_document("<p>Only one text.</p>", selector=None, headings="h3", url="u") == []


@pytest.mark.parametrize("kwargs", [
    {"selector": "section[[", "headings": None},
    {"selector": None, "headings": "h9"},
    {"selector": "section", "headings": "h2"},
    {"selector": None, "headings": None},
])
def test_bad_split_settings_raise_parse_error(kwargs):
    with pytest.raises(ParseError):
        split_document(SECTIONS, url="u", **kwargs)
