"""The watch's pure decisions: the decaying schedule, what a page answered at a statement's
address means, and the word diff of the statement's page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector import limits
from collector.watch_rules import (
    PageView,
    Probe,
    after_error,
    is_front_page,
    page_view,
    says_not_found,
    schedule,
    verdict,
)
from collector.web.history import diff_words

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAY = 86400
AGES = (DAY, 7 * DAY, 30 * DAY)
STORED = ("The dockers of the eastern port walked out this morning after the employers "
          "refused to negotiate over pay and safety on the night shift.")


def test_schedule_checks_at_each_age_then_stops_and_never_makes_up_missed_checks():
    assert schedule(T0, AGES, T0) == (0, T0 + timedelta(days=1))
    assert schedule(T0, AGES, T0 + timedelta(days=1)) == (1, T0 + timedelta(days=7))
    # down for weeks: the next check is the first age still ahead, not the missed ones
    assert schedule(T0, AGES, T0 + timedelta(days=20)) == (2, T0 + timedelta(days=30))
    assert schedule(T0, AGES, T0 + timedelta(days=31)) == (3, None)


def test_a_failed_check_is_retried_then_counts_as_done():
    now = T0 + timedelta(days=1, hours=1)
    assert after_error(T0, AGES, 0, 1, now) == (0, now + timedelta(
        seconds=limits.WATCH_RETRY_S))
    assert after_error(T0, AGES, 0, limits.WATCH_MAX_RETRIES, now) == (
        1, T0 + timedelta(days=7))


@pytest.mark.parametrize("title", [
    "Page not found – Example", "404", "Oops! That page can't be found.",
    "Page introuvable", "Seite nicht gefunden", "Página no encontrada", "Pagina non trovata",
    "Página não encontrada", "Pagina niet gevonden", "Страница не найдена",
    "الصفحة غير موجودة", "页面不存在", "ページが見つかりません",
])
def test_not_found_wording_is_recognised_in_many_languages(title):
    assert says_not_found(PageView(title=title, heading="", text="short"))


@pytest.mark.parametrize("title", ["Strike found support across the port",
                                   "Statement on the 4040 workers", "A founding congress"])
def test_ordinary_titles_are_not_taken_for_not_found(title):
    assert not says_not_found(PageView(title=title, heading=title, text="words"))


@pytest.mark.parametrize(("url", "front"), [
    ("https://example.org/", True), ("https://example.org", True),
    ("https://www.example.org/index.html", True), ("https://example.org/en/", True),
    ("https://example.org/pt-br/", True), ("https://example.org/news/strike/", False),
    ("https://example.org/?p=12", False), ("https://example.org/listing/", False),
])
def test_front_pages_are_a_root_an_index_file_or_a_language_root(url, front):
    assert is_front_page(url) is front


def test_the_source_listing_counts_as_a_front_page():
    assert is_front_page("https://example.org/news/", ("https://example.org/news",))


def judge(found: str | None, *, final: str = "https://example.org/news/strike/",
          view: PageView | None = None, probe: Probe | None = None):
    return verdict(url="https://example.org/news/strike/", final_url=final,
                   stored_text=STORED, found_text=found, view=view, probe=probe)


def test_the_same_text_is_unchanged_and_a_touched_text_is_an_edit():
    assert judge(STORED).kind == "same"
    assert judge(STORED.replace("this morning", "on Monday")).kind == "edited"


def test_a_redirect_to_the_front_page_is_a_removal_even_with_text():
    v = judge("Welcome to our site", final="https://example.org/")
    assert v.kind == "vanished" and "front page" in v.reason


def test_a_page_equal_to_the_probe_is_a_soft_404_whatever_its_words():
    view = PageView(title="Union", heading="Welcome",
                    text="Welcome to the union, read our news and join us today")
    probe = Probe(200, "https://example.org/abc/def", view)
    assert judge("Welcome to the union", view=view, probe=probe).kind == "vanished"
    # a host answering the probe with 404 tells nothing about this page
    assert judge("Welcome to the union", view=view, probe=Probe(404)).kind == "edited"


def test_a_short_not_found_page_is_a_removal_but_a_long_article_about_404s_is_not():
    short = PageView(title="Not found", heading="Not found", text="Sorry, nothing here.")
    assert judge(None, view=short).kind == "vanished"
    long = PageView(title="Why 404 not found errors matter", heading="404 not found",
                    text=" ".join(["word"] * 600))
    assert judge(" ".join(["word"] * 600), view=long).kind == "edited"


def test_a_page_without_text_and_without_error_signs_is_not_concluded():
    assert judge(None, view=PageView("Red Dawn", "", "menu")).kind == "unknown"


def test_page_view_reads_title_heading_and_visible_text_only():
    view = page_view("<html><head><title> Not  found </title><script>var x = 'secret';"
                     "</script></head><body><h1>Oops</h1><p>Gone.</p></body></html>")
    assert view == PageView(title="Not found", heading="Oops", text="Oops Gone.")


def test_the_diff_marks_deleted_and_inserted_words_and_shortens_long_unchanged_runs():
    before = " ".join(f"w{i}" for i in range(100)) + " old ending"
    after = " ".join(f"w{i}" for i in range(100)) + " new ending"
    segs = diff_words(before, after)
    ops = [s.op for s in segs]
    assert ops == ["gap", "same", "del", "ins", "same"]
    assert segs[0].text == "[88 unchanged words]"
    assert segs[2].text.strip() == "old" and segs[3].text.strip() == "new"


def test_page_view_runs_in_a_lean_parse_worker():
    from collector.isolate import Isolator
    from collector.parse_worker import loaded_modules
    from tests.test_isolate_lean import HEAVY, PARENT_ONLY, loaded_from

    iso = Isolator(1, memory_mb=None)
    try:
        view = iso.call(page_view, "<title>Not found</title><h1>Gone</h1>", timeout_s=60)
        modules = iso.call(loaded_modules, timeout_s=60)
    finally:
        iso.close()
    assert view.title == "Not found" and says_not_found(view)
    assert loaded_from(modules, HEAVY + PARENT_ONLY) == []
