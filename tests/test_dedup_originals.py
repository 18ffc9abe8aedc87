"""The choice of the original among copies of one statement (dedup.choose_original), and
which page a page names as the original (dedup.names_other): pure rules, docs/dedup.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.dedup import Version, choose_original, names_other, url_key

DAY = datetime(2024, 6, 1, tzinfo=UTC)
ORIG = "intl.example.org/statements/dockers"
COPY = "section.example.net/news/intl-dockers"


def version(key: str, **kw) -> Version:
    kw.setdefault("words", 500)
    return Version(keys=frozenset({key}), **kw)


@pytest.mark.parametrize("order", ["copy stored", "original stored"])
def test_the_page_a_copy_names_canonical_is_the_original(order) -> None:
    orig = version(ORIG, published=DAY)
    copy = version(COPY, names=ORIG, published=DAY, words=700)   # fuller, with a note
    if order == "copy stored":
        assert choose_original(copy, orig).keep == "incoming"
    else:
        assert choose_original(orig, copy).keep == "existing"


def test_a_page_named_by_a_third_copy_is_the_original() -> None:
    # the stored text is a copy that names nothing; another location named the newcomer
    choice = choose_original(version(COPY), version(ORIG), named={ORIG})
    assert (choice.keep, choice.rule) == ("incoming", "canonical")


def test_a_page_that_names_another_loses_to_one_that_names_none() -> None:
    elsewhere = "third.example.com/x"
    assert choose_original(version(ORIG), version(COPY, names=elsewhere)).keep == "existing"
    assert choose_original(version(COPY, names=elsewhere), version(ORIG)).keep == "incoming"


def test_the_earlier_stated_date_wins() -> None:
    orig = version(ORIG, published=DAY + timedelta(hours=9))
    copy = version(COPY, published=DAY + timedelta(days=2, hours=9), words=900)
    assert choose_original(copy, orig).rule == "date"
    assert choose_original(copy, orig).keep == "incoming"
    assert choose_original(orig, copy).keep == "existing"


def test_a_date_without_a_time_is_compared_by_day() -> None:
    # 2024-06-01 (no time) is not earlier than 14:00 the same day: the dates do not decide
    day_only = version(COPY, published=DAY)
    timed = version(ORIG, published=DAY + timedelta(hours=14))
    assert choose_original(timed, day_only).rule != "date"
    assert choose_original(day_only, timed).rule != "date"
    # but the day before is earlier
    assert choose_original(timed, version(COPY, published=DAY - timedelta(days=1))).keep == \
        "incoming"


def test_the_source_marked_original_wins_when_the_pages_do_not_tell() -> None:
    orig = version(ORIG, published=DAY, marked_original=True)
    copy = version(COPY, published=DAY, words=900)
    assert (choose_original(copy, orig).keep, choose_original(copy, orig).rule) == \
        ("incoming", "marked")
    assert choose_original(orig, copy).keep == "existing"


def test_a_stated_date_outranks_the_mark() -> None:
    marked_late = version(ORIG, published=DAY + timedelta(days=3), marked_original=True)
    early = version(COPY, published=DAY)
    assert choose_original(early, marked_late).keep == "existing"


def test_a_partial_original_does_not_replace_a_whole_copy() -> None:
    summary = version(ORIG, names=None, partial=True, words=60, published=DAY)
    whole = version(COPY, names=ORIG, words=700, published=DAY + timedelta(days=1))
    assert choose_original(whole, summary).keep == "existing"
    assert choose_original(summary, whole).keep == "incoming"


def test_without_any_signal_the_fuller_text_rule_decides() -> None:
    assert choose_original(version(ORIG), version(COPY, words=800)).rule == "fuller"
    assert choose_original(version(ORIG), version(COPY, words=520)).keep == "existing"


def test_names_other_gives_another_sites_page() -> None:
    assert names_other("https://section.example.net/news/x/",
                       "https://intl.example.org/statements/dockers/?utm_source=rss") == \
        url_key("https://intl.example.org/statements/dockers")


@pytest.mark.parametrize("declared", [
    None, "", "https://section.example.net/news/x/",       # itself
    "/news/x/",                                             # relative: its own site
    "https://www.example.net/other/",                       # its own registrable domain
    "https://intl.example.org/",                            # a home page
    "https://intl.example.org/{{ url }}",                   # an unrendered template
    "javascript:alert(1)", "ftp://intl.example.org/a",      # not a page
])
def test_names_other_ignores_what_is_not_another_sites_page(declared) -> None:
    url = "https://section.example.net/news/x/"
    if declared == "https://www.example.net/other/":
        url = "https://news.example.net/x/"
    assert names_other(url, declared) is None
