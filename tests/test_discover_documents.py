"""Listing discovery of tables of documents and of posts on another host (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collector.discover.page import find_links
from collector.discover.table import choose, variant_of
from collector.documents.links import document_link, link_language

BASE = "https://www.ohchr.example/en/press-releases/"


def un_table(languages: list[tuple[str, str]], *, title_links: bool = True) -> str:
    rows = []
    for n, title in enumerate(["Experts alarmed by the situation of detainees",
                               "Committee opens its eightieth session in Geneva",
                               "Special Rapporteur calls for an end to forced evictions"]):
        title_cell = (f'<a href="/en/press-releases/2024/05/{n}-story">{title}</a>'
                      if title_links else title)
        langs = " | ".join(f'<a href="/Documents/{n}_{code}.pdf">{label}</a>'
                           for code, label in languages)
        rows.append(f"<tr><td>{n + 10} May 2024</td><td>{title_cell}</td><td>{langs}</td>"
                    f'<td><a href="/Documents/{n}_en.pdf">PDF</a> '
                    f'<a href="/Documents/{n}_en.docx">DOCX</a></td></tr>')
    return (f'<html><body><nav class="menu"><a href="/en/about">About us</a></nav><main>'
            f'<h1>Press releases</h1><table>{"".join(rows)}</table></main></body></html>')


def test_language_links_in_every_row_do_not_make_a_table_look_like_navigation() -> None:
    cands = find_links(un_table([("en", "EN"), ("fr", "FR"), ("es", "ES")]), BASE)
    assert [c.url for c in cands] == [
        f"https://www.ohchr.example/en/press-releases/2024/05/{n}-story" for n in range(3)]
    assert cands[0].title == "Experts alarmed by the situation of detainees"
    assert cands[0].published == datetime(2024, 5, 10, tzinfo=UTC)
    assert set(cands[0].alternates) == {f"https://www.ohchr.example/Documents/0_{c}"
                                        for c in ("en.pdf", "fr.pdf", "es.pdf", "en.docx")}


@pytest.mark.parametrize(("language", "wanted"), [(None, "en.pdf"), ("fr", "fr.pdf"),
                                                   ("es", "es.pdf"), ("de", "en.pdf")])
def test_a_row_without_title_link_gives_the_document_in_the_wanted_language(
        language: str | None, wanted: str) -> None:
    html = un_table([("fr", "Français"), ("en", "English"), ("es", "Español")],
                    title_links=False)
    cands = find_links(html, BASE, language=language)
    assert [c.url for c in cands] == [f"https://www.ohchr.example/Documents/{n}_{wanted}"
                                      for n in range(3)]
    assert cands[1].title == "Committee opens its eightieth session in Geneva"


def test_without_english_the_rows_first_language_is_taken() -> None:
    html = un_table([("es", "ES"), ("fr", "FR")], title_links=False).replace(
        '<a href="/Documents/0_en.pdf">PDF</a> ', "").replace(
        '<a href="/Documents/0_en.docx">DOCX</a>', "")
    cands = find_links(html, BASE)
    assert cands[0].url == "https://www.ohchr.example/Documents/0_es.pdf"


def test_html_is_preferred_to_pdf_and_pdf_to_docx() -> None:
    url, others = choose(None, [v for v in (
        variant_of("DOCX", "https://x.example/a.docx", None, None, 1),  # type: ignore[arg-type]
        variant_of("PDF (200 KB)", "https://x.example/a.pdf", None, None, 2),  # type: ignore[arg-type]
    ) if v], None)
    assert url == "https://x.example/a.pdf" and others == ("https://x.example/a.docx",)
    assert choose("https://x.example/page", [], None)[0] == "https://x.example/page"


def test_variant_words() -> None:
    assert variant_of("Read the full report on housing", "https://x/a", None, None, 0) is None  # type: ignore[arg-type]
    v = variant_of("English PDF", "https://x/a", None, None, 0)  # type: ignore[arg-type]
    assert v is not None and (v.language, v.format) == ("en", "pdf")
    v = variant_of("[FR]", "https://x/a.docx", None, None, 0)  # type: ignore[arg-type]
    assert v is not None and (v.language, v.format) == ("fr", "docx")
    assert link_language("Download", "https://x/doc_es.pdf") == "es"


def blog_listing(posts_host: str, n: int, own: int = 0) -> str:
    posts = "".join(f'<div class="post"><h2><a href="{posts_host}/2025/03/statement-number-{i}'
                    f'-on-the-port.html">Statement number {i} on the port plan</a></h2>'
                    f"<p>{i} March 2025</p></div>" for i in range(1, n + 1))
    mine = "".join(f'<article><h2><a href="/news/our-own-statement-{i}-on-rents">Our own '
                   f"statement {i} on rents</a></h2></article>" for i in range(own))
    return (
        '<html><body><nav class="menu"><a href="/about/">About</a></nav><main><h1>Blog</h1>'
        '<p>As <a href="https://www.dailynews.example/politics/2025/03/14/minister-resigns-over'
        '-port-plan">the Daily News reported</a>, the plan is in trouble.</p>'
        f'{mine}<div class="posts">{posts}</div>'
        '<p><a href="https://donate.platform.example/campaigns/support-our-work">Donate</a></p>'
        '<div class="sharing"><a href="https://twitter.com/intent/tweet?url=https%3A%2F%2Fx">'
        'Tweet</a><a href="https://www.facebook.com/sharer/sharer.php?u=x">Share</a></div>'
        "</main></body></html>")


def test_a_listing_whose_posts_live_on_another_host_is_followed_there() -> None:
    host = "https://redvoice.blogplatform.example"
    cands = find_links(blog_listing(host, 5), "https://party.example/blog/")
    assert [c.url for c in cands] == [
        f"{host}/2025/03/statement-number-{i}-on-the-port.html" for i in range(1, 6)]


def test_other_hosts_linked_a_few_times_are_still_dropped() -> None:
    cands = find_links(blog_listing("https://redvoice.blogplatform.example", 2, own=4),
                       "https://party.example/blog/")
    assert [c.url for c in cands] == [
        f"https://party.example/news/our-own-statement-{i}-on-rents" for i in range(4)]


def test_a_smaller_list_on_another_host_than_the_own_list_is_not_followed() -> None:
    cands = find_links(blog_listing("https://sister.example", 3, own=6),
                       "https://party.example/blog/")
    assert all(c.url.startswith("https://party.example/") for c in cands)


POINTER = """<html><body><header><nav><a href="/files/annual-report.pdf">Annual report (PDF)</a>
</nav></header><main><article><h1>Statement on the port</h1>
<p>Read the statement: <a href="/files/statement_en.pdf">English (PDF)</a>
<a href="/files/statement_fr.pdf">Français (PDF)</a></p></article></main></body></html>"""


def test_a_pointer_page_gives_its_document_in_the_wanted_language() -> None:
    url = "https://union.example/news/port"
    assert document_link(POINTER, url, page_words=12) == \
        "https://union.example/files/statement_en.pdf"
    assert document_link(POINTER, url, page_words=12, language="fr") == \
        "https://union.example/files/statement_fr.pdf"
    # a page with a text of its own is not a pointer, whatever it links to
    assert document_link(POINTER, url, page_words=600) is None


def test_language_versions_nested_in_a_marked_list_inside_each_row() -> None:
    rows = "".join(
        f'<tr><td>{n + 1} June 2024</td><td><strong>Statement number {n} on the port plan'
        f'</strong><ul class="doc-languages"><li><a href="/docs/{n}/en/statement.pdf">English '
        f'version</a></li><li><a href="/docs/{n}/fr/statement.pdf">Version française</a></li>'
        f'<li><a href="/docs/{n}/es/statement.pdf">Versión en español</a></li></ul></td></tr>'
        for n in range(3))
    html = f"<html><body><main><table><tbody>{rows}</tbody></table></main></body></html>"
    assert [c.url for c in find_links(html, BASE, language="es")] == [
        f"https://www.ohchr.example/docs/{n}/es/statement.pdf" for n in range(3)]
    cands = find_links(html, BASE)
    assert [c.title for c in cands] == [f"Statement number {n} on the port plan"
                                        for n in range(3)]
    assert cands[0].url.endswith("/docs/0/en/statement.pdf")
