"""robots.txt: parsing (RFC 9309), and a per-origin cache that answers "may we fetch this URL?".

The cache does no I/O of its own: it is given a fetch callback (the Fetcher's, so robots.txt is
fetched under the same politeness, address and size rules as everything else).

What a robots.txt answer means here:

- 2xx: the file is parsed; the group naming our product token (case-insensitive) applies, else
  the `*` group, else everything is allowed. Longest matching rule wins; on a tie, Allow wins.
  `*` and `$` are understood. Cached for the server's Cache-Control max-age (or Expires), at
  least ROBOTS_MIN_TTL_S and at most ROBOTS_TTL_S (24 h, RFC 9309's limit); ROBOTS_TTL_S when
  the server says nothing.
- 4xx other than 429 (including 401/403, as RFC 9309 says): no usable rules, everything allowed;
  cached alike.
- 429, 5xx, network failure, oversized file: unreachable. RFC 9309 asks for complete disallow
  while the server errs, so the host is disallowed for ROBOTS_ERROR_TTL_S and then tried again;
  if an earlier copy of the file is cached, it keeps being used instead.
- /robots.txt itself is always allowed.

With a RobotsStore, answers also outlive the process: every saved entry is read once, at the
first check; an origin with a fresh saved entry is not fetched at all, an expired one is
revalidated with a conditional GET (a 304 gives it a new lifetime). New and renewed entries are
written in batches (`flush`), not one transaction per host. Unreachable answers are not saved:
the next process tries again, with the saved copy as fallback.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from . import limits

log = logging.getLogger("collector.robots")


@dataclass(frozen=True)
class RobotsAnswer:
    """What one request for robots.txt got."""

    status: int | None                 # None: no usable answer (oversized, cut short)
    body: bytes = b""
    error: str = ""
    etag: str | None = None
    last_modified: str | None = None
    max_age_s: float | None = None     # the server's Cache-Control max-age (or Expires)


#: fetch(robots_url, policy, etag, last_modified) -> the answer; 304 to a conditional request
#: is an answer with status 304
RobotsFetch = Callable[[str, Any, str | None, str | None], Awaitable[RobotsAnswer]]


@dataclass(frozen=True, slots=True)
class Saved:
    """One origin's robots.txt as kept in the database: the rules that apply to `agent` (the
    product token they were kept for), its validators and its lifetime (Unix times)."""

    origin: str
    agent: str
    status: int
    rules: str
    etag: str | None
    last_modified: str | None
    fetched_at: float
    expires_at: float


class RobotsStore(Protocol):
    """Where robots.txt outlives the process (collector.store.robots)."""

    def load(self) -> dict[str, Saved]: ...

    def save(self, entries: Sequence[Saved]) -> None: ...


@dataclass(frozen=True, slots=True)
class Rule:
    allow: bool
    pattern: str
    regex: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Group:
    agents: tuple[str, ...]
    rules: tuple[Rule, ...]
    crawl_delay: float | None = None


@dataclass(frozen=True, slots=True)
class RobotsFile:
    groups: tuple[Group, ...] = ()

    def _groups_for(self, user_agent: str) -> list[Group]:
        token = product_token(user_agent)
        mine = [g for g in self.groups if token in g.agents]
        return mine or [g for g in self.groups if "*" in g.agents]

    def allowed(self, path: str, user_agent: str) -> bool:
        """May `user_agent` fetch `path` (path plus query)?"""
        if path == "/robots.txt":
            return True
        best: Rule | None = None
        for group in self._groups_for(user_agent):
            for rule in group.rules:
                if not rule.regex.match(path):
                    continue
                if (best is None or len(rule.pattern) > len(best.pattern)
                        or (len(rule.pattern) == len(best.pattern) and rule.allow)):
                    best = rule
        return best is None or best.allow

    def crawl_delay(self, user_agent: str) -> float | None:
        delays = [g.crawl_delay for g in self._groups_for(user_agent) if g.crawl_delay]
        return max(delays) if delays else None

    def dump(self, user_agent: str) -> str:
        """The groups that apply to `user_agent`, as robots.txt text: `parse` of it answers
        every question of that agent as this file does (what the database keeps)."""
        lines: list[str] = []
        for group in self._groups_for(user_agent):
            lines += [f"User-agent: {agent}" for agent in group.agents]
            lines += [f"{'Allow' if r.allow else 'Disallow'}: {r.pattern}" for r in group.rules]
            if group.crawl_delay:
                lines.append(f"Crawl-delay: {group.crawl_delay!r}")
            if not group.rules and not group.crawl_delay:
                lines.append("Disallow:")   # keeps an empty group a group
        return "\n".join(lines) + ("\n" if lines else "")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    crawl_delay: float | None = None


@functools.lru_cache(maxsize=64)
def product_token(user_agent: str) -> str:
    """`collector/0.1 (...)` -> `collector`: the name robots.txt groups are matched against."""
    return user_agent.strip().split("/", 1)[0].split(" ", 1)[0].lower()


def _compile(pattern: str) -> re.Pattern[str]:
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""), re.DOTALL)


@functools.lru_cache(maxsize=4096)
def _rule(allow: bool, pattern: str) -> Rule:
    """A rule, shared between the hosts that state it (a Rule is immutable): most hosts run
    the same software with the same rules (5,000 parsed WordPress robots.txt: 5.5 MB with a
    rule object per host, 2.5 MB shared; tracemalloc)."""
    return Rule(allow, pattern, _compile(pattern))


def parse(text: str) -> RobotsFile:
    """Parse robots.txt text leniently; unknown lines are ignored."""
    groups: list[Group] = []
    agents: list[str] = []
    rules: list[Rule] = []
    delay: float | None = None
    in_rules = False

    def close() -> None:
        if agents:
            groups.append(Group(tuple(agents), tuple(rules), delay))

    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        value = value.strip()
        if key in ("user-agent", "useragent"):
            if in_rules:
                close()
                agents, rules, delay, in_rules = [], [], None, False
            agents.append(value.lower().split("/", 1)[0].strip() or "*")
        elif key in ("allow", "disallow"):
            in_rules = True
            if not agents or not value:
                continue  # an empty Disallow matches nothing
            if not value.startswith(("/", "*")):
                value = "/" + value
            rules.append(_rule(key == "allow", value))
        elif key == "crawl-delay":
            in_rules = True
            try:
                d = float(value)
            except ValueError:
                continue
            if d == d and d > 0:  # not NaN
                delay = d
    close()
    return RobotsFile(tuple(groups))


@functools.lru_cache(maxsize=1024)
def _shared(robots: RobotsFile) -> RobotsFile:
    """One RobotsFile for the hosts whose robots.txt say the same (a RobotsFile is immutable,
    and compared by its rules: the WordPress robots.txt of 5,000 hosts, each naming its own
    sitemap, are one RobotsFile)."""
    return robots


@functools.lru_cache(maxsize=1024)
def _kept_rules(robots: RobotsFile, user_agent: str) -> str:
    """`robots.dump(user_agent)`, one string for the hosts that share `robots`."""
    return robots.dump(user_agent)


@functools.lru_cache(maxsize=1024)
def _parse_kept(rules: str) -> RobotsFile:
    """`parse` of saved rules, shared: many hosts run the same software with the same
    robots.txt (a RobotsFile is immutable)."""
    return parse(rules)


@dataclass(slots=True)
class _Entry:
    robots: RobotsFile | None          # None: unreachable and nothing older to fall back on
    expires: float
    error: str = ""
    status: int = 0                    # of the answer the rules came from (0: none)
    etag: str | None = None
    last_modified: str | None = None


class RobotsCache:
    """Per-origin robots.txt cache. One fetch per origin at a time; bounded in size; in front
    of an optional RobotsStore."""

    def __init__(self, fetch: RobotsFetch, *, ttl_s: float = limits.ROBOTS_TTL_S,
                 error_ttl_s: float = limits.ROBOTS_ERROR_TTL_S,
                 max_hosts: int = limits.ROBOTS_CACHE_HOSTS,
                 clock: Callable[[], float] = time.time,
                 store: RobotsStore | None = None,
                 flush_every: int = limits.ROBOTS_SAVE_BATCH):
        self._fetch = fetch
        self._ttl = ttl_s
        self._error_ttl = error_ttl_s
        self._max = max_hosts
        self._clock = clock              # wall time: saved lifetimes outlive the process
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._store = store
        #: the saved entries, read at the first check (None: not yet)
        self._saved: dict[str, Saved] | None = None if store is not None else {}
        self._load_lock = asyncio.Lock()
        self._dirty: dict[str, Saved] = {}
        self._flush_every = max(1, flush_every)
        #: requests made for robots.txt, and how many of them were conditional
        self.fetches = 0
        self.revalidations = 0

    def attach(self, store: RobotsStore) -> None:
        """Keep answers in `store` from now on (read at the next check)."""
        self._store = store
        self._saved = None

    async def allowed(self, url: str, user_agent: str, policy: Any = None) -> bool:
        return (await self.check(url, user_agent, policy)).allowed

    async def check(self, url: str, user_agent: str, policy: Any = None) -> Verdict:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if path == "/robots.txt":
            return Verdict(True)
        entry = await self._entry(origin, user_agent, policy)
        if entry.robots is None:
            return Verdict(False, f"robots.txt unreachable ({entry.error})")
        ok = entry.robots.allowed(path, user_agent)
        return Verdict(ok, "" if ok else f"disallowed for {product_token(user_agent)}",
                       entry.robots.crawl_delay(user_agent))

    async def flush(self) -> int:
        """Write the entries fetched or renewed since the last flush, in one transaction."""
        if self._store is None or not self._dirty:
            return 0
        batch, self._dirty = list(self._dirty.values()), {}
        try:
            await asyncio.to_thread(self._store.save, batch)
        except Exception as exc:  # a cache: the next process fetches these again, nothing more
            log.warning("could not save robots.txt of %d hosts: %s", len(batch), exc)
            return 0
        return len(batch)

    async def _saved_entries(self) -> dict[str, Saved]:
        if self._saved is None:
            async with self._load_lock:
                if self._saved is None:
                    store = self._store
                    self._saved = await asyncio.to_thread(store.load) if store else {}
        return self._saved

    async def _entry(self, origin: str, user_agent: str, policy: Any) -> _Entry:
        entry = self._entries.get(origin)
        if entry is not None and entry.expires > self._clock():
            self._entries.move_to_end(origin)
            return entry
        if entry is None and self._saved is not None:
            # a fresh saved entry needs no fetch, so no lock either
            entry = self._from_saved(self._saved.get(origin), user_agent)
            if entry is not None and entry.expires > self._clock():
                self._remember(origin, entry)
                return entry
            entry = None
        lock = self._locks.setdefault(origin, asyncio.Lock())
        try:
            async with lock:
                entry = self._entries.get(origin)
                if entry is not None and entry.expires > self._clock():
                    return entry
                if entry is None:
                    entry = self._from_saved((await self._saved_entries()).get(origin),
                                             user_agent)
                    if entry is not None and entry.expires > self._clock():
                        self._remember(origin, entry)
                        return entry
                fresh = await self._load(origin, user_agent, policy, entry)
                self._remember(origin, fresh)
                if len(self._dirty) >= self._flush_every:
                    await self.flush()
                return fresh
        finally:
            if not lock.locked():
                self._locks.pop(origin, None)

    def _remember(self, origin: str, entry: _Entry) -> None:
        self._entries[origin] = entry
        self._entries.move_to_end(origin)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def _from_saved(self, saved: Saved | None, user_agent: str) -> _Entry | None:
        if saved is None or saved.agent != product_token(user_agent):
            return None   # rules kept for another product token do not answer for this one
        return _Entry(_parse_kept(saved.rules), saved.expires_at, status=saved.status,
                      etag=saved.etag, last_modified=saved.last_modified)

    def _lifetime(self, max_age_s: float | None) -> float:
        if max_age_s is None:
            return self._ttl
        return min(self._ttl, max(limits.ROBOTS_MIN_TTL_S, max_age_s))

    async def _load(self, origin: str, user_agent: str, policy: Any, old: _Entry | None
                    ) -> _Entry:
        usable = old is not None and old.robots is not None and old.status
        etag = old.etag if usable and old else None
        last_modified = old.last_modified if usable and old else None
        self.fetches += 1
        if etag or last_modified:
            self.revalidations += 1
        got = await self._fetch(origin + "/robots.txt", policy, etag, last_modified)
        now = self._clock()
        status = got.status
        if status == 304 and old is not None and old.robots is not None:
            fresh = _Entry(old.robots, now + self._lifetime(got.max_age_s), status=old.status,
                           etag=got.etag or old.etag,
                           last_modified=got.last_modified or old.last_modified)
        elif status is not None and 200 <= status < 300:
            fresh = _Entry(_shared(parse(got.body.decode("utf-8", errors="replace"))),
                           now + self._lifetime(got.max_age_s), status=status, etag=got.etag,
                           last_modified=got.last_modified)
        elif status is not None and 400 <= status < 500 and status != 429:
            fresh = _Entry(_shared(RobotsFile()), now + self._lifetime(got.max_age_s),
                           status=status)
        else:
            reason = got.error or (f"HTTP {status}" if status else "no answer")
            if old is not None and old.robots is not None:
                return _Entry(old.robots, now + self._error_ttl, reason, old.status, old.etag,
                              old.last_modified)
            return _Entry(None, now + self._error_ttl, reason)
        if self._store is not None:
            assert fresh.robots is not None
            saved = Saved(origin, product_token(user_agent), fresh.status,
                          _kept_rules(fresh.robots, user_agent), fresh.etag,
                          fresh.last_modified, now, fresh.expires)
            self._dirty[origin] = saved
            if self._saved is not None:
                self._saved[origin] = saved
        return fresh
