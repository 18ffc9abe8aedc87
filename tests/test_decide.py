"""Pure scheduling and health decisions, driven by an explicit clock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector import decide, limits
from collector.decide import SourceState

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
INTERVAL = 1800.0


def fail(state: SourceState, now: datetime, kind: str = "timeout") -> SourceState:
    return decide.after_failure(state, now=now, interval_s=INTERVAL, seed="src",
                                error=f"{kind} at {now.isoformat()}", kind=kind)


def succeed(state: SourceState, now: datetime, candidates: int = 3) -> SourceState:
    return decide.after_success(state, now=now, interval_s=INTERVAL, seed="src",
                                candidates=candidates, etag='"e1"', body_hash="h1")


# --- backoff ---------------------------------------------------------------------------------

def test_backoff_without_failures_is_the_interval():
    assert decide.backoff_delay(0, INTERVAL, seed="a") == INTERVAL


def test_backoff_grows_with_consecutive_failures():
    delays = [decide.backoff_delay(f, 600, seed="a") for f in range(1, 7)]
    # Jitter takes at most 20 % off, doubling adds 100 %: each step is strictly longer.
    assert all(b > a for a, b in itertools.pairwise(delays))


def test_backoff_is_capped_at_a_day():
    assert decide.backoff_delay(50, INTERVAL, seed="a") <= limits.MAX_BACKOFF_S
    assert decide.backoff_delay(10_000, INTERVAL, seed="a") <= limits.MAX_BACKOFF_S


def test_backoff_jitter_differs_between_sources_and_is_reproducible():
    a = [decide.backoff_delay(3, INTERVAL, seed=f"s{i}") for i in range(20)]
    assert len(set(a)) > 10
    assert a == [decide.backoff_delay(3, INTERVAL, seed=f"s{i}") for i in range(20)]


@given(failures=st.integers(min_value=0, max_value=10_000),
       base=st.floats(min_value=0, max_value=10 * 24 * 3600), seed=st.text(max_size=10))
def test_backoff_stays_between_interval_and_cap(failures, base, seed):
    d = decide.backoff_delay(failures, base, seed=seed)
    lo = max(base, limits.MIN_INTERVAL_S)
    assert lo <= d <= max(limits.MAX_BACKOFF_S, lo)


# --- next poll -------------------------------------------------------------------------------

def test_next_poll_of_a_healthy_source_is_about_one_interval_later():
    at = decide.next_poll(now=T0, interval_s=INTERVAL, seed="x")
    assert T0 + timedelta(seconds=INTERVAL * (1 - decide.INTERVAL_JITTER)) <= at
    assert at <= T0 + timedelta(seconds=INTERVAL)


def test_max_age_lengthens_the_interval_but_only_up_to_its_bound():
    longer = decide.next_poll(now=T0, interval_s=600, seed="x", max_age_s=3600)
    assert longer >= T0 + timedelta(seconds=3600 * (1 - decide.INTERVAL_JITTER))
    huge = decide.next_poll(now=T0, interval_s=600, seed="x", max_age_s=365 * 86400)
    assert huge <= T0 + timedelta(seconds=decide.MAX_HONOURED_MAX_AGE_S)


def test_max_age_never_shortens_the_interval():
    at = decide.next_poll(now=T0, interval_s=7200, seed="x", max_age_s=60)
    assert at >= T0 + timedelta(seconds=7200 * (1 - decide.INTERVAL_JITTER))


def test_retry_after_defers_the_next_poll_within_its_bound():
    at = decide.next_poll(now=T0, interval_s=600, failures=1, seed="x", retry_after_s=5 * 3600)
    assert at >= T0 + timedelta(hours=5)
    ten_years = decide.next_poll(now=T0, interval_s=600, failures=1, seed="x",
                                 retry_after_s=10 * 365 * 86400)
    assert ten_years == T0 + timedelta(seconds=limits.MAX_RETRY_AFTER_S)


def test_interval_below_the_minimum_is_raised_to_it():
    at = decide.next_poll(now=T0, interval_s=1, seed="x")
    assert at >= T0 + timedelta(seconds=limits.MIN_INTERVAL_S * (1 - decide.INTERVAL_JITTER))


# --- header parsing --------------------------------------------------------------------------

def test_retry_after_in_seconds():
    assert decide.parse_retry_after("120", T0) == 120.0


def test_retry_after_as_http_date_is_relative_to_now():
    assert decide.parse_retry_after("Sat, 01 Mar 2025 12:10:00 GMT", T0) == 600.0


def test_retry_after_in_the_past_means_now():
    assert decide.parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", T0) == 0.0


def test_retry_after_garbage_is_ignored():
    for junk in ("soon", "", "-5", "1.5e9", "Mon, 99 Foo 2025", "\x00"):
        assert decide.parse_retry_after(junk, T0) is None, junk


def test_retry_after_of_ten_years_is_capped():
    assert decide.parse_retry_after(str(10 * 365 * 86400), T0) == limits.MAX_RETRY_AFTER_S
    assert decide.parse_retry_after("9" * 400, T0) == limits.MAX_RETRY_AFTER_S


def test_max_age_from_cache_control():
    assert decide.parse_max_age({"cache-control": "public, max-age=900"}, T0) == 900.0


def test_no_cache_and_zero_max_age_give_nothing():
    assert decide.parse_max_age({"cache-control": "no-cache, max-age=900"}, T0) is None
    assert decide.parse_max_age({"cache-control": "max-age=0"}, T0) is None


def test_expires_zero_means_no_caching_hint():
    assert decide.parse_max_age({"expires": "0"}, T0) is None


def test_expires_counts_from_the_servers_date():
    h = {"expires": "Sat, 01 Mar 2025 13:00:00 GMT", "date": "Sat, 01 Mar 2025 12:30:00 GMT"}
    assert decide.parse_max_age(h, T0) == 1800.0


# --- health life cycle -----------------------------------------------------------------------

def test_health_goes_healthy_degraded_broken_and_back_to_healthy():
    s = succeed(SourceState(), T0)
    assert decide.health(s, T0) == "healthy"

    t = T0 + timedelta(minutes=30)
    s = fail(s, t)
    assert decide.health(s, t) == "healthy"             # one blip
    assert s.first_failure_at == t and s.last_success_at == T0

    t += timedelta(hours=1)
    s = fail(s, t)
    assert decide.health(s, t) == "degraded"            # two in a row

    for _ in range(3):
        t += timedelta(hours=4)
        s = fail(s, t)
    assert s.consecutive_failures == 5
    assert decide.health(s, t) == "degraded"            # five failures, but only ~13 h
    t = s.first_failure_at + timedelta(seconds=decide.BROKEN_AFTER_S)
    s = fail(s, t)
    assert decide.health(s, t) == "broken"
    assert s.last_error_kind == "timeout" and s.last_error
    assert s.first_failure_at == T0 + timedelta(minutes=30)

    t += timedelta(days=1)
    s = succeed(s, t)
    assert decide.health(s, t) == "healthy"
    assert s.consecutive_failures == 0 and s.first_failure_at is None
    assert s.last_error is None and s.last_success_at == t


def test_a_single_failure_that_lasts_becomes_degraded():
    s = fail(succeed(SourceState(), T0), T0)
    assert decide.health(s, T0 + timedelta(hours=1)) == "healthy"
    assert decide.health(s, T0 + timedelta(seconds=decide.DEGRADED_AFTER_S)) == "degraded"


def test_many_quick_failures_are_not_yet_broken():
    s = succeed(SourceState(), T0 - timedelta(days=1))
    t = T0
    for _ in range(20):
        s = fail(s, t)
        t += timedelta(minutes=1)
    assert decide.health(s, t) == "degraded"


def test_a_source_never_polled_is_unknown():
    assert decide.status(SourceState(), T0) == "unknown"


def test_a_first_poll_that_fails_makes_the_source_failing_at_once():
    s = fail(SourceState(), T0, kind="dns")
    assert decide.status(s, T0) == "failing"                # not a blip: it never worked
    s = fail(s, T0 + timedelta(hours=1))
    assert decide.status(s, T0 + timedelta(hours=1)) == "failing"
    t = T0
    for _ in range(decide.BROKEN_MIN_FAILURES):
        t += timedelta(days=1)
        s = fail(s, t)
    assert decide.status(s, t) == "broken"                  # the broken thresholds still rule


def test_a_released_broken_source_is_unknown_until_polled_and_still_broken_if_it_fails():
    s, t = SourceState(), T0
    s = succeed(s, t)
    for _ in range(decide.BROKEN_MIN_FAILURES + 1):
        t += timedelta(days=1)
        s = fail(s, t)
    assert decide.status(s, t) == "broken"
    released_at = t + timedelta(hours=2)
    r = decide.release(s, now=released_at)
    assert decide.status(r, released_at) == "unknown"
    assert decide.status(r, released_at + timedelta(days=3)) == "unknown"   # until polled
    assert r.next_poll_at == released_at
    assert (r.consecutive_failures, r.first_failure_at) == (s.consecutive_failures,
                                                            s.first_failure_at)
    after = fail(r, released_at + timedelta(minutes=1))
    assert decide.status(after, released_at + timedelta(minutes=1)) == "broken"


def test_a_released_source_that_never_worked_fails_again_as_failing():
    s = fail(fail(SourceState(), T0), T0 + timedelta(hours=1))
    r = decide.release(s, now=T0 + timedelta(hours=2))
    assert decide.status(r, T0 + timedelta(hours=2)) == "unknown"
    again = fail(r, T0 + timedelta(hours=3))
    assert decide.status(again, T0 + timedelta(hours=3)) == "failing"


def test_recovery_after_failing_and_after_release_is_healthy():
    s = fail(fail(SourceState(), T0), T0 + timedelta(hours=1))
    assert decide.status(s, T0 + timedelta(hours=1)) == "failing"
    ok = succeed(s, T0 + timedelta(hours=2))
    assert decide.status(ok, T0 + timedelta(hours=2)) == "healthy"
    r = decide.release(s, now=T0 + timedelta(hours=2))
    ok = succeed(r, T0 + timedelta(hours=3))
    assert decide.status(ok, T0 + timedelta(hours=3)) == "healthy"
    assert ok.consecutive_failures == 0 and ok.first_failure_at is None


def test_broken_source_is_still_polled_at_the_capped_interval():
    s = SourceState()
    t = T0
    for _ in range(30):
        s = fail(s, t)
        t = s.next_poll_at
    assert decide.health(s, t) == "broken"
    gap = (s.next_poll_at - s.last_poll_at).total_seconds()
    assert limits.MAX_BACKOFF_S * (1 - decide.BACKOFF_JITTER) <= gap <= limits.MAX_BACKOFF_S


def test_failure_keeps_validators_and_body_hash():
    s = fail(succeed(SourceState(), T0), T0 + timedelta(hours=1))
    assert s.etag == '"e1"' and s.body_hash == "h1"


def unfinished(state: SourceState, now: datetime, *, left: int = 0, retrying: int = 0,
               max_age_s: float | None = None) -> SourceState:
    return decide.after_success(state, now=now, interval_s=INTERVAL, seed="src", candidates=60,
                                etag='"e2"', last_modified="Sat, 01 Mar 2025 12:00:00 GMT",
                                body_hash="h2", max_age_s=max_age_s, left=left,
                                retrying=retrying)


def test_a_poll_that_left_items_records_no_validators_and_comes_due_soon():
    t = T0 + timedelta(hours=1)
    # even with a server asking for hours of caching: the listing is not what is awaited
    s = unfinished(succeed(SourceState(), T0), t, left=7, max_age_s=4 * 3600)
    assert (s.etag, s.last_modified, s.body_hash) == (None, None, None)
    assert s.next_poll_at == t + timedelta(seconds=limits.BACKLOG_DELAY_S)
    assert s.last_success_at == t and s.consecutive_failures == 0
    # the poll that takes the rest records them, and the usual interval follows
    u = t + timedelta(seconds=limits.BACKLOG_DELAY_S)
    done = decide.after_success(s, now=u, interval_s=INTERVAL, seed="src", candidates=60,
                                etag='"e2"', body_hash="h2")
    assert done.etag == '"e2"' and done.body_hash == "h2"
    assert done.next_poll_at >= u + timedelta(seconds=INTERVAL * (1 - decide.INTERVAL_JITTER))


def test_a_poll_with_items_to_retry_records_no_validators_but_keeps_its_interval():
    t = T0 + timedelta(hours=1)
    s = unfinished(succeed(SourceState(), T0), t, retrying=1)
    assert (s.etag, s.last_modified, s.body_hash) == (None, None, None)
    assert s.next_poll_at >= t + timedelta(seconds=INTERVAL * (1 - decide.INTERVAL_JITTER))


def test_the_quick_poll_for_items_left_is_never_later_than_the_usual_one():
    t = T0 + timedelta(hours=1)
    s = decide.after_success(SourceState(), now=t, interval_s=1, seed="src", candidates=60,
                             left=3)
    assert s.next_poll_at <= decide.next_poll(now=t, interval_s=1, seed="src")


def test_not_modified_counts_as_success_and_keeps_old_validators():
    s = fail(succeed(SourceState(), T0), T0 + timedelta(hours=1))
    t = T0 + timedelta(hours=3)
    s = decide.after_not_modified(s, now=t, interval_s=INTERVAL, seed="src")
    assert s.consecutive_failures == 0 and s.last_success_at == t and s.etag == '"e1"'


def test_long_error_messages_are_truncated():
    s = decide.after_failure(SourceState(), now=T0, interval_s=INTERVAL, error="x" * 10_000,
                             kind="error")
    assert len(s.last_error) == decide.MAX_ERROR_CHARS


# --- stale -----------------------------------------------------------------------------------

def test_source_that_stops_yielding_items_becomes_stale():
    s = succeed(SourceState(), T0, candidates=5)
    t = T0
    for _ in range(decide.STALE_MIN_EMPTY_POLLS):
        t += timedelta(days=1)
        s = succeed(s, t, candidates=0)
    assert decide.is_stale(s, t)
    assert decide.status(s, t) == "stale"
    assert decide.health(s, t) == "healthy"


def test_few_empty_polls_are_not_stale():
    s = succeed(SourceState(), T0, candidates=5)
    t = T0 + timedelta(days=10)
    s = succeed(s, t, candidates=0)
    assert not decide.is_stale(s, t)


def test_source_that_never_yielded_is_not_stale():
    s = SourceState()
    t = T0
    for _ in range(10):
        t += timedelta(days=1)
        s = succeed(s, t, candidates=0)
    assert not decide.is_stale(s, t)


def test_stale_clears_when_items_come_back():
    s = succeed(SourceState(), T0, candidates=5)
    t = T0
    for _ in range(5):
        t += timedelta(days=1)
        s = succeed(s, t, candidates=0)
    s = succeed(s, t + timedelta(hours=1), candidates=2)
    assert not decide.is_stale(s, t + timedelta(hours=1))


def test_failing_status_outranks_stale():
    s = succeed(SourceState(), T0, candidates=5)
    t = T0
    for _ in range(5):
        t += timedelta(days=1)
        s = succeed(s, t, candidates=0)
    s = fail(fail(s, t), t + timedelta(hours=1))
    assert decide.status(s, t + timedelta(hours=1)) == "degraded"


# --- quarantine of a source that crashes the parser ------------------------------------------

CRASH = decide.PARSER_CRASH


def crash_polls(n: int, state: SourceState | None = None, start: datetime = T0,
                every: timedelta = timedelta(hours=1)) -> tuple[SourceState, datetime]:
    state = state or SourceState()
    t = start
    for _ in range(n):
        t += every
        state = fail(state, t, kind=CRASH)
    return state, t


def test_crash_polls_below_the_limit_back_off_like_any_failure():
    s, t = crash_polls(limits.QUARANTINE_AFTER - 1)
    assert s.consecutive_crashes == limits.QUARANTINE_AFTER - 1
    assert decide.status(s, t) != "quarantined" and decide.quarantine_reason(s) is None
    assert s.next_poll_at <= t + timedelta(seconds=limits.MAX_BACKOFF_S)
    assert s.last_error.startswith(f"parser crash {limits.QUARANTINE_AFTER - 1} of "
                                   f"{limits.QUARANTINE_AFTER} before quarantine: ")


def test_the_limit_of_crash_polls_quarantines_and_holds_the_next_poll_far_away():
    s, t = crash_polls(limits.QUARANTINE_AFTER)
    assert decide.is_quarantined(s)
    assert decide.health(s, t) == "quarantined" and decide.status(s, t) == "quarantined"
    assert s.next_poll_at == t + decide.QUARANTINE_HOLD
    assert s.last_error.startswith(
        f"quarantined after {limits.QUARANTINE_AFTER} parser crashes in a row: ")
    assert "collector sources release" in (decide.quarantine_reason(s) or "")


def test_quarantine_outranks_every_other_health_state():
    s, t = crash_polls(limits.QUARANTINE_AFTER, every=timedelta(days=3))
    assert decide.status(s, t) == "quarantined"   # broken by count and time, but quarantined


@pytest.mark.parametrize("kind", ["timeout", decide.PARSE_TIMEOUT, "parseerror", "refused"])
def test_other_failures_never_quarantine_however_many(kind):
    s, t = SourceState(), T0
    for _ in range(20):
        t += timedelta(days=1)
        s = fail(s, t, kind=kind)
    assert s.consecutive_crashes == 0 and not decide.is_quarantined(s)
    assert decide.status(s, t) == "broken"
    assert s.next_poll_at <= t + timedelta(seconds=limits.MAX_BACKOFF_S)


def test_any_other_outcome_ends_a_crash_streak():
    near, t = crash_polls(limits.QUARANTINE_AFTER - 1)
    after_timeout = fail(near, t + timedelta(hours=1), kind=decide.PARSE_TIMEOUT)
    assert after_timeout.consecutive_crashes == 0
    after_ok = succeed(near, t + timedelta(hours=1))
    after_304 = decide.after_not_modified(near, now=t + timedelta(hours=1), interval_s=INTERVAL)
    for s in (after_timeout, after_ok, after_304):
        again = fail(s, t + timedelta(hours=2), kind=CRASH)
        assert again.consecutive_crashes == 1 and not decide.is_quarantined(again)


def test_release_makes_a_quarantined_source_due_now_with_a_clean_crash_streak():
    s, t = crash_polls(limits.QUARANTINE_AFTER)
    later = t + timedelta(days=7)
    r = decide.release(s, now=later)
    assert r.next_poll_at == later and r.consecutive_crashes == 0
    assert r.consecutive_failures == s.consecutive_failures   # a release is not a success
    assert decide.status(r, later) == "unknown"
    assert r.last_error == s.last_error and r.etag == s.etag
    # judged afresh: the full count of crashes is needed again
    again, t2 = crash_polls(limits.QUARANTINE_AFTER - 1, r, later)
    assert not decide.is_quarantined(again)
    assert decide.is_quarantined(fail(again, t2 + timedelta(hours=1), kind=CRASH))


def test_only_the_crashes_at_the_end_count_not_the_whole_failure_streak():
    s = fail(SourceState(), T0, kind=decide.PARSE_TIMEOUT)
    s, t = crash_polls(limits.QUARANTINE_AFTER - 1, s)
    assert s.consecutive_failures == limits.QUARANTINE_AFTER
    assert s.consecutive_crashes == limits.QUARANTINE_AFTER - 1
    assert not decide.is_quarantined(s)
    q, _ = crash_polls(1, s, t)
    assert decide.is_quarantined(q)


@given(st.lists(st.sampled_from([CRASH, "timeout", decide.PARSE_TIMEOUT, "ok"]),
                max_size=30))
def test_quarantined_exactly_when_the_last_polls_were_enough_crashes(outcomes):
    s, t = SourceState(), T0
    for outcome in outcomes:
        t += timedelta(hours=6)
        s = succeed(s, t) if outcome == "ok" else fail(s, t, kind=outcome)
    tail = len(outcomes) - len(list(itertools.takewhile(lambda o: o == CRASH,
                                                         reversed(outcomes))))
    run = len(outcomes) - tail
    assert s.consecutive_crashes == run
    assert decide.is_quarantined(s) == (run >= limits.QUARANTINE_AFTER)
