"""Retry policy of digest delivery (pure): capped exponential backoff and quarantine.

A temporary failure (connection refused, 4xx, dropped connection) is retried with backoff for
as long as it lasts; the entries stay pending. A permanent failure (5xx, refused credentials)
is retried too, because servers and settings get fixed, but after DIGEST_POISON_FAILURES of
them in a row the digest is quarantined: it is not tried again until someone sends it by hand
(`collector digest ID --send`), and every other digest keeps flowing meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from collector import limits


def next_attempt(attempts: int, now: datetime, *,
                 base_s: float = limits.DIGEST_RETRY_BASE_S,
                 cap_s: float = limits.DIGEST_RETRY_MAX_S) -> datetime:
    """When to try again after `attempts` consecutive failed attempts (attempts >= 1).

    base, 2*base, 4*base, ... capped at cap_s.
    """
    if attempts < 1:
        return now
    # The exponent is bounded before use so a counter in the thousands cannot overflow.
    delay = min(cap_s, base_s * (2 ** min(attempts - 1, 32)))
    return now + timedelta(seconds=delay)


@dataclass(frozen=True)
class RetryState:
    """What the store keeps per digest between runs."""

    attempts: int = 0                 # consecutive failed attempts, any kind
    permanent_failures: int = 0       # consecutive permanent failures
    next_attempt_at: datetime | None = None
    quarantined: bool = False
    last_error: str | None = None

    def due(self, now: datetime) -> bool:
        """Whether a scheduled run may try this digest now (a manual send ignores this)."""
        if self.quarantined:
            return False
        return self.next_attempt_at is None or now >= self.next_attempt_at


def after_failure(state: RetryState, *, temporary: bool, error: str, now: datetime,
                  poison_after: int = limits.DIGEST_POISON_FAILURES) -> RetryState:
    """The state after a failed delivery attempt."""
    attempts = state.attempts + 1
    permanent = 0 if temporary else state.permanent_failures + 1
    return RetryState(
        attempts=attempts,
        permanent_failures=permanent,
        next_attempt_at=next_attempt(attempts, now),
        quarantined=permanent >= poison_after,
        last_error=error,
    )


def after_success(state: RetryState) -> RetryState:
    """The state after a delivery went through: every counter starts afresh."""
    return RetryState()


def released(state: RetryState) -> RetryState:
    """The state after a user asked for a digest to be sent by hand: out of quarantine."""
    return replace(state, quarantined=False, permanent_failures=0, next_attempt_at=None)
