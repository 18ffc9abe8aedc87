"""robots.txt: parsing (RFC 9309), and a per-origin cache that answers "may we fetch this URL?".

The cache does no I/O of its own: it is given a fetch callback (the Fetcher's, so robots.txt is
fetched under the same politeness, address and size rules as everything else).

What a robots.txt answer means here:

- 2xx: the file is parsed; the group naming our product token (case-insensitive) applies, else
  the `*` group, else everything is allowed. Longest matching rule wins; on a tie, Allow wins.
  `*` and `$` are understood. Cached for ROBOTS_TTL_S.
- 4xx other than 429 (including 401/403, as RFC 9309 says): no usable rules, everything allowed.
- 429, 5xx, network failure, oversized file: unreachable. RFC 9309 asks for complete disallow
  while the server errs, so the host is disallowed for ROBOTS_ERROR_TTL_S and then tried again;
  if an earlier copy of the file is cached, it keeps being used instead.
- /robots.txt itself is always allowed.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import limits

#: fetch(robots_url, policy) -> (HTTP status or None for a network failure, body, error text)
RobotsFetch = Callable[[str, Any], Awaitable[tuple[int | None, bytes, str]]]


@dataclass(frozen=True)
class Rule:
    allow: bool
    pattern: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Group:
    agents: tuple[str, ...]
    rules: tuple[Rule, ...]
    crawl_delay: float | None = None


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    crawl_delay: float | None = None


def product_token(user_agent: str) -> str:
    """`collector/0.1 (...)` -> `collector`: the name robots.txt groups are matched against."""
    return user_agent.strip().split("/", 1)[0].split(" ", 1)[0].lower()


def _compile(pattern: str) -> re.Pattern[str]:
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""), re.DOTALL)


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
            rules.append(Rule(key == "allow", value, _compile(value)))
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


@dataclass
class _Entry:
    robots: RobotsFile | None          # None: unreachable and nothing older to fall back on
    expires: float
    error: str = ""


class RobotsCache:
    """Per-origin robots.txt cache. One fetch per origin at a time; bounded in size."""

    def __init__(self, fetch: RobotsFetch, *, ttl_s: float = limits.ROBOTS_TTL_S,
                 error_ttl_s: float = limits.ROBOTS_ERROR_TTL_S,
                 max_hosts: int = limits.ROBOTS_CACHE_HOSTS,
                 clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self._ttl = ttl_s
        self._error_ttl = error_ttl_s
        self._max = max_hosts
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def allowed(self, url: str, user_agent: str, policy: Any = None) -> bool:
        return (await self.check(url, user_agent, policy)).allowed

    async def check(self, url: str, user_agent: str, policy: Any = None) -> Verdict:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if path == "/robots.txt":
            return Verdict(True)
        entry = await self._entry(origin, policy)
        if entry.robots is None:
            return Verdict(False, f"robots.txt unreachable ({entry.error})")
        ok = entry.robots.allowed(path, user_agent)
        return Verdict(ok, "" if ok else f"disallowed for {product_token(user_agent)}",
                       entry.robots.crawl_delay(user_agent))

    async def _entry(self, origin: str, policy: Any) -> _Entry:
        entry = self._entries.get(origin)
        if entry is not None and entry.expires > self._clock():
            self._entries.move_to_end(origin)
            return entry
        lock = self._locks.setdefault(origin, asyncio.Lock())
        try:
            async with lock:
                entry = self._entries.get(origin)
                if entry is not None and entry.expires > self._clock():
                    return entry
                fresh = await self._load(origin, policy, entry)
                self._entries[origin] = fresh
                self._entries.move_to_end(origin)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
                return fresh
        finally:
            if not lock.locked():
                self._locks.pop(origin, None)

    async def _load(self, origin: str, policy: Any, old: _Entry | None) -> _Entry:
        status, body, error = await self._fetch(origin + "/robots.txt", policy)
        now = self._clock()
        if status is not None and 200 <= status < 300:
            return _Entry(parse(body.decode("utf-8", errors="replace")), now + self._ttl)
        if status is not None and 400 <= status < 500 and status != 429:
            return _Entry(RobotsFile(), now + self._ttl)
        reason = error or (f"HTTP {status}" if status else "no answer")
        if old is not None and old.robots is not None:
            return _Entry(old.robots, now + self._error_ttl, reason)
        return _Entry(None, now + self._error_ttl, reason)
