"""The configuration's frozen shape: what `config.py` builds from sources.yaml and the
environment, and the small parsers of its values (durations, cron schedules).

Every stage reads its settings from these dataclasses; none of them reads YAML or the
environment itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import limits

SOURCE_KINDS = ("auto", "feed", "page", "sitemap", "telegram", "imap")
#: how HTML pages of a source are obtained: as fetched, rendered by Chromium, or rendered only
#: when the fetched page is an empty shell (collector.browser)
RENDER_MODES = ("plain", "browser", "auto")
#: where `kind: telegram` reads a channel when the source gives no `url`
TELEGRAM_BASE = "https://t.me"
IMAP_SECURITY = ("tls", "starttls", "none")
DIGEST_CHANNELS = ("email", "feed", "apprise")
#: where a source's or a digest's statements may be archived (`archive:`); "none" turns off an
#: archive a source would inherit from `defaults:`
ARCHIVES = ("wayback", "none")

_DURATION_PART = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


# ---------------------------------------------------------------------------------------------
# Frozen results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """When something runs: a fixed interval, a cron expression in a time zone, or immediately."""

    interval_s: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    immediate: bool = False

    def next_after(self, now: datetime) -> datetime:
        """The first run time strictly after `now` (an aware datetime)."""
        if self.immediate:
            return now
        if self.interval_s is not None:
            return now + timedelta(seconds=self.interval_s)
        trigger = cron_trigger(self.cron or "", self.timezone)
        fire = trigger.get_next_fire_time(None, now + timedelta(seconds=1))
        assert fire is not None
        return fire

    @property
    def nominal_interval_s(self) -> int:
        """The interval this schedule usually runs at, used as the base of backoff."""
        if self.interval_s is not None:
            return self.interval_s
        if self.immediate:
            return limits.TICK_S
        # measured from a fixed reference, not the clock: the same schedule always gives the
        # same base interval
        first = self.next_after(datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC")))
        second = self.next_after(first)
        return max(int((second - first).total_seconds()), limits.MIN_INTERVAL_S)

    def describe(self) -> str:
        if self.immediate:
            return "as soon as collected"
        if self.interval_s is not None:
            return f"every {format_duration(self.interval_s)}"
        return f"cron '{self.cron}' ({self.timezone})"


@dataclass(frozen=True)
class FilterRule:
    """One include/exclude rule: keywords or a regular expression, on a field, or a language."""

    keywords: tuple[str, ...] = ()
    regex: str | None = None
    on: str = "any"                # title | text | url | any
    language: str | None = None


@dataclass(frozen=True)
class Selectors:
    items: str | None = None
    link: str | None = None
    title: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class Split:
    selector: str | None = None
    headings: str | None = None


@dataclass(frozen=True)
class Imap:
    """A mailbox read by `kind: imap` (the password comes from the environment only)."""

    host: str
    user: str
    folder: str = "INBOX"
    port: int = 993
    security: str = "tls"              # tls | starttls | none
    password_env: str = "COLLECTOR_IMAP_PASSWORD"
    move_to: str | None = None         # moved here once stored; otherwise marked read


@dataclass(frozen=True, slots=True)   # one per configured source, held by the process
class Source:
    id: str
    name: str
    url: str
    kind: str = "auto"
    schedule: Schedule = field(
        default_factory=lambda: Schedule(interval_s=limits.DEFAULT_INTERVAL_S))
    enabled: bool = True
    tags: tuple[str, ...] = ()
    content_selector: str | None = None
    selectors: Selectors | None = None
    pagination_depth: int = 0
    split: Split | None = None
    include: tuple[FilterRule, ...] = ()
    exclude: tuple[FilterRule, ...] = ()
    backfill: int = limits.DEFAULT_BACKFILL
    allow_private_addresses: bool = False
    robots: bool = True
    verify_tls: bool = True
    render: str = "plain"
    channel: str | None = None         # kind: telegram
    imap: Imap | None = None           # kind: imap
    #: the user's mark: this source publishes originals (its copy of a statement found on
    #: several sites is the one kept, when the pages themselves do not tell; docs/dedup.md)
    original: bool = False
    #: preferred language of a statement offered in several (a table row's EN | FR | ES links),
    #: as an ISO 639-1 code
    language: str | None = None
    #: re-check this source's stored statements at their URLs (`watch: false` opts out;
    #: collector.watch)
    watch: bool = True
    #: "wayback": each statement's URL is sent to the Wayback Machine (collector.archive)
    archive: str | None = None
    #: capture this source's statements in WARC files (when capture is on in the settings)
    capture: bool = True
    line: int = 0


@dataclass(frozen=True)
class Digest:
    id: str
    channel: str
    schedule: Schedule
    title: str
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    include: tuple[FilterRule, ...] = ()
    exclude: tuple[FilterRule, ...] = ()
    to: tuple[str, ...] = ()
    apprise_urls: tuple[str, ...] = ()
    full_text: bool = False
    paragraphs: int = 3
    health_after_s: int = 24 * 3600
    group_by: str | None = None               # None, "organisation" or "tag"
    #: "wayback": every statement this digest selects is archived (collector.archive)
    archive: str | None = None
    line: int = 0


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None = None
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "collector@localhost"
    timeout_s: float = 30.0
    ca_file: Path | None = None


@dataclass(frozen=True)
class FetchSettings:
    """Politeness limits of the fetcher (per process)."""

    concurrency: int = limits.GLOBAL_CONCURRENCY
    per_host_concurrency: int = limits.PER_HOST_CONCURRENCY
    per_host_delay_s: float = limits.PER_HOST_DELAY_S
    poll_concurrency: int = limits.POLL_CONCURRENCY
    #: whole-request deadline of every fetch (`settings: fetch: deadline`)
    deadline_s: float = limits.REQUEST_DEADLINE_S
    #: parse worker processes (`settings: fetch: parse_workers`); None: one per usable core
    parse_workers: int | None = None


@dataclass(frozen=True)
class WatchSettings:
    """Re-checks of stored statements at their URLs (`settings: watch`, collector.watch)."""

    #: ages after collection at which a statement is checked again, ascending; () = never
    after_s: tuple[int, ...] = limits.WATCH_AFTER_S
    #: statements checked at most in one round (a big corpus does not flood the sites)
    batch: int = limits.WATCH_BATCH
    #: how often the service runs a round
    every_s: int = limits.WATCH_EVERY_S


@dataclass(frozen=True)
class WaybackSettings:
    """The Wayback Machine's Save Page Now API (`settings: wayback:`); keys from the
    environment only."""

    url: str = "https://web.archive.org"
    #: capture requests sent per minute, at most
    per_minute: int = limits.WAYBACK_PER_MINUTE
    #: a URL captured this recently is not captured again (the archive's
    #: `if_not_archived_within`): a request sent again after a crash makes no second capture
    skip_within_s: int = limits.WAYBACK_SKIP_WITHIN_S
    access_key: str | None = None
    secret: str | None = None


@dataclass(frozen=True)
class CaptureSettings:
    """WARC capture of the fetches that become statements (`settings: capture`;
    collector.capture, docs/evidence.md)."""

    enabled: bool = True
    #: where the WARC files go; None: `<data_dir>/warc`
    dir: Path | None = None
    #: a day's file is closed and the next one begun past this size
    rotate_bytes: int = 1024 * 1024 * 1024
    #: files older than this many days are deleted (None: kept whatever their age)
    keep_days: int | None = None
    #: the oldest files are deleted while all of them take more than this (None: no bound)
    keep_bytes: int | None = None


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    bind: str = "127.0.0.1:8080"
    contact: str | None = None
    public_url: str | None = None
    template_dir: Path | None = None
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    tick_s: float = limits.TICK_S
    #: cap on open HTTP connections; None derives it from the file limit (collector.webguard)
    http_max_connections: int | None = None
    wayback: WaybackSettings = field(default_factory=WaybackSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)

    @property
    def warc_dir(self) -> Path:
        return self.capture.dir or self.data_dir / "warc"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def feeds_dir(self) -> Path:
        return self.data_dir / "feeds"


@dataclass(frozen=True)
class Config:
    path: Path
    settings: Settings
    sources: tuple[Source, ...]
    digests: tuple[Digest, ...] = ()
    include: tuple[FilterRule, ...] = ()
    exclude: tuple[FilterRule, ...] = ()

    def source(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)

    def digest(self, digest_id: str) -> Digest:
        for d in self.digests:
            if d.id == digest_id:
                return d
        raise KeyError(digest_id)

    @property
    def archives(self) -> bool:
        """Whether any source or digest archives its statements."""
        return any(s.archive == "wayback" for s in self.sources) or any(
            d.archive == "wayback" for d in self.digests)


# ---------------------------------------------------------------------------------------------
# Small parsers
# ---------------------------------------------------------------------------------------------


def parse_duration(text: str) -> int:
    """'30m', '1h30m', '2d', '45s', '1w' or a bare number of seconds → seconds."""
    text = str(text).strip().lower()
    if text.isdigit():
        return int(text)
    pos = 0
    total = 0
    for m in _DURATION_PART.finditer(text):
        if text[pos:m.start()].strip():
            raise ValueError(f"'{text}' is not a duration like 30m, 1h30m or 2d")
        total += int(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(f"'{text}' is not a duration like 30m, 1h30m or 2d")
    return total


def format_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def cron_trigger(expr: str, tz: str) -> Any:
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(expr, timezone=ZoneInfo(tz))
