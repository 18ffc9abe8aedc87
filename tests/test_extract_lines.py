"""Article lines kept, by kind of page (docs/extraction.md, "Rules for kinds of page, round
eight"): each test is a small page of our own with one kind, which fails without its rule."""

from __future__ import annotations

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
