"""Extraction on kinds of pages that the tuned rules got wrong: scripts written without spaces,
right-to-left pages, lying charset labels, headline-less pages, dates in many languages,
wrapper words and furniture left at the end of the body. Every page here is written for the
test."""

from __future__ import annotations

from datetime import UTC, datetime

from collector import document
from collector.encoding import decode_html, detect_charset
from collector.extract import extract, main
from tests.helpers import load, poll, store_of
from tests.pages import article, rss_feed
from tests.webserver import Page

NOW = datetime(2026, 1, 1, tzinfo=UTC)

ZH = [
    "市政府昨天宣布，老城区的公共图书馆将在明年春天关闭，理由是维修费用太高，而且读者人数逐年减少。",
    "许多居民对这个决定表示不满，他们说图书馆是附近唯一一个孩子们放学后可以安静读书的地方。",
    "图书馆之友协会已经开始征集签名，希望市议会在下个月的会议上重新讨论这个问题。",
]
JA = [
    "市は昨日、旧市街の公立図書館を来年の春に閉館すると発表しました。修繕費が高く、利用者も年々減っているためです。",
    "多くの住民はこの決定に反対しており、子どもたちが放課後に静かに本を読める場所はここしかないと話しています。",
    "図書館友の会はすでに署名集めを始めており、来月の市議会で改めて議論するよう求めています。",
]
AR = [
    "أعلنت البلدية أمس أن المكتبة العامة في المدينة القديمة ستغلق أبوابها"
    " في الربيع المقبل بسبب ارتفاع تكاليف الصيانة.",
    "وقال كثير من السكان إن المكتبة هي المكان الوحيد في الحي الذي يستطيع"
    " فيه الأطفال القراءة بهدوء بعد المدرسة.",
    "وبدأت جمعية أصدقاء المكتبة جمع التوقيعات، وتطالب مجلس المدينة بإعادة"
    " النظر في القرار في اجتماعه القادم.",
]


def page(body: str, *, lang: str = "en", head: str = "", dir_: str = "ltr",
         headline: str = "Library to close", meta_charset: str = "utf-8") -> str:
    """A page of a news site: a menu, the article, a sidebar of links and a footer."""
    h1 = f"<h1>{headline}</h1>" if headline else ""
    return f"""<!DOCTYPE html><html lang="{lang}" dir="{dir_}"><head>
<meta charset="{meta_charset}"><title>{headline or "City News"}</title>{head}</head><body>
<header><a href="/">City News</a><nav><ul><li><a href="/a">Home</a></li>
<li><a href="/b">Politics</a></li><li><a href="/c">Culture</a></li></ul></nav></header>
<main><article>{h1}{body}</article>
<div class="sidebar"><ul><li><a href="/x">Most read one</a></li>
<li><a href="/y">Most read two</a></li></ul></div></main>
<footer><p>© City News</p></footer></body></html>"""


def paragraphs(texts: list[str]) -> str:
    return "".join(f"<p>{t}</p>" for t in texts)


# --- scripts written without spaces, and right to left --------------------------------------

def test_a_chinese_article_is_found_by_its_characters():
    r = extract(page(paragraphs(ZH), lang="zh-CN", headline="老城区图书馆将关闭"), now=NOW)
    assert r.title == "老城区图书馆将关闭"
    assert list(r.blocks) == ZH
    assert r.flags == ()  # not "short": the body is long prose, counted in characters


def test_a_japanese_article_is_found_by_its_characters():
    r = extract(page(paragraphs(JA), lang="ja", headline="旧市街の図書館が閉館へ"), now=NOW)
    assert r.title == "旧市街の図書館が閉館へ"
    assert list(r.blocks) == JA
    assert r.flags == ()


def test_ruby_readings_over_japanese_text_are_not_part_of_it():
    # furigana (<rt>) and the parentheses for browsers without ruby (<rp>) annotate the text:
    # the document keeps the text as written, so a quotation of it is found
    first = JA[0].replace("市", "<ruby>市<rp>(</rp><rt>し</rt><rp>)</rp></ruby>", 1)
    first = first.replace("図書館", "<ruby>図書館<rt>としょかん</rt></ruby>")
    r = extract(page(paragraphs([first, *JA[1:]]), lang="ja", headline="閉館へ"), now=NOW)
    assert list(r.blocks) == JA


def test_a_right_to_left_article_keeps_its_text_and_reads_its_date():
    body = "<p class=\"date\">7 أكتوبر 2023</p>" + paragraphs(AR)
    r = extract(page(body, lang="ar", dir_="rtl", headline="إغلاق المكتبة العامة"), now=NOW)
    assert r.title == "إغلاق المكتبة العامة"
    assert list(r.blocks[-3:]) == AR
    assert r.published == datetime(2023, 10, 7, tzinfo=UTC)


def test_a_page_in_mixed_scripts_keeps_every_paragraph():
    mixed = [ZH[0], "The council's spokesperson said the decision was final and that the"
             " building would be sold to cover the city's debts next year.", JA[0]]
    r = extract(page(paragraphs(mixed), headline="Library to close"), now=NOW)
    assert list(r.blocks) == mixed


# --- the charset label lies -----------------------------------------------------------------

def test_utf8_bytes_under_a_gb2312_label_are_read_as_utf8():
    html = page(paragraphs(ZH), lang="zh-CN", headline="老城区图书馆将关闭",
                meta_charset="gb2312").encode("utf-8")
    assert detect_charset(html) == "utf-8"
    assert detect_charset(html, "text/html; charset=iso-8859-1") == "utf-8"
    assert "老城区图书馆将关闭" in decode_html(html, "text/html; charset=gb2312")  # pipeline
    r = extract(html, headers={"Content-Type": "text/html; charset=gb2312"}, now=NOW)
    assert r.title == "老城区图书馆将关闭"
    assert list(r.blocks) == ZH


def test_real_gb2312_bytes_are_still_read_by_their_label():
    html = page(paragraphs(ZH), lang="zh-CN", headline="老城区图书馆将关闭",
                meta_charset="gb2312").encode("gb18030")
    r = extract(html, now=NOW)
    assert list(r.blocks) == ZH


def test_collector_extract_reads_a_lying_label_as_utf8(tmp_path, capsys):
    path = tmp_path / "page.html"
    path.write_bytes(page(paragraphs(JA), lang="ja", headline="旧市街の図書館が閉館へ",
                          meta_charset="shift_jis").encode("utf-8"))
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("旧市街の図書館が閉館へ\n\n")
    assert JA[2] in out


# --- the headline-less page -----------------------------------------------------------------

PROSE = [
    "The committee met on Tuesday and agreed to put the question of the library to a public"
    " vote at the next assembly of residents in the spring.",
    "Members said that closing the building without asking the people who use it every day"
    " would be a mistake that the town would regret for many years.",
]


def headless_page() -> str:
    """No h1; `<title>` and og:site_name are the site's name; the body opens with a date."""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Harbour Workers</title><meta property="og:site_name" content="Harbour Workers">
</head><body><header><a href="/"><img src="/logo.png" alt="Harbour Workers"></a></header>
<main><div class="post"><p>12 March 2024</p>{paragraphs(PROSE)}</div></main></body></html>"""


def test_a_headline_less_page_takes_the_feed_items_title():
    r = extract(headless_page(), now=NOW, item_title="Vote on the library in spring")
    assert r.title == "Vote on the library in spring"
    assert list(r.blocks) == ["12 March 2024", *PROSE]


def test_a_headline_less_page_without_an_item_title_opens_with_its_first_block():
    r = extract(headless_page(), now=NOW)
    assert r.title == ""
    assert document.render(r.title, r.blocks).startswith("12 March 2024\n\n")


def test_a_title_that_is_only_the_home_links_name_is_not_a_headline():
    html = headless_page().replace('<meta property="og:site_name" content="Harbour Workers">', "")
    assert extract(html, now=NOW, item_title="Vote on the library").title == "Vote on the library"
    named = extract(html, now=NOW, site_names=("Harbour Workers",))
    assert named.title == ""


def test_a_page_with_a_headline_keeps_it_whatever_the_feed_says():
    r = extract(page(paragraphs(PROSE)), now=NOW, item_title="Something else")
    assert r.title == "Library to close"


def test_the_pipeline_titles_a_headline_less_page_with_the_feed_items_title(tmp_path, site):
    item = article(1, "Vote on the library in spring", datetime(2024, 3, 12, tzinfo=UTC))
    site.pages["/feed/"] = Page(rss_feed("Harbour Workers", site.base, [item]),
                                "application/rss+xml")
    site.pages[f"/{item.slug}/"] = Page(headless_page())
    config = load(tmp_path, f"""sources:
  - id: harbour
    name: Harbour Workers
    url: {site.url('/feed/')}
    kind: feed
""")
    results = poll(config)
    assert [o.ok for _s, o in results] == [True]
    docs = list(store_of(config).iter_documents())
    assert [d.title for d in docs] == ["Vote on the library in spring"]
    text = (config.settings.documents_dir / document.file_name(docs[0].seq, docs[0].id)
            ).read_text("utf-8")
    assert text.startswith("Vote on the library in spring\n\n12 March 2024\n\n")


# --- dates in many languages ----------------------------------------------------------------

def dated(line: str, lang: str) -> datetime | None:
    body = f'<p class="byline">{line}</p>' + paragraphs(PROSE)
    return extract(page(body, lang=lang), now=NOW).published


def test_dates_written_out_in_five_languages():
    day = datetime(2023, 10, 7, tzinfo=UTC)
    assert dated("Publié le 7 octobre 2023", "fr") == day
    assert dated("Veröffentlicht am 7. Oktober 2023", "de") == day
    assert dated("发布时间：2023年10月7日", "zh") == day
    assert dated("نشر في 7 أكتوبر 2023", "ar") == day
    assert dated("Опубликовано 7 октября 2023 г.", "ru") == day
    assert dated("Publicado el 7 de octubre de 2023", "es") == day
    assert dated("Opublikowano 7 października 2023", "pl") == day


def test_a_date_in_metadata_written_in_words_is_read():
    head = '<meta name="date" content="7 octobre 2023">'
    r = extract(page(paragraphs(PROSE), lang="fr", head=head), now=NOW)
    assert r.published == datetime(2023, 10, 7, tzinfo=UTC)


def test_a_relative_date_counts_back_from_the_fetch():
    assert dated("vor 3 Tagen", "de") == datetime(2025, 12, 29, tzinfo=UTC)
    assert dated("il y a 2 jours", "fr") == datetime(2025, 12, 30, tzinfo=UTC)


def test_no_date_from_the_future_or_the_moment_of_fetching():
    assert dated("7 octobre 2027", "fr") is None
    assert dated("il y a 5 minutes", "fr") is None
    head = f'<meta name="date" content="{NOW.isoformat()}">'
    assert extract(page(paragraphs(PROSE), head=head), now=NOW).published is None


# --- wrapper words and furniture at the end -------------------------------------------------

def test_a_furniture_word_on_the_articles_own_wrapper_does_not_discard_it():
    long_prose = PROSE * 4
    body = f'<div class="pagination-first read-more">{paragraphs(long_prose)}</div>'
    r = extract(page(body), now=NOW)
    assert list(r.blocks) == long_prose


def test_a_related_heading_left_at_the_end_of_the_body_is_dropped():
    body = paragraphs(PROSE) + "<h2>More on this topic</h2>"
    assert list(extract(page(body), now=NOW).blocks) == PROSE
    body = paragraphs(PROSE) + "<p>Read also:</p>"
    assert list(extract(page(body), now=NOW).blocks) == PROSE


def test_a_heading_whose_section_was_all_furniture_goes_with_it():
    teasers = ('<h2>Also interesting</h2><ul><li><a href="/t1">First teaser story</a></li>'
               '<li><a href="/t2">Second teaser story</a></li></ul>')
    body = f"<p>{PROSE[0]}</p>{teasers}<h2>What happens next</h2><p>{PROSE[1]}</p>"
    assert list(extract(page(body), now=NOW).blocks) == [PROSE[0], "What happens next", PROSE[1]]
