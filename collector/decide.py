"""Pure decisions about when to poll a source and how healthy it is.

Everything here takes an explicit `now` (an aware UTC datetime) and returns a value; nothing
reads a clock, the network or the database. The store keeps one `SourceState` per source; the
pipeline feeds each poll's result through `after_success`, `after_not_modified` or
`after_failure` and saves what comes back. The thresholds are the named constants below and
are described in docs/fetching.md.

Health of a source (the failure streak is `consecutive_failures`, and the time it has lasted is
measured from `first_failure_at`, the first failed poll after the last success):

    unknown   no poll has judged it: never polled, or released (`release`) and not polled since
    healthy   the last poll succeeded, or one short failure (a blip) after a success
    failing   it has never been polled successfully, and its last poll failed
    degraded  >= DEGRADED_MIN_FAILURES failures in a row, or failing for >= DEGRADED_AFTER_S
    broken    >= BROKEN_MIN_FAILURES failures in a row *and* failing for >= BROKEN_AFTER_S

A source that never worked is not given the benefit of the doubt a blip gets: it is `failing`
from its first failure (`broken` once the broken thresholds are met). A broken source is still
polled, at the capped backoff interval, and one success makes it healthy again.

Separately, a source is `stale` when polls keep succeeding but yield no
candidates although it yielded some before (a redesigned page whose selectors match nothing).

    quarantined  the listing crashed the parse worker (error kind PARSER_CRASH) on
                 limits.QUARANTINE_AFTER polls in a row (`consecutive_crashes`)

Backing off does not help a page that kills the parser: every poll would crash a worker again.
A quarantined source is not polled by the scheduler (its next poll is QUARANTINE_HOLD away)
until a deliberate act: `release` (the `collector sources release` command), a change of its
URL in sources.yaml, or a manual poll that succeeds. Timeouts and malformed input are ordinary
failures and only back off; any other outcome ends a crash streak.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

from . import limits

Health = Literal["unknown", "healthy", "failing", "degraded", "broken", "quarantined"]
Status = Literal["unknown", "healthy", "failing", "degraded", "broken", "stale", "quarantined"]

#: Error kind of a poll whose parse worker died (signal, abort): set by collector.isolate.
PARSER_CRASH = "parser_crash"
#: Error kind of a parse that ran past its deadline (the worker was killed): set by
#: collector.isolate. Not a crash: slow input is backed off like any failure.
PARSE_TIMEOUT = "parse_timeout"
#: How far ahead a quarantined source's next poll is put: never due in practice, yet a real
#: date, so that date arithmetic and every database's timestamp type still hold it.
QUARANTINE_HOLD = timedelta(days=100 * 365)

#: Failures in a row that make a source degraded (one failure is a blip, two are a pattern).
DEGRADED_MIN_FAILURES = 2
#: A single failure still unresolved after this long also makes a source degraded (slow
#: sources fail rarely, so the count alone would hide a long outage).
DEGRADED_AFTER_S = 6 * 3600
#: Failures in a row needed before a source may be called broken.
BROKEN_MIN_FAILURES = 5
#: ... and the failure streak must also have lasted this long (a fast-polled source failing five
#: times in ten minutes is not broken yet).
BROKEN_AFTER_S = 2 * 24 * 3600
#: Successful polls in a row yielding no candidates before a source that used to yield some is
#: flagged stale.
STALE_MIN_EMPTY_POLLS = 3
#: ... and the last poll that did yield candidates must be at least this old.
STALE_AFTER_S = 3 * 24 * 3600
#: Backoff delays are shortened by a random fraction up to this, so sources that failed together
#: (one host down) do not all retry at the same instant.
BACKOFF_JITTER = 0.2
#: Healthy intervals are spread by up to this fraction, for the same reason.
INTERVAL_JITTER = 0.05
#: Cache-Control max-age / Expires lengthen a source's interval at most to this (statements are
#: news: a server asking for a day's caching must not delay them by a day).
MAX_HONOURED_MAX_AGE_S = 4 * 3600
#: Longest error message kept in the state (full tracebacks belong in the log).
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class SourceState:
    """What the store keeps per source between polls (all times aware UTC)."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    next_poll_at: datetime | None = None
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    first_failure_at: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    last_error_kind: str | None = None
    last_items_at: datetime | None = None      # last poll that yielded candidates
    consecutive_empty: int = 0                 # successful polls in a row yielding none
    consecutive_crashes: int = 0               # polls in a row that crashed the parse worker
    judged: bool = False                       # a poll has judged it since it was new/released


# --- backoff and scheduling ------------------------------------------------------------------

def _rng(seed: int | str, salt: int | str) -> random.Random:
    # A stable per-(source, step) generator: the same inputs give the same jitter, which keeps
    # the functions pure and the tests exact, while different sources still spread out.
    digest = hashlib.sha256(f"{seed}\x00{salt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def backoff_delay(failures: int, base_interval_s: float, *, seed: int | str = 0,
                  cap_s: float = limits.MAX_BACKOFF_S) -> float:
    """Seconds to wait after `failures` consecutive failures (0 = the plain interval).

    Doubles per failure from the base interval, shortened by up to BACKOFF_JITTER, never above
    `cap_s` and never below the base interval.
    """
    base = max(float(base_interval_s), float(limits.MIN_INTERVAL_S))
    if failures <= 0:
        return base
    cap = max(cap_s, base)
    # Cap the exponent first: 2**10_000 would overflow a float.
    raw = min(cap, base * 2.0 ** min(failures, 64))
    jittered = raw * (1.0 - BACKOFF_JITTER * _rng(seed, failures).random())
    return max(base, min(cap, jittered))


def clamp_max_age(max_age_s: float | None) -> float | None:
    """A server's max-age as a usable lower bound on the interval, or None."""
    if max_age_s is None or max_age_s <= 0:
        return None
    return min(float(max_age_s), float(MAX_HONOURED_MAX_AGE_S))


def clamp_retry_after(retry_after_s: float | None) -> float | None:
    """A Retry-After in seconds, bounded to [0, MAX_RETRY_AFTER_S], or None."""
    if retry_after_s is None:
        return None
    return max(0.0, min(float(retry_after_s), float(limits.MAX_RETRY_AFTER_S)))


def next_poll(*, now: datetime, interval_s: float, failures: int = 0, seed: int | str = 0,
              retry_after_s: float | None = None, max_age_s: float | None = None) -> datetime:
    """When to poll next.

    Healthy: the interval, lengthened to the server's max-age (bounded), spread by
    INTERVAL_JITTER. Failing: the backoff delay. A Retry-After (bounded) is a floor on either.
    """
    if failures > 0:
        delay = backoff_delay(failures, interval_s, seed=seed)
    else:
        base = max(float(interval_s), float(limits.MIN_INTERVAL_S))
        age = clamp_max_age(max_age_s)
        if age is not None:
            base = max(base, age)
        delay = base * (1.0 - INTERVAL_JITTER * _rng(seed, "interval").random())
    ra = clamp_retry_after(retry_after_s)
    if ra is not None:
        delay = max(delay, ra)
    return now + timedelta(seconds=delay)


# --- header parsing (pure: the reference time is passed in) ---------------------------------

def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now` (delta-seconds or an HTTP date), bounded; None if absent
    or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        # Ten-year values exist; int() of a huge digit string is fine, the clamp bounds it.
        return clamp_retry_after(float(int(value[:20])))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return clamp_retry_after((when - now).total_seconds())


def parse_max_age(headers: dict[str, str], now: datetime) -> float | None:
    """Freshness lifetime the server asks for, in seconds: Cache-Control max-age (or s-maxage),
    else Expires relative to Date/now. None when absent, unreadable or zero."""
    cc = headers.get("cache-control", "")
    best: float | None = None
    for part in cc.split(","):
        name, _, arg = part.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return None
        if name in ("max-age", "s-maxage"):
            arg = arg.strip().strip('"')
            if arg.isdigit():
                best = max(best or 0.0, float(int(arg[:12])))
    if best is not None:
        return best or None
    expires = headers.get("expires")
    if expires:
        try:
            when = parsedate_to_datetime(expires)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None  # "Expires: 0" and other garbage mean "already expired"
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        ref = now
        date = headers.get("date")
        if date:
            try:
                ref = parsedate_to_datetime(date) or now
            except (TypeError, ValueError, IndexError, OverflowError):
                ref = now
            if ref.tzinfo is None:
                ref = ref.replace(tzinfo=UTC)
        secs = (when - ref).total_seconds()
        return secs if secs > 0 else None
    return None


# --- health ----------------------------------------------------------------------------------

def is_quarantined(state: SourceState) -> bool:
    """True when the last QUARANTINE_AFTER polls (at least) all crashed the parse worker."""
    return state.consecutive_crashes >= limits.QUARANTINE_AFTER


def quarantine_reason(state: SourceState) -> str | None:
    """Why a source is quarantined, in words for status pages; None when it is not."""
    if not is_quarantined(state):
        return None
    return (f"the parser crashed on {state.consecutive_crashes} polls in a row; not polled"
            " until released (collector sources release)")


def health(state: SourceState, now: datetime) -> Health:
    """`unknown`, `quarantined`, `healthy`, `failing`, `degraded` or `broken` by the rules in
    the module docstring."""
    if not state.judged:
        return "unknown"
    if is_quarantined(state):
        return "quarantined"
    failures = state.consecutive_failures
    if failures <= 0:
        return "healthy"
    since = state.first_failure_at or state.last_poll_at or now
    failing_for = (now - since).total_seconds()
    if failures >= BROKEN_MIN_FAILURES and failing_for >= BROKEN_AFTER_S:
        return "broken"
    if state.last_success_at is None:
        return "failing"
    if failures >= DEGRADED_MIN_FAILURES or failing_for >= DEGRADED_AFTER_S:
        return "degraded"
    return "healthy"


def is_stale(state: SourceState, now: datetime) -> bool:
    """True when a source that used to yield candidates keeps succeeding with none."""
    if state.last_items_at is None or state.consecutive_empty < STALE_MIN_EMPTY_POLLS:
        return False
    return (now - state.last_items_at).total_seconds() >= STALE_AFTER_S


def status(state: SourceState, now: datetime) -> Status:
    """One word for status pages: failing states first, then `stale`, else `healthy` (or
    `unknown` before a poll has judged the source)."""
    h = health(state, now)
    if h != "healthy":
        return h
    return "stale" if is_stale(state, now) else "healthy"


# --- transitions -----------------------------------------------------------------------------

def after_success(state: SourceState, *, now: datetime, interval_s: float, seed: int | str = 0,
                  candidates: int, etag: str | None = None, last_modified: str | None = None,
                  body_hash: str | None = None, max_age_s: float | None = None,
                  left: int = 0, retrying: int = 0) -> SourceState:
    """State after a poll that fetched and parsed the source (`candidates` items found).

    Validators are replaced by what this response carried (both kept, either may change); a
    response without them clears them, so a stale ETag cannot pin the source.

    A poll that did not finish its listing records no validators and clears the body hash:
    `left` items were not taken (the per-poll cap, the poll's time budget) and `retrying`
    items failed and will be tried again. The next poll then reads the listing in full even if
    it has not changed, instead of taking it as unchanged and never reaching them. With items
    `left`, the source is due again after limits.BACKLOG_DELAY_S (never later than its usual
    next poll) rather than a whole interval later; items only to retry wait for the usual
    interval, so a page that is down gets its attempts spread out.
    """
    got = candidates > 0
    due = next_poll(now=now, interval_s=interval_s, seed=seed, max_age_s=max_age_s)
    if left > 0:
        due = min(due, now + timedelta(seconds=limits.BACKLOG_DELAY_S))
    if left > 0 or retrying > 0:
        etag = last_modified = None
        body_hash = None
    else:
        body_hash = body_hash if body_hash is not None else state.body_hash
    return replace(
        state,
        etag=etag, last_modified=last_modified, body_hash=body_hash,
        last_poll_at=now, last_success_at=now, judged=True,
        first_failure_at=None, consecutive_failures=0, consecutive_crashes=0,
        last_error=None, last_error_kind=None,
        last_items_at=now if got else state.last_items_at,
        consecutive_empty=0 if got else state.consecutive_empty + 1,
        next_poll_at=due,
    )


def after_not_modified(state: SourceState, *, now: datetime, interval_s: float,
                       seed: int | str = 0, etag: str | None = None,
                       last_modified: str | None = None,
                       max_age_s: float | None = None) -> SourceState:
    """State after a 304 or an unchanged body: a success that says nothing about emptiness."""
    return replace(
        state,
        etag=etag or state.etag, last_modified=last_modified or state.last_modified,
        last_poll_at=now, last_success_at=now, judged=True,
        first_failure_at=None, consecutive_failures=0, consecutive_crashes=0,
        last_error=None, last_error_kind=None,
        next_poll_at=next_poll(now=now, interval_s=interval_s, seed=seed, max_age_s=max_age_s),
    )


def after_failure(state: SourceState, *, now: datetime, interval_s: float, seed: int | str = 0,
                  error: str, kind: str, retry_after_s: float | None = None) -> SourceState:
    """State after a failed poll: the streak grows, the interval backs off, the error is kept.

    A failure of kind PARSER_CRASH also lengthens the crash streak (any other kind ends it);
    at limits.QUARANTINE_AFTER the source is quarantined: its next poll is QUARANTINE_HOLD
    away and the kept error says so (the digest's health note and status pages show it).
    Validators and the body hash are kept untouched: a failure says nothing about the content.
    """
    failures = state.consecutive_failures + 1
    crashes = state.consecutive_crashes + 1 if kind == PARSER_CRASH else 0
    due = next_poll(now=now, interval_s=interval_s, failures=failures, seed=seed,
                    retry_after_s=retry_after_s)
    if crashes >= limits.QUARANTINE_AFTER:
        due = now + QUARANTINE_HOLD
        error = f"quarantined after {crashes} parser crashes in a row: {error}"
    elif crashes:
        error = f"parser crash {crashes} of {limits.QUARANTINE_AFTER} before quarantine: {error}"
    return replace(
        state,
        last_poll_at=now, judged=True,
        first_failure_at=state.first_failure_at or now,
        consecutive_failures=failures,
        consecutive_crashes=crashes,
        last_error=error[:MAX_ERROR_CHARS],
        last_error_kind=kind,
        next_poll_at=due,
    )


def release(state: SourceState, *, now: datetime) -> SourceState:
    """State after an operator released a source (`collector sources release`): due now, the
    crash streak cleared (a quarantine needs the full count of crashes again), and its health
    `unknown` until the next poll judges it.

    The failure streak stays: a release is not a success, so a source that still fails after
    it is as degraded or broken as before (and its backoff goes on from where it was), and a
    digest that reported it broken does not call it recovered. The last error is kept for the
    record; validators stay (they are about the content).
    """
    return replace(state, next_poll_at=now, consecutive_crashes=0, judged=False)
