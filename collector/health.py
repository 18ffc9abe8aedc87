"""What every surface says about a source's health: one word, and its last error in words.

`collector status`, the web pages, /metrics and the digests' health notes all ask here, at the
moment they show it, so they cannot disagree: the word comes from `collector.decide.status`
over the stored state and the current time (a single failure turns `degraded` after hours
without another poll), and the error a person reads comes from `describe_error`. The raw error
stays in the store, in `status --json` and in the logs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from . import decide

if TYPE_CHECKING:  # the store imports the digest code, which imports this module
    from .store import PollRecord, SourceState

#: Every word a surface may show, worst first: the order of the sources page and of counts.
STATES = ("quarantined", "broken", "failing", "degraded", "stale", "unknown", "healthy",
          "disabled")
#: States that need a person's attention (shown first, counted in summaries).
TROUBLE = frozenset({"quarantined", "broken", "failing", "degraded", "stale"})
#: Health words the store has written for a source no poll has judged yet: `new` (never
#: polled) and `unknown` (released by `collector sources release`, not polled since).
UNJUDGED = frozenset({"new", "unknown"})


def decide_state(st: SourceState) -> decide.SourceState:
    """The stored state of a source as `collector.decide` reads it."""
    return decide.SourceState(
        etag=st.etag, last_modified=st.last_modified, body_hash=st.body_hash,
        next_poll_at=st.next_poll_at, last_poll_at=st.last_poll_at,
        last_success_at=st.last_success_at, first_failure_at=st.first_failure_at,
        consecutive_failures=st.consecutive_failures, last_error=st.last_error,
        last_error_kind=st.last_error_kind, last_items_at=st.last_items_at,
        consecutive_empty=st.consecutive_empty, consecutive_crashes=st.consecutive_crashes,
        judged=st.polls > 0 and st.health not in UNJUDGED)


def source_health(st: SourceState, now: datetime, *, enabled: bool = True) -> str:
    """The one word every surface shows for a source right now."""
    if not enabled:
        return "disabled"
    return decide.status(decide_state(st), now)


def rank(state: str) -> int:
    """Sort key: worst first, unknown words last."""
    return STATES.index(state) if state in STATES else len(STATES)


def counts(states: Iterable[str]) -> list[tuple[str, int]]:
    """(state, number) for every state present, worst first."""
    c = Counter(states)
    return [(s, c[s]) for s in sorted(c, key=lambda s: (rank(s), s))]


@dataclass(frozen=True)
class HistorySummary:
    """What a source's latest polls say at a glance: how many of them failed, and, when the
    newest ones failed, since when it has been failing."""

    shown: int
    failed: int
    failing: int                      # failed polls in a row, counted from the newest
    failing_since: datetime | None    # the first failure of that run


def summarise_polls(polls: Sequence[PollRecord], st: SourceState | None = None
                    ) -> HistorySummary:
    """The summary of `polls` (newest first). A run of failures longer than the polls shown
    dates from the source's stored first failure (`st`), which the history may not reach."""
    failing = 0
    for p in polls:
        if p.ok:
            break
        failing += 1
    since = polls[failing - 1].polled_at if failing else None
    if (failing and failing == len(polls) and st is not None and st.first_failure_at
            and st.first_failure_at < polls[-1].polled_at):
        since = st.first_failure_at
    return HistorySummary(len(polls), sum(1 for p in polls if not p.ok), failing, since)


# --- errors in words -------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s()<>\"']+")
_HTTP_CODE = re.compile(r"\bHTTP (\d{3})\b")

_PLAIN: dict[str, str] = {
    "refused": "{host} refused the connection (nothing is listening there)",
    "connect": "could not connect to {host}",
    "tls": "the secure connection to {host} failed (its certificate or TLS set-up is wrong)",
    "timeout": "{host} did not answer in time",
    "too_large": "{host} sent more than the size limit allows",
    "too_many_redirects": "{host} redirected too many times",
    "redirect_loop": "{host} redirects in a loop",
    "blocked_address": "{host} points at a private or local address, which is not fetched "
                       "unless the source sets allow_private_addresses",
    "robots": "robots.txt of {host} asks not to fetch this address",
    "content_type": "{host} sent something that is not text (an image, a file …)",
    "not_a_feed": "{host} sent a web page where a feed was expected",
    "empty": "{host} sent an empty answer",
    "rate_limited": "{host} asked us to slow down (too many requests); waiting as asked",
    "unavailable": "{host} says it is unavailable for now",
    "bad_url": "the address is not a valid web address",
    "truncated": "{host} cut its answer short",
    "protocol": "{host} sent a broken HTTP answer",
    "decoding": "{host} sent a body that could not be decoded",
    "network": "a network error while talking to {host}",
    "bad_304": "{host} answered 'not modified' to a request that asked for the full page",
    decide.PARSER_CRASH: "the page made the parser crash",
    decide.PARSE_TIMEOUT: "the page took too long to parse",
    "parseerror": "what {host} sent could not be read as a feed, sitemap or listing",
    "extracterror": "no readable statement text was found on the page",
    "store": "the database did not answer",
    "internal": "an internal error (see the log)",
}

_STATUS_WORDS = {401: "asks for a login", 403: "refuses access", 404: "says the page does not "
                 "exist (404)", 410: "says the page is gone for good (410)",
                 500: "had an internal error (500)", 502: "had a gateway error (502)",
                 503: "is unavailable (503)", 504: "had a gateway timeout (504)"}


def _host(message: str, url: str | None) -> str:
    for candidate in (*_URL.findall(message), url or ""):
        host = urlsplit(candidate).hostname
        if host:
            return host
    return "the site"


def describe_error(kind: str | None, message: str | None, url: str | None = None) -> str | None:
    """A failed poll's error as a sentence a person can act on, e.g. "the name example.org does
    not resolve"; `message` is the raw error kept in the store, `url` the source's address
    (used when the message names none). None when there is no error."""
    if not message and not kind:
        return None
    raw = message or ""
    host = _host(raw, url)
    if raw.startswith("quarantined after"):
        return (f"quarantined: the page made the parser crash on {_crash_count(raw)} "
                "polls in a row; not polled until released (collector sources release)")
    if kind == "dns":
        return f"the name {host} does not resolve (no such host, or DNS is not reachable)"
    if kind == "http_status":
        m = _HTTP_CODE.search(raw)
        if m:
            code = int(m.group(1))
            words = _STATUS_WORDS.get(code, f"answered with HTTP status {code}")
            return f"{host} {words}"
        return f"{host} answered with an error status"
    template = _PLAIN.get(kind or "")
    if template is not None:
        return template.format(host=host)
    return raw or (kind or "")


def _crash_count(message: str) -> str:
    m = re.match(r"quarantined after (\d+)", message)
    return m.group(1) if m else "several"
