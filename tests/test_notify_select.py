"""Digest selection, source-health notes and the retry policy (all pure)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from collector import limits
from collector.errors import ConfigError
from collector.notify import SourceHealthNote
from collector.notify.health import SourceHealth, health_notes
from collector.notify.retry import RetryState, after_failure, after_success, next_attempt, released
from collector.notify.select import Selection, selects

NOW = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Rule:
    """Shaped like config's FilterRule."""

    keywords: tuple[str, ...] = ()
    regex: str | None = None
    on: str = "any"
    language: str | None = None


def doc(**kw):
    base = dict(source_id="bmi", tags=("de", "ministry"), title="Statement on water",
                text="The ministry welcomes the decision.", url="https://example.org/a",
                language="de")
    base.update(kw)
    return base


def test_empty_selection_takes_every_source():
    assert selects(Selection(), **doc(source_id="anything", tags=()))


def test_source_outside_named_sources_and_tags_is_not_selected():
    assert not selects(Selection(sources=("other",), tags=("ngo",)), **doc())


def test_document_qualifies_through_a_named_source():
    assert selects(Selection(sources=("bmi",), tags=("ngo",)), **doc())


def test_document_qualifies_through_a_tag_case_insensitively():
    assert selects(Selection(sources=("other",), tags=("Ministry",)), **doc())


def test_include_rule_must_match_once():
    sel = Selection(include=(Rule(keywords=("climate",)), Rule(keywords=("WATER",), on="title")))
    assert selects(sel, **doc())
    assert not selects(Selection(include=(Rule(keywords=("climate",)),)), **doc())


def test_exclude_rule_drops_a_matching_document():
    sel = Selection(exclude=(Rule(regex=r"welcome[sd]", on="text"),))
    assert not selects(sel, **doc())
    assert selects(sel, **doc(text="The ministry regrets the decision."))


def test_rule_on_title_does_not_look_at_the_text():
    sel = Selection(include=(Rule(keywords=("decision",), on="title"),))
    assert not selects(sel, **doc())


def test_language_rule_compares_primary_subtag():
    sel = Selection(include=(Rule(language="de"),))
    assert selects(sel, **doc(language="de-AT"))
    assert not selects(sel, **doc(language="en"))


def test_rule_with_keywords_and_language_needs_both():
    sel = Selection(include=(Rule(keywords=("water",), language="en"),))
    assert not selects(sel, **doc(language="de"))
    assert selects(sel, **doc(language="en"))


def test_plain_phrase_rule_matches_title_or_text():
    assert selects(Selection(include=("welcomes the",)), **doc())
    assert not selects(Selection(include=("condemns",)), **doc())


def test_bad_regular_expression_is_a_config_error():
    with pytest.raises(ConfigError):
        selects(Selection(include=(Rule(regex="(unclosed"),)), **doc())


def test_config_digest_object_is_accepted_as_selection():
    from collector.config import Digest, FilterRule, Schedule

    digest = Digest(id="d", channel="email", schedule=Schedule(immediate=True), title="D",
                    tags=("ministry",), exclude=(FilterRule(keywords=("decision",)),))
    assert not selects(digest, **doc())
    assert selects(digest, **doc(text="Nothing else."))


# --- source health ------------------------------------------------------------------------

def health(failing_since=None, **kw):
    return SourceHealth(source_id=kw.get("sid", "s1"), source_name=kw.get("name", "Source one"),
                        failing_since=failing_since, last_error=kw.get("error", "timeout"),
                        recovered_at=kw.get("recovered_at"))


def test_source_failing_shorter_than_threshold_is_not_reported():
    notes, after = health_notes([health(NOW - timedelta(hours=1))], {},
                                broken_after=timedelta(hours=24), now=NOW)
    assert notes == () and after == {}


def test_source_failing_longer_than_threshold_is_reported_once():
    src = [health(NOW - timedelta(hours=25))]
    notes, after = health_notes(src, {}, broken_after=timedelta(hours=24), now=NOW)
    assert [(n.source_name, n.state, n.error) for n in notes] == [("Source one", "broken",
                                                                  "timeout")]
    again, after2 = health_notes(src, after, broken_after=timedelta(hours=24), now=NOW)
    assert again == () and after2 == after


def test_recovery_of_a_reported_source_is_reported_once():
    notes, after = health_notes([health(None, recovered_at=NOW)], {"s1": "broken"},
                                broken_after=timedelta(hours=24), now=NOW)
    assert [(n.state, n.since) for n in notes] == [("recovered", NOW)]
    assert after == {}
    again, _ = health_notes([health(None)], after, broken_after=timedelta(hours=24), now=NOW)
    assert again == ()


def test_health_note_rejects_unknown_state():
    with pytest.raises(ValueError):
        SourceHealthNote(source_name="x", state="sad", since=NOW)


# --- retry policy ---------------------------------------------------------------------------

def test_backoff_doubles_then_stops_at_the_cap():
    delays = [(next_attempt(n, NOW) - NOW).total_seconds() for n in range(1, 12)]
    assert delays[:3] == [limits.DIGEST_RETRY_BASE_S, 2 * limits.DIGEST_RETRY_BASE_S,
                          4 * limits.DIGEST_RETRY_BASE_S]
    assert delays[-1] == limits.DIGEST_RETRY_MAX_S
    assert all(a <= b for a, b in itertools.pairwise(delays))


def test_huge_attempt_count_does_not_overflow():
    assert next_attempt(10**9, NOW) == NOW + timedelta(seconds=limits.DIGEST_RETRY_MAX_S)


def test_temporary_failures_never_quarantine():
    state = RetryState()
    for _ in range(50):
        state = after_failure(state, temporary=True, error="421", now=NOW)
    assert not state.quarantined and state.attempts == 50


def test_permanent_failures_quarantine_after_the_limit():
    state = RetryState()
    for _ in range(limits.DIGEST_POISON_FAILURES - 1):
        state = after_failure(state, temporary=False, error="552", now=NOW)
    assert not state.quarantined
    state = after_failure(state, temporary=False, error="552", now=NOW)
    assert state.quarantined and not state.due(NOW + timedelta(days=365))


def test_temporary_failure_resets_the_permanent_count():
    state = after_failure(RetryState(), temporary=False, error="552", now=NOW)
    state = after_failure(state, temporary=True, error="421", now=NOW)
    assert state.permanent_failures == 0


def test_failed_digest_is_not_due_before_its_next_attempt():
    state = after_failure(RetryState(), temporary=True, error="421", now=NOW)
    assert not state.due(NOW)
    assert state.due(NOW + timedelta(seconds=limits.DIGEST_RETRY_BASE_S))


def test_release_and_success_clear_quarantine():
    state = RetryState(attempts=3, permanent_failures=3, quarantined=True)
    assert released(state).due(NOW)
    assert after_success(state) == RetryState()
