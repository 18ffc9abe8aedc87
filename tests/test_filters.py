"""Include/exclude rules on title, text, URL and language (collector.filters)."""

from __future__ import annotations

from collector.config import FilterRule
from collector.filters import accept

DOC = {"title": "Statement on the Flood Defence budget",
       "text": "The river levels rose again. We call for funding.",
       "url": "https://example.org/news/2024/flood-defence-budget",
       "language": "en-GB"}


def test_no_rules_keep_everything():
    assert accept([], [], **DOC) == (True, None)


def test_keyword_include_matches_whole_words_in_any_case():
    """`flood` matches "Flood", but `lev` does not match inside "levels"."""
    assert accept([FilterRule(keywords=("flood",))], [], **DOC)[0]
    kept, reason = accept([FilterRule(keywords=("lev",))], [], **DOC)
    assert not kept and reason


def test_keyword_phrase_matches_across_white_space():
    rules = [FilterRule(keywords=("river levels",))]
    assert accept(rules, [], **{**DOC, "text": "The river\n  levels rose."})[0]


def test_include_restricted_to_title_ignores_text():
    assert not accept([FilterRule(keywords=("funding",), on="title")], [], **DOC)[0]
    assert accept([FilterRule(keywords=("funding",), on="text")], [], **DOC)[0]


def test_exclude_rule_rejects_and_names_itself():
    kept, reason = accept([], [FilterRule(regex=r"/news/\d{4}/", on="url")], **DOC)
    assert not kept
    assert "/news/\\d{4}/" in reason


def test_any_include_rule_suffices_and_exclude_wins():
    include = [FilterRule(keywords=("housing",)), FilterRule(regex=r"flood\s+defen[cs]e")]
    assert accept(include, [], **DOC)[0]
    assert not accept(include, [FilterRule(keywords=("budget",), on="title")], **DOC)[0]


def test_language_rule_compares_the_primary_subtag():
    rules = [FilterRule(language="en")]
    assert accept(rules, [], **DOC)[0]
    assert not accept(rules, [], **{**DOC, "language": "fr"})[0]


def test_before_fetch_an_item_that_may_still_match_by_text_is_kept():
    """With only title and URL known (partial), a text rule cannot reject the item yet."""
    rules = [FilterRule(keywords=("funding",), on="text")]
    assert accept(rules, [], title=DOC["title"], text=None, url=DOC["url"], language=None,
                  partial=True)[0]


def test_before_fetch_a_title_rule_rejects_at_once():
    rules = [FilterRule(keywords=("housing",), on="title")]
    assert not accept(rules, [], title=DOC["title"], text=None, url=DOC["url"], language=None,
                      partial=True)[0]
