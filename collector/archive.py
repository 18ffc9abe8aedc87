"""Saving statements to the Wayback Machine (`archive: wayback`) through the archive outbox.

This sends each archived statement's URL to a third party, the Internet Archive, whose
crawler then fetches the page. Entries are written with their document (store/archive.py);
the service's `archive` job drains them under the account's rate limit.

The Save Page Now 2 API, as used here:

- capture: `POST {url}/save` with the form fields `url`, `skip_first_archive=1` and
  `if_not_archived_within=<seconds>`, headers `Accept: application/json` and
  `Authorization: LOW <access key>:<secret>`. Accepted: a JSON object with `job_id`.
  Refused: a JSON object with `status: error`, `status_ext` (a code such as
  `error:invalid-url-syntax`) and `message`. 429 asks us to slow down (Retry-After).
- status: `GET {url}/save/status/<job_id>`: `status` is `pending`, `success` (with
  `timestamp` and `original_url`: the capture is `{url}/web/<timestamp>/<original_url>`) or
  `error` (with `status_ext` and `message`).

Delivery is at-least-once. An entry is marked sent, with its job id, in a transaction of its
own right after the archive accepted it; from then on it is never requested again (a failed
capture, reported by the status, is requested again: that is no second capture). A process
killed between the archive's answer and that transaction leaves the entry pending, so it is
requested once more; `if_not_archived_within` (`settings: wayback: skip_within`, 1 h by
default) makes the archive answer that second request with the capture it already has
instead of capturing the page twice. At-most-once would have meant marking before sending
and losing the entries of every crash in between; for evidence, a lost capture is worse.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from . import limits
from .config import Config
from .decide import parse_retry_after
from .schema import WaybackSettings
from .store import Store
from .store import archive as outbox

log = logging.getLogger("collector.archive")

#: `status_ext` codes of a refusal that no retry will change
_PERMANENT = ("error:invalid-url-syntax", "error:invalid-host-resolution", "error:blocked-url",
              "error:blocked", "error:no-access", "error:not-implemented", "error:filesize-limit",
              "error:ftp-access-denied")
#: `status_ext` codes (or parts of them) that mean "too many for now": a pause, not a failure
_SLOW_DOWN = ("too-many", "session-limit", "daily", "concurrent", "overloaded")


def utcnow() -> datetime:
    return datetime.now(UTC)


def missing_keys_note(config: Config) -> str | None:
    """What to say when statements are to be archived but the account's keys are not set."""
    wb = config.settings.wayback
    if not config.archives or (wb.access_key and wb.secret):
        return None
    return ("archive: wayback is set, but COLLECTOR_WAYBACK_ACCESS_KEY and "
            "COLLECTOR_WAYBACK_SECRET are not: statements are queued for the Wayback Machine "
            "and kept until both are set")


@dataclass(frozen=True)
class Answer:
    """What the archive said. kind: accepted | refused | gone (refused for good) |
    slow_down (429 or a limit reached) | unavailable (5xx, no connection, not JSON) |
    pending | success | failed (a capture's status)."""

    kind: str
    job_id: str | None = None
    retry_after_s: float | None = None
    error: str = ""
    snapshot: str | None = None


class Wayback:
    """A client of the Save Page Now 2 API."""

    def __init__(self, settings: WaybackSettings, *, timeout_s: float = 30.0):
        self.settings = settings
        self._timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None   # made at the first request

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _headers(self) -> dict[str, str]:
        s = self.settings
        return {"Accept": "application/json",
                "Authorization": f"LOW {s.access_key or ''}:{s.secret or ''}"}

    async def save(self, url: str) -> Answer:
        form = {"url": url, "skip_first_archive": "1",
                "if_not_archived_within": str(self.settings.skip_within_s)}
        got = await self._request("POST", "/save", data=form)
        if isinstance(got, Answer):
            return got
        job_id = got.get("job_id")
        if isinstance(job_id, str) and job_id:
            return Answer("accepted", job_id=job_id)
        return _refusal(got)

    async def status(self, job_id: str) -> Answer:
        got = await self._request("GET", f"/save/status/{job_id}")
        if isinstance(got, Answer):
            return got
        status = got.get("status")
        if status == "pending":
            return Answer("pending")
        if status == "success":
            stamp, original = got.get("timestamp"), got.get("original_url")
            snapshot = (f"{self.settings.url}/web/{stamp}/{original}"
                        if isinstance(stamp, str) and isinstance(original, str) else None)
            return Answer("success", snapshot=snapshot)
        refusal = _refusal(got)
        return Answer("failed", error=refusal.error) if refusal.kind != "slow_down" else refusal

    async def _request(self, method: str, path: str, **kw: Any) -> Answer | dict[str, Any]:
        where = f"{self.settings.url}{path}"
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=False,
                                             trust_env=False)
        try:
            resp = await self._client.request(method, where, headers=self._headers(), **kw)
        except httpx.HTTPError as exc:
            return Answer("unavailable", error=f"{where}: {type(exc).__name__}: {exc}")
        if resp.status_code == 429:
            retry = parse_retry_after(resp.headers.get("retry-after"), datetime.now(UTC))
            return Answer("slow_down", retry_after_s=retry, error=f"{where}: HTTP 429")
        if resp.status_code in (401, 403):
            return Answer("unavailable", error=f"{where}: HTTP {resp.status_code}: the "
                          "archive refused the keys in COLLECTOR_WAYBACK_ACCESS_KEY and "
                          "COLLECTOR_WAYBACK_SECRET")
        if resp.status_code == 404 and "/status/" in path:
            return Answer("failed", error=f"{where}: the archive does not know this job")
        if resp.status_code != 200:
            return Answer("unavailable", error=f"{where}: HTTP {resp.status_code}")
        try:
            body = json.loads(resp.content)
        except ValueError:
            return Answer("unavailable", error=f"{where}: the answer is not JSON")
        if not isinstance(body, dict):
            return Answer("unavailable", error=f"{where}: the answer is not a JSON object")
        return body


def _refusal(body: dict[str, Any]) -> Answer:
    code = str(body.get("status_ext") or "")
    message = str(body.get("message") or body.get("status") or "no job id in the answer")
    error = f"{code}: {message}" if code else message
    if any(part in code for part in _SLOW_DOWN):
        return Answer("slow_down", error=error)
    if code in _PERMANENT:
        return Answer("gone", error=error)
    return Answer("refused", error=error)


def backoff_s(failures: int) -> float:
    """ARCHIVE_BACKOFF_S doubled per failure before this one, up to ARCHIVE_MAX_BACKOFF_S."""
    return float(min(limits.ARCHIVE_BACKOFF_S * 2 ** min(max(failures - 1, 0), 20),
                     limits.ARCHIVE_MAX_BACKOFF_S))


@dataclass
class RunReport:
    sent: int = 0
    archived: int = 0
    failed: int = 0
    retried: int = 0
    paused_until: datetime | None = None


class Archiver:
    """The `archive` job: asks the status of captures in progress, then sends pending entries
    as the per-minute limit allows. Pauses after a 429 (for its Retry-After) and while the
    archive is unreachable (backing off)."""

    def __init__(self, config: Config, store: Store, *,
                 clock: Callable[[], datetime] = utcnow):
        self.store = store
        self.clock = clock
        # `settings: wayback:` is read at start (like every setting); which sources and
        # digests archive follows reloads (`reconfigure`)
        self.settings = config.settings.wayback
        self.client = Wayback(self.settings)
        cap = max(1.0, self.settings.per_minute / 4)
        self._capacity = cap                  # at most a quarter-minute's requests at once
        self._allowance = cap
        self._refilled: datetime | None = None
        self._paused_until: datetime | None = None
        self._outages = 0                     # consecutive runs that found the archive down
        self.config = config
        self._no_keys: str | None = None
        self.reconfigure(config)

    def reconfigure(self, config: Config) -> None:
        """A (reloaded) configuration: whether anything archives, and whether keys are
        missing for it (said in the log once per configuration)."""
        self.config = config
        self._no_keys = missing_keys_note(
            replace(config, settings=replace(config.settings, wayback=self.settings)))
        if self._no_keys:
            log.error("%s", self._no_keys)

    async def aclose(self) -> None:
        await self.client.aclose()

    def _take_allowance(self, now: datetime) -> int:
        if self._refilled is not None:
            elapsed = max(0.0, (now - self._refilled).total_seconds())
            self._allowance = min(self._capacity,
                                  self._allowance + elapsed * self.settings.per_minute / 60)
        self._refilled = now
        return int(self._allowance)

    def _pause(self, now: datetime, seconds: float) -> datetime:
        until = now + timedelta(seconds=seconds)
        self._paused_until = max(until, self._paused_until or until)
        return until

    async def run(self) -> RunReport:
        now = self.clock()
        report = RunReport()
        if not self.config.archives or self._no_keys:
            # nothing archives now (entries queued under an earlier configuration wait for
            # one that archives again), or the keys are missing (said in the log)
            return report
        if self._paused_until is not None and now < self._paused_until:
            report.paused_until = self._paused_until
            return report
        if await self._ask_status(now, report):
            await self._send(now, report)
        report.paused_until = self._paused_until if (
            self._paused_until and self._paused_until > now) else None
        return report

    async def _ask_status(self, now: datetime, report: RunReport) -> bool:
        """The status of captures in progress; False when the archive said to stop."""
        claimed = await asyncio.to_thread(outbox.claim, self.store, now, sent=True,
                                          limit=limits.ARCHIVE_BATCH,
                                          hold_s=limits.ARCHIVE_CLAIM_S)
        for i, entry in enumerate(claimed):
            assert entry.job_id is not None
            answer = await self.client.status(entry.job_id)
            if answer.kind in ("slow_down", "unavailable"):
                until = self._stop(now, answer)
                for rest in claimed[i:]:
                    await asyncio.to_thread(outbox.still_capturing, self.store, rest.id,
                                            at=until, now=now)
                return False
            self._outages = 0
            if answer.kind == "pending":
                await asyncio.to_thread(
                    outbox.still_capturing, self.store, entry.id,
                    at=now + timedelta(seconds=limits.ARCHIVE_STATUS_AFTER_S), now=now)
            elif answer.kind == "success":
                await asyncio.to_thread(outbox.captured, self.store, entry.id,
                                        snapshot=answer.snapshot, now=now)
                report.archived += 1
            else:
                give_up = entry.attempts + 1 >= limits.ARCHIVE_MAX_ATTEMPTS
                log.warning("archive: the capture of %s failed (%s)%s", entry.url,
                            answer.error, "; giving up" if give_up else "; it is requested again")
                await asyncio.to_thread(
                    outbox.capture_failed, self.store, entry.id, error=answer.error,
                    at=now + timedelta(seconds=backoff_s(entry.attempts + 1)),
                    give_up=give_up, now=now)
                report.failed += give_up
                report.retried += not give_up
        return True

    async def _send(self, now: datetime, report: RunReport) -> None:
        allowance = self._take_allowance(now)
        claimed = await asyncio.to_thread(outbox.claim, self.store, now, sent=False,
                                          limit=min(allowance, limits.ARCHIVE_BATCH),
                                          hold_s=limits.ARCHIVE_CLAIM_S)
        for i, entry in enumerate(claimed):
            self._allowance -= 1
            answer = await self.client.save(entry.url)
            if answer.kind == "accepted":
                assert answer.job_id is not None
                self._outages = 0
                await asyncio.to_thread(
                    outbox.mark_sent, self.store, entry.id, answer.job_id, now=now,
                    check_at=now + timedelta(seconds=limits.ARCHIVE_STATUS_AFTER_S))
                report.sent += 1
                continue
            if answer.kind in ("slow_down", "unavailable"):
                until = self._stop(now, answer)
                # this entry and the rest of the claim wait for the pause; nothing is counted
                # against them (the archive did not judge them)
                for rest in claimed[i:]:
                    await asyncio.to_thread(outbox.retry_later, self.store, rest.id,
                                            error=answer.error, at=until, counted=False)
                report.retried += len(claimed) - i
                return
            give_up = answer.kind == "gone" or entry.attempts + 1 >= limits.ARCHIVE_MAX_ATTEMPTS
            log.warning("archive: %s refused (%s)%s", entry.url, answer.error,
                        "; giving up" if give_up else "; it is requested again later")
            if give_up:
                await asyncio.to_thread(outbox.give_up, self.store, entry.id,
                                        error=answer.error, now=now)
                report.failed += 1
            else:
                await asyncio.to_thread(
                    outbox.retry_later, self.store, entry.id, error=answer.error,
                    at=now + timedelta(seconds=backoff_s(entry.attempts + 1)), counted=True)
                report.retried += 1

    def _stop(self, now: datetime, answer: Answer) -> datetime:
        """A 429 pauses for its Retry-After (or a backoff); an unreachable archive for a
        backoff that doubles with each run that finds it so."""
        if answer.kind == "slow_down" and answer.retry_after_s is not None:
            seconds = answer.retry_after_s
        else:
            self._outages += 1
            seconds = backoff_s(self._outages)
        log.warning("archive: %s; pausing for %.0f s", answer.error, seconds)
        return self._pause(now, seconds)
