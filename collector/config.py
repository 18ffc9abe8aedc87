"""sources.yaml + environment → frozen, validated configuration.

Validation runs once, before anything else, and reports every problem at once, each with the
file and line it was found at. Unknown keys, duplicate ids, bad URLs, bad schedules, bad
selectors and bad filter rules are errors. Secrets (the SMTP password) come only from the
environment.

The file has four sections, all optional but `sources`:

    settings:   service settings (data directory, database, HTTP bind address, SMTP, contact)
    defaults:   values every source inherits (schedule, kind, backfill, politeness switches)
    filters:    global include / exclude rules applied to every source
    sources:    the list of sources
    digests:    the list of digests (email, feed, apprise)

Environment variables override `settings:` (see `ENVIRONMENT`); a bad value of one is an
error naming the variable. The frozen results this module builds are defined in schema.py;
the YAML text is read by yamlread.py.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import limits
from .errors import ConfigError
from .schema import (
    DIGEST_CHANNELS,
    IMAP_SECURITY,
    RENDER_MODES,
    SOURCE_KINDS,
    TELEGRAM_BASE,
    Config,
    Digest,
    FetchSettings,
    FilterRule,
    Imap,
    Schedule,
    Selectors,
    Settings,
    SmtpConfig,
    Source,
    Split,
    cron_trigger,
    format_duration,
    parse_duration,
)
from .yamlread import decode, read_yaml

# The frozen shape lives in schema.py; these names stay importable from here, where every
# caller has always found them.
__all__ = [
    "DIGEST_CHANNELS",
    "ENVIRONMENT",
    "RENDER_MODES",
    "SOURCE_KINDS",
    "Config",
    "Digest",
    "FetchSettings",
    "FilterRule",
    "Imap",
    "Schedule",
    "Selectors",
    "Settings",
    "SmtpConfig",
    "Source",
    "Split",
    "format_duration",
    "load_config",
    "parse_config",
    "parse_duration",
    "source_from_url",
]

#: Environment variables and the setting each one overrides.
ENVIRONMENT = {
    "COLLECTOR_CONFIG": "path of sources.yaml (default ./sources.yaml)",
    "COLLECTOR_DATA": "data directory (default ./data)",
    "COLLECTOR_DATABASE_URL": "SQLAlchemy database URL (default: SQLite in the data directory)",
    "COLLECTOR_BIND": "HTTP bind address host:port (default 127.0.0.1:8080)",
    "COLLECTOR_CONTACT": "contact URL or e-mail named in the User-Agent",
    "COLLECTOR_PUBLIC_URL": "public base URL of the HTTP server, used in feed links",
    "COLLECTOR_SMTP_HOST": "SMTP server host",
    "COLLECTOR_SMTP_PORT": "SMTP server port",
    "COLLECTOR_SMTP_SECURITY": "starttls, tls or none",
    "COLLECTOR_SMTP_USERNAME": "SMTP user name",
    "COLLECTOR_SMTP_PASSWORD": "SMTP password (only ever read from the environment)",
    "COLLECTOR_SMTP_PASSWORD_FILE": "file holding the SMTP password (a container secret); "
                                    "used when COLLECTOR_SMTP_PASSWORD is not set",
    "COLLECTOR_SMTP_FROM": "sender address of digests",
    "COLLECTOR_SMTP_CA_FILE": "extra CA certificate to trust for the SMTP server (a private CA)",
    "COLLECTOR_LOG_FORMAT": "log lines as text (default) or json (read by the command line)",
}

_TELEGRAM_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


# URLs httpx certainly accepts, checked without it (a tenth of the time, which counts for
# 10,000 sources): lowercase http(s), a host of ASCII letters, digits, dots and hyphens that is
# not an IDNA A-label, a short port, printable ASCII without backslash after it. A host of
# digits and dots only must be an IPv4 address httpx's `ipaddress` accepts (no leading zeros).
# Every other URL is asked of httpx.
_PLAIN_URL = re.compile(r"https?://(?P<host>[A-Za-z0-9.-]+)(?::[0-9]{0,5})?"
                        r"(?:[/?#][!-\[\]-~]*)?\Z")
_DOTS_AND_DIGITS = re.compile(r"[0-9.]+\Z")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}\Z")
_PLAIN_URL_MAX = 4096


#: Characters of a value echoed in a message; a longer one is cut (a 7 MB URL once was echoed
#: whole). Control characters are shown escaped, so a value cannot rewrite the terminal.
SHOWN_CHARS = 100
#: The longest message, a net under values that reach a message some other way.
_MESSAGE_CHARS = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """`value` as a message shows it: control characters escaped, and cut after `limit`
    characters with the full length said."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def _check_url(url: str) -> str | None:
    """None when `url` is an absolute http(s) URL with a host; otherwise the problem."""
    if isinstance(url, str) and len(url) <= _PLAIN_URL_MAX and (m := _PLAIN_URL.match(url)):
        host = m.group("host")
        if not host.lower().startswith("xn--") and (
                not _DOTS_AND_DIGITS.match(host) or _IPV4.match(host)):
            return None
    return _check_url_httpx(url)


def _check_url_httpx(url: str) -> str | None:
    import httpx

    if not isinstance(url, str) or not url.strip():
        return "must be a non-empty URL"
    if "\\" in url or any(ord(c) < 33 for c in url):
        return f"'{shown(url)}' contains a backslash, a space or a control character"
    try:
        parsed = httpx.URL(url)
        host = parsed.host      # decodes an IDNA A-label, which may fail
    except Exception as exc:  # httpx raises InvalidURL, idna raises IDNAError, and friends
        return f"'{shown(url)}' is not a valid URL ({shown(exc)})"
    if parsed.scheme not in ("http", "https"):
        return f"'{shown(url)}' must start with http:// or https://"
    if not host:
        return f"'{shown(url)}' has no host"
    return None


DEFAULT_BIND = "127.0.0.1:8080"
SMTP_SECURITY = ("starttls", "tls", "none")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")


def bind_problem(bind: str) -> str | None:
    """None when `bind` is an address the HTTP server can listen on: host:port with a port
    from 0 to 65535 (0: a free port the system picks, which the log names) and a host that is
    a name, an IPv4 address or an IPv6 address in brackets ([::1]:8080); otherwise what is
    wrong with it."""
    host, sep, port = bind.rpartition(":")
    if not sep or not host:
        return "must be host:port, like 127.0.0.1:8080 (0.0.0.0:8080 for every interface)"
    if not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        return f"has port '{shown(port)}'; a port is a number from 1 to 65535 (0: any free one)"
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"has '{shown(host)}' in brackets, which is not an IPv6 address"
        return None
    if ":" in host:
        return "has an IPv6 address without brackets; write it like [::1]:8080"
    if _DOTS_AND_DIGITS.match(host):
        return None if _IPV4.match(host) else f"has '{shown(host)}', not an IPv4 address"
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        return f"has '{shown(host)}', which is not a host name or an IP address"
    return None


def _check_selector(css: str) -> str | None:
    from selectolax.lexbor import LexborHTMLParser

    try:
        LexborHTMLParser("<p></p>").css(css)
    except Exception as exc:
        return f"'{shown(css)}' is not a valid CSS selector ({shown(exc)})"
    return None


# ---------------------------------------------------------------------------------------------
# The validator
# ---------------------------------------------------------------------------------------------


class _Problems:
    """Collects problems as 'file:line: message', and problems of environment variables as
    'environment variable NAME: message' (listed first)."""

    def __init__(self, path: Path):
        self.path = path
        self.items: list[tuple[int, str]] = []
        self.env_items: list[str] = []

    def add_env(self, name: str, value: str, message: str) -> None:
        self.env_items.append(f"environment variable {name}: '{shown(value)}' {message}")

    def add(self, line: int, message: str) -> None:
        if len(message) > _MESSAGE_CHARS:
            message = f"{message[:_MESSAGE_CHARS]}… (message cut at {_MESSAGE_CHARS} characters)"
        self.items.append((line, message))

    def messages(self) -> list[str]:
        ordered = sorted(self.items, key=lambda x: x[0])
        return self.env_items + [f"{self.path}:{line}: {msg}" for line, msg in ordered]

    def __bool__(self) -> bool:
        return bool(self.items or self.env_items)


def _key_line(node: Any, key: Any, default: int) -> int:
    """The line of `key` in a mapping read from YAML (yamlread.YamlMap); `default` else."""
    lines = getattr(node, "key_lines", None)
    return lines.get(key, default) if lines is not None else default


def _item_line(seq: Any, index: int, default: int) -> int:
    """The line of item `index` of a sequence read from YAML (yamlread.YamlList)."""
    lines = getattr(seq, "item_lines", None)
    return (lines[index] or default) if lines is not None and index < len(lines) else default


class _Fields:
    """Typed access to one YAML mapping, recording problems with their lines."""

    def __init__(self, node: Any, where: str, line: int, problems: _Problems,
                 allowed: tuple[str, ...]):
        self.node = node if isinstance(node, Mapping) else {}
        self.where = where
        self.line = line
        self.p = problems
        if not isinstance(node, Mapping):
            problems.add(line, f"{where} must be a mapping of keys to values")
            return
        for key in node:
            if key not in allowed:
                hint = _close_match(str(key), allowed)
                problems.add(_key_line(node, key, line),
                             f"{where}: unknown key '{shown(key)}'{hint}")

    def has(self, key: str) -> bool:
        return key in self.node

    def line_of(self, key: str) -> int:
        return _key_line(self.node, key, self.line)

    def err(self, key: str, message: str) -> None:
        self.p.add(self.line_of(key), f"{self.where}: {key} {message}")

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        if key not in self.node or self.node[key] is None:
            if required:
                self.p.add(self.line, f"{self.where}: '{key}' is required")
            return default
        value = self.node[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.err(key, "must be a text value")
            return default
        return str(value)

    def flag(self, key: str, default: bool) -> bool:
        if key not in self.node:
            return default
        value = self.node[key]
        if not isinstance(value, bool):
            self.err(key, "must be true or false")
            return default
        return value

    def whole(self, key: str, default: int, *, minimum: int = 0,
              maximum: int | None = None) -> int:
        if key not in self.node:
            return default
        value = self.node[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (
                maximum is not None and value > maximum):
            self.err(key, f"must be a whole number ≥ {minimum}" if maximum is None
                     else f"must be a whole number from {minimum} to {maximum}")
            return default
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        if key not in self.node or self.node[key] is None:
            return ()
        value = self.node[key]
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            self.err(key, "must be a list of text values")
            return ()
        return tuple(str(v) for v in value)

    def duration(self, key: str, default: int, *, minimum: int = 0) -> int:
        if key not in self.node:
            return default
        try:
            seconds = parse_duration(self.node[key])
        except ValueError as exc:
            self.err(key, shown(exc, 200))
            return default
        if seconds < minimum:
            self.err(key, f"must be at least {format_duration(minimum)}")
            return default
        return seconds


def _close_match(word: str, allowed: tuple[str, ...]) -> str:
    import difflib

    match = difflib.get_close_matches(word, allowed, n=1)
    return f" (did you mean '{match[0]}'?)" if match else f" (known keys: {', '.join(allowed)})"


_SCHEDULE_KEYS = ("every", "cron", "timezone")
_POLITENESS_KEYS = ("allow_private_addresses", "robots", "verify_tls")
_SOURCE_KEYS = (
    "id", "name", "url", "kind", *_SCHEDULE_KEYS, "enabled", "tags", "content_selector",
    "selectors", "pagination_depth", "split", "include", "exclude", "backfill", "original",
    "language", *_POLITENESS_KEYS, "render", "channel", "imap",
)
_DEFAULT_KEYS = ("kind", *_SCHEDULE_KEYS, "enabled", "tags", "backfill", "pagination_depth",
                 "language", *_POLITENESS_KEYS, "render")
_IMAP_KEYS = ("host", "port", "user", "folder", "security", "password_env", "move_to")
#: A language code as sources.yaml takes it: ISO 639-1, optionally with a region (`pt-BR`).
_LANGUAGE = re.compile(r"^[A-Za-z]{2}(-[A-Za-z]{2})?$")
_DIGEST_KEYS = ("id", "channel", "schedule", "timezone", "title", "sources", "tags", "include",
                "exclude", "to", "urls", "full_text", "paragraphs", "health_after", "group_by")
#: How a digest may group its statements (`group_by`); none keeps them in order of arrival.
DIGEST_GROUPINGS = ("organisation", "tag")
_SETTINGS_KEYS = ("data_dir", "database_url", "bind", "contact", "public_url", "template_dir",
                  "smtp", "fetch", "tick", "http_max_connections")
_FETCH_KEYS = ("concurrency", "per_host_concurrency", "per_host_delay", "poll_concurrency",
               "deadline", "parse_workers")
_SMTP_KEYS = ("host", "port", "security", "username", "from", "timeout", "ca_file")
_RULE_KEYS = ("keywords", "keyword", "regex", "in", "language")
_RULE_FIELDS = ("title", "text", "url", "any")


def _schedule(f: _Fields, inherited: Schedule) -> Schedule:
    tz = f.text("timezone", inherited.timezone) or "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        f.err("timezone", f"'{shown(tz)}' is not a known time zone (e.g. Europe/Berlin)")
        tz = "UTC"
    if f.has("every") and f.has("cron"):
        f.p.add(f.line_of("cron"), f"{f.where}: give either 'every' or 'cron', not both")
        return inherited
    if f.has("every"):
        seconds = f.duration("every", -1, minimum=limits.MIN_INTERVAL_S)
        return Schedule(interval_s=seconds, timezone=tz) if seconds > 0 else inherited
    if f.has("cron"):
        expr = f.text("cron") or ""
        try:
            cron_trigger(expr, tz)
        except (ValueError, TypeError) as exc:
            f.err("cron", f"'{shown(expr)}' is not a cron expression "
                          f"(minute hour day month weekday): {shown(exc)}")
            return inherited
        return Schedule(cron=expr, timezone=tz)
    if f.has("timezone") and inherited.cron:
        return Schedule(cron=inherited.cron, timezone=tz)
    return inherited


def _rules(f: _Fields, key: str) -> tuple[FilterRule, ...]:
    if not f.has(key) or f.node[key] is None:
        return ()
    raw = f.node[key]
    if not isinstance(raw, list):
        f.err(key, "must be a list of rules like {keywords: [strike, union], in: title}")
        return ()
    out = []
    for i, item in enumerate(raw):
        line = _item_line(raw, i, f.line_of(key))
        if isinstance(item, str):
            out.append(FilterRule(keywords=(item,)))
            continue
        rf = _Fields(item, f"{f.where}: {key}[{i}]", line, f.p, _RULE_KEYS)
        keywords = rf.str_list("keywords") + rf.str_list("keyword")
        regex = rf.text("regex")
        on = rf.text("in", "any") or "any"
        language = rf.text("language")
        if on not in _RULE_FIELDS:
            rf.err("in", f"must be one of {', '.join(_RULE_FIELDS)}")
            on = "any"
        if regex is not None:
            try:
                re.compile(regex)
            except (re.error, RecursionError, OverflowError) as exc:
                # (Python's pattern parser recurses per group: thousands of nested
                # parentheses exhaust its stack)
                why = "nested too deeply" if isinstance(exc, RecursionError) else shown(exc)
                rf.err("regex", f"'{shown(regex)}' is not a valid regular expression ({why})")
                regex = None
        if not keywords and regex is None and language is None:
            rf.p.add(line, f"{rf.where}: a rule needs 'keywords', 'regex' or 'language'")
            continue
        out.append(FilterRule(keywords=tuple(k.lower() for k in keywords), regex=regex, on=on,
                              language=language.lower() if language else None))
    return tuple(out)


def _item_fields(node: Any, what: str, index: int, line: int, problems: _Problems,
                 keys: tuple[str, ...]) -> _Fields | None:
    """The fields of one list item, named by its id in messages when it has one."""
    label = f"{what} '{shown(node['id'])}'" if isinstance(node, Mapping) and "id" in node \
        else f"{what}s[{index}]"
    f = _Fields(node, label, line, problems, keys)
    return f if isinstance(node, Mapping) else None


def _source(node: Any, index: int, line: int, defaults: dict[str, Any], base_schedule: Schedule,
            problems: _Problems) -> Source | None:
    f = _item_fields(node, "source", index, line, problems, _SOURCE_KEYS)
    if f is None:
        return None
    sid = f.text("id", required=True)
    if sid is not None and not _ID.match(sid):
        f.err("id", "must be 1–64 lowercase letters, digits, '-' or '_', starting with a "
                    "letter or digit")
    kind = f.text("kind", defaults.get("kind", "auto")) or "auto"
    if kind not in SOURCE_KINDS:
        f.err("kind", f"must be one of {', '.join(SOURCE_KINDS)}")
    channel, imap = _channel_keys(f, kind)
    url = f.text("url", required=kind not in ("telegram", "imap"))
    if url is not None and (problem := _check_url(url)):
        f.err("url", problem)
    if url is None and kind == "telegram" and channel:
        url = f"{TELEGRAM_BASE}/s/{channel}"
    if url is None and kind == "imap" and imap is not None:
        url = f"imap://{imap.user}@{imap.host}:{imap.port}/{imap.folder}"
    render = f.text("render", defaults.get("render", "plain")) or "plain"
    if render not in RENDER_MODES:
        f.err("render", f"must be one of {', '.join(RENDER_MODES)}")
    schedule = _schedule(f, base_schedule)
    content_selector = f.text("content_selector")
    if content_selector and (problem := _check_selector(content_selector)):
        f.err("content_selector", problem)
    selectors = None
    if f.has("selectors"):
        sf = _Fields(f.node["selectors"], f"{f.where}: selectors", f.line_of("selectors"),
                     problems, ("items", "link", "title", "date"))
        values = {k: sf.text(k) for k in ("items", "link", "title", "date")}
        for k, v in values.items():
            if v and (problem := _check_selector(v)):
                sf.err(k, problem)
        selectors = Selectors(**values)
    split = None
    if f.has("split"):
        spf = _Fields(f.node["split"], f"{f.where}: split", f.line_of("split"), problems,
                      ("selector", "headings"))
        sel, head = spf.text("selector"), spf.text("headings")
        for k, v in (("selector", sel), ("headings", head)):
            if v and (problem := _check_selector(v)):
                spf.err(k, problem)
        if bool(sel) == bool(head):
            problems.add(spf.line, f"{spf.where}: give exactly one of 'selector' or 'headings'")
        split = Split(selector=sel, headings=head)
    language = f.text("language", defaults.get("language"))
    if language is not None and not _LANGUAGE.match(language):
        f.err("language", "must be a two-letter language code such as en, fr or pt-BR")
    if sid is None or url is None:
        return None
    return Source(
        id=sid,
        name=f.text("name", sid) or sid,
        url=url,
        kind=kind,
        schedule=schedule,
        enabled=f.flag("enabled", defaults.get("enabled", True)),
        tags=f.str_list("tags") or tuple(defaults.get("tags", ())),
        content_selector=content_selector,
        selectors=selectors,
        pagination_depth=f.whole("pagination_depth", defaults.get("pagination_depth", 0)),
        split=split,
        include=_rules(f, "include"),
        exclude=_rules(f, "exclude"),
        backfill=f.whole("backfill", defaults.get("backfill", limits.DEFAULT_BACKFILL)),
        allow_private_addresses=f.flag("allow_private_addresses",
                                       defaults.get("allow_private_addresses", False)),
        robots=f.flag("robots", defaults.get("robots", True)),
        verify_tls=f.flag("verify_tls", defaults.get("verify_tls", True)),
        render=render,
        channel=channel,
        imap=imap,
        original=f.flag("original", False),
        # the primary subtag: links and documents name their language by it
        language=language.split("-")[0].lower() if language else None,
        line=line,
    )


def _channel_keys(f: _Fields, kind: str) -> tuple[str | None, Imap | None]:
    """`channel` (kind: telegram) and `imap` (kind: imap): required by their kind only."""
    channel = f.text("channel", required=kind == "telegram")
    if channel is not None:
        channel = channel.removeprefix("@")
        if kind != "telegram":
            f.err("channel", "is only for kind: telegram")
        elif not _TELEGRAM_CHANNEL.match(channel):
            f.err("channel", f"'{channel}' is not a channel name (5–32 letters, digits or "
                             f"'_', starting with a letter)")
    if not f.has("imap"):
        if kind == "imap":
            f.err("kind", "kind: imap needs an 'imap:' block with host, user and folder")
        return channel, None
    if kind != "imap":
        f.err("imap", "is only for kind: imap")
    mf = _Fields(f.node["imap"], f"{f.where}: imap", f.line_of("imap"), f.p, _IMAP_KEYS)
    if not isinstance(f.node["imap"], Mapping):
        return channel, None
    host, user = mf.text("host", required=True), mf.text("user", required=True)
    security = mf.text("security", "tls") or "tls"
    if security not in IMAP_SECURITY:
        mf.err("security", f"must be one of {', '.join(IMAP_SECURITY)}")
    port = mf.whole("port", 993 if security == "tls" else 143)
    if not 0 < port < 65536:
        mf.err("port", "must be a port number (1–65535)")
    password_env = mf.text("password_env", "COLLECTOR_IMAP_PASSWORD") or ""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", password_env):
        mf.err("password_env", "must name an environment variable (the password is never "
                               "written in the file)")
    if host is None or user is None:
        return channel, None
    return channel, Imap(host=host, user=user, folder=mf.text("folder", "INBOX") or "INBOX",
                         port=port, security=security, password_env=password_env,
                         move_to=mf.text("move_to"))


def _digest(node: Any, index: int, line: int, known_sources: set[str],
            problems: _Problems) -> Digest | None:
    f = _item_fields(node, "digest", index, line, problems, _DIGEST_KEYS)
    if f is None:
        return None
    did = f.text("id", required=True)
    if did is not None:
        if not _ID.match(did):
            f.err("id", "must be 1–64 lowercase letters, digits, '-' or '_'")
        elif did == "all":
            f.err("id", "'all' is reserved for the combined feed of all statements")
    channel = f.text("channel", "email") or "email"
    if channel not in DIGEST_CHANNELS:
        f.err("channel", f"must be one of {', '.join(DIGEST_CHANNELS)}")
    tz = f.text("timezone", "UTC") or "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        f.err("timezone", f"'{shown(tz)}' is not a known time zone (e.g. Europe/Berlin)")
        tz = "UTC"
    # a feed digest is rewritten as soon as something is collected unless told otherwise; an
    # email or apprise digest must say when it goes out
    raw_schedule = f.text("schedule", "immediate" if channel == "feed" else None,
                          required=channel != "feed")
    schedule = Schedule(immediate=True)
    if raw_schedule and raw_schedule.strip().lower() not in ("immediate", "as soon as collected"):
        text = raw_schedule.strip()
        if text.lower().startswith("every "):
            try:
                schedule = Schedule(interval_s=parse_duration(text[6:]), timezone=tz)
            except ValueError as exc:
                f.err("schedule", str(exc))
        else:
            try:
                cron_trigger(text, tz)
                schedule = Schedule(cron=text, timezone=tz)
            except (ValueError, TypeError) as exc:
                f.err("schedule", f"'{shown(text)}' is not a cron expression, 'every 6h' or "
                                  f"'immediate': {shown(exc)}")
    sources = f.str_list("sources")
    for s in sources:
        if s not in known_sources:
            f.err("sources", f"names unknown source '{shown(s)}'")
    to = f.str_list("to")
    for addr in to:
        if "@" not in addr or any(c in addr for c in "\r\n<>,; "):
            f.err("to", f"'{shown(addr)}' is not an e-mail address")
    if channel == "email" and not to:
        problems.add(line, f"{f.where}: an email digest needs recipients in 'to'")
    urls = f.str_list("urls")
    if channel == "apprise" and not urls:
        problems.add(line, f"{f.where}: an apprise digest needs 'urls'")
    group_by = f.text("group_by")
    if group_by is not None and group_by not in DIGEST_GROUPINGS:
        f.err("group_by", f"must be one of {', '.join(DIGEST_GROUPINGS)}, not '{group_by}'")
        group_by = None
    if did is None:
        return None
    return Digest(
        id=did, channel=channel, schedule=schedule, title=f.text("title", did) or did,
        sources=sources, tags=f.str_list("tags"), include=_rules(f, "include"),
        exclude=_rules(f, "exclude"), to=to, apprise_urls=urls,
        full_text=f.flag("full_text", False), paragraphs=f.whole("paragraphs", 3, minimum=1),
        health_after_s=f.duration("health_after", 24 * 3600), group_by=group_by, line=line,
    )


def _settings(node: Any, line: int, base: Path, data_override: Path | None,
              env: Mapping[str, str], problems: _Problems) -> Settings:
    f = _Fields(node if node is not None else {}, "settings", line, problems, _SETTINGS_KEYS)
    data_dir = Path(env.get("COLLECTOR_DATA") or f.text("data_dir") or "data")
    if data_override is not None:
        data_dir = data_override
    if not data_dir.is_absolute():
        data_dir = (Path.cwd() / data_dir) if data_override or env.get("COLLECTOR_DATA") \
            else (base / data_dir)
    db_url = env.get("COLLECTOR_DATABASE_URL") or f.text("database_url")
    if not db_url:
        db_url = f"sqlite:///{data_dir / 'collector.db'}"
    bind = f.text("bind", DEFAULT_BIND) or DEFAULT_BIND
    if (problem := bind_problem(bind)) and f.has("bind"):
        f.err("bind", f"'{shown(bind)}' {problem}")
    if bind_env := env.get("COLLECTOR_BIND"):
        bind = bind_env
        if problem := bind_problem(bind):
            problems.add_env("COLLECTOR_BIND", bind, problem)
    template_dir = f.text("template_dir")
    template_path = (base / template_dir) if template_dir else None
    if template_path is not None and not template_path.is_dir():
        f.err("template_dir", f"'{shown(template_dir)}' is not a directory "
                              f"({'missing' if not template_path.exists() else 'a file'}: "
                              f"{shown(template_path, 300)})")
    smtp_node = f.node.get("smtp") if f.has("smtp") else {}
    sf = _Fields(smtp_node or {}, "settings: smtp", f.line_of("smtp"), problems, _SMTP_KEYS)
    security = sf.text("security", "starttls") or "starttls"
    if security not in SMTP_SECURITY:
        sf.err("security", f"'{shown(security)}' must be starttls, tls or none")
    if security_env := env.get("COLLECTOR_SMTP_SECURITY"):
        security = security_env
        if security not in SMTP_SECURITY:
            problems.add_env("COLLECTOR_SMTP_SECURITY", security, "must be starttls, tls or none")
    port = sf.whole("port", 465 if security == "tls" else 587, minimum=1, maximum=65535)
    if (port_env := env.get("COLLECTOR_SMTP_PORT")) is not None and port_env.strip():
        if port_env.strip().isdigit() and 1 <= int(port_env) <= 65535:
            port = int(port_env)
        else:
            problems.add_env("COLLECTOR_SMTP_PORT", port_env,
                             "must be a port number from 1 to 65535")
    smtp = SmtpConfig(
        host=env.get("COLLECTOR_SMTP_HOST") or sf.text("host"),
        port=port,
        security=security,
        username=env.get("COLLECTOR_SMTP_USERNAME") or sf.text("username"),
        password=_smtp_password(env, problems, sf.line),
        sender=env.get("COLLECTOR_SMTP_FROM") or sf.text("from", "collector@localhost")
        or "collector@localhost",
        timeout_s=float(sf.duration("timeout", 30, minimum=1)),
        ca_file=Path(ca) if (ca := env.get("COLLECTOR_SMTP_CA_FILE") or sf.text("ca_file"))
        else None,
    )
    ff = _Fields(f.node.get("fetch") or {} if f.has("fetch") else {}, "settings: fetch",
                 f.line_of("fetch"), problems, _FETCH_KEYS)
    fetch = FetchSettings(
        concurrency=ff.whole("concurrency", limits.GLOBAL_CONCURRENCY, minimum=1),
        per_host_concurrency=ff.whole("per_host_concurrency", limits.PER_HOST_CONCURRENCY,
                                    minimum=1),
        per_host_delay_s=float(ff.duration("per_host_delay", int(limits.PER_HOST_DELAY_S))),
        poll_concurrency=ff.whole("poll_concurrency", limits.POLL_CONCURRENCY, minimum=1),
        deadline_s=float(ff.duration("deadline", int(limits.REQUEST_DEADLINE_S), minimum=1)),
        parse_workers=_parse_workers(ff),
    )
    return Settings(
        data_dir=data_dir, database_url=db_url, bind=bind, fetch=fetch,
        tick_s=float(f.duration("tick", limits.TICK_S, minimum=1)),
        http_max_connections=f.whole("http_max_connections", 0, minimum=1) or None,
        contact=env.get("COLLECTOR_CONTACT") or f.text("contact"),
        public_url=env.get("COLLECTOR_PUBLIC_URL") or f.text("public_url"),
        template_dir=template_path,
        smtp=smtp,
    )


def _parse_workers(ff: _Fields) -> int | None:
    """`settings: fetch: parse_workers`: a whole number from 1 to limits.MAX_PARSE_WORKERS."""
    if "parse_workers" not in ff.node:
        return None
    value = ff.whole("parse_workers", 0, minimum=1)
    if value > limits.MAX_PARSE_WORKERS:
        ff.err("parse_workers", f"must be at most {limits.MAX_PARSE_WORKERS}")
        return None
    return value or None


def parse_config(text: str, path: Path, *, data_dir: Path | None = None,
                 env: Mapping[str, str] | None = None) -> Config:
    """Validate `text` (the contents of `path`); raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    problems = _Problems(path)
    root = read_yaml(text, path)
    if root is None:
        root = {}
    top = _Fields(root, "the file", 1, problems,
                  ("settings", "defaults", "filters", "sources", "digests"))
    if not isinstance(root, Mapping):
        raise ConfigError(problems.messages())

    settings = _settings(root.get("settings"), top.line_of("settings"), path.parent.resolve(),
                         data_dir,
                         env, problems)

    defaults_f = _Fields(root.get("defaults") or {}, "defaults", top.line_of("defaults"),
                         problems, _DEFAULT_KEYS)
    base_schedule = _schedule(defaults_f, Schedule(interval_s=limits.DEFAULT_INTERVAL_S))
    defaults: dict[str, Any] = {}
    if defaults_f.has("kind"):
        kind = defaults_f.text("kind")
        if kind not in SOURCE_KINDS:
            defaults_f.err("kind", f"must be one of {', '.join(SOURCE_KINDS)}")
        else:
            defaults["kind"] = kind
    if defaults_f.has("render"):
        render = defaults_f.text("render")
        if render not in RENDER_MODES:
            defaults_f.err("render", f"must be one of {', '.join(RENDER_MODES)}")
        else:
            defaults["render"] = render
    for key, getter in (("enabled", defaults_f.flag), ("allow_private_addresses", defaults_f.flag),
                        ("robots", defaults_f.flag), ("verify_tls", defaults_f.flag)):
        if defaults_f.has(key):
            defaults[key] = getter(key, True)
    for key in ("backfill", "pagination_depth"):
        if defaults_f.has(key):
            defaults[key] = defaults_f.whole(key, 0)
    if defaults_f.has("tags"):
        defaults["tags"] = defaults_f.str_list("tags")
    if defaults_f.has("language"):
        defaults["language"] = defaults_f.text("language")

    filters_f = _Fields(root.get("filters") or {}, "filters", top.line_of("filters"), problems,
                        ("include", "exclude"))
    include, exclude = _rules(filters_f, "include"), _rules(filters_f, "exclude")

    if root.get("sources") is None:
        problems.add(1, "the file has no 'sources:' list")
    sources: list[Source] = _unique_items(
        root, "sources", "source", top, problems,
        lambda node, i, line: _source(node, i, line, defaults, base_schedule, problems))
    known = {s.id for s in sources}
    digests: list[Digest] = _unique_items(
        root, "digests", "digest", top, problems,
        lambda node, i, line: _digest(node, i, line, known, problems))

    if problems:
        raise ConfigError(problems.messages())
    return Config(path=path, settings=settings, sources=tuple(sources), digests=tuple(digests),
                  include=include, exclude=exclude)


def _unique_items(root: Any, key: str, what: str, top: _Fields, problems: _Problems,
                  build: Callable[[Any, int, int], Any]) -> list[Any]:
    """Build every item of the list `key`, rejecting a second use of an id with both lines."""
    raw = root.get(key) or []
    if not isinstance(raw, list):
        problems.add(top.line_of(key), f"'{key}' must be a list")
        return []
    out: list[Any] = []
    first_line: dict[str, int] = {}
    for i, node in enumerate(raw):
        line = _item_line(raw, i, top.line_of(key))
        item = build(node, i, line)
        if item is None:
            continue
        if item.id in first_line:
            problems.add(line, f"duplicate {what} id '{shown(item.id)}' (first used on line "
                               f"{first_line[item.id]})")
            continue
        first_line[item.id] = line
        out.append(item)
    return out


def _smtp_password(env: Mapping[str, str], problems: _Problems, line: int) -> str | None:
    """COLLECTOR_SMTP_PASSWORD, else the first line of the file COLLECTOR_SMTP_PASSWORD_FILE
    names (a container secret, as the database password is one); an unreadable file is a
    configuration problem."""
    if env.get("COLLECTOR_SMTP_PASSWORD"):
        return env["COLLECTOR_SMTP_PASSWORD"]
    name = env.get("COLLECTOR_SMTP_PASSWORD_FILE")
    if not name:
        return None
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(line, f"COLLECTOR_SMTP_PASSWORD_FILE: cannot read {name}: "
                           f"{getattr(exc, 'strerror', None) or exc}")
        return None
    # an empty file is "no SMTP login" (compose needs the secret's file to exist)
    return text.strip().splitlines()[0].strip() if text.strip() else None


def load_config(path: Path | str, *, data_dir: Path | str | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the configuration file at `path`."""
    path = Path(path)
    # UTF-8 takes at most 4 bytes a character: a file longer than that has too many characters
    # certainly, and is refused without being read whole
    most = 4 * limits.CONFIG_MAX_CHARS
    try:
        with path.open("rb") as f:
            data = f.read(most + 1)
    except FileNotFoundError as exc:
        raise ConfigError([f"{path}: no such file (give --config PATH or set "
                           "COLLECTOR_CONFIG)"]) from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read: {exc}"]) from exc
    if len(data) > most:
        raise ConfigError([f"{path}: the file has more than {most:,} bytes; a configuration "
                           f"may have at most {limits.CONFIG_MAX_CHARS:,} characters"])
    text = decode(data, path).replace("\r\n", "\n").replace("\r", "\n")
    config = parse_config(text, path, data_dir=Path(data_dir) if data_dir else None, env=env)
    _refuse_risky_if_writable_by_others(config)
    return config


def _risky_switches(config: Config) -> list[str]:
    out = [f"source '{s.id}' sets {key}" for s in config.sources
           for key, risky in (("allow_private_addresses: true", s.allow_private_addresses),
                              ("verify_tls: false", not s.verify_tls))
           if risky]
    if config.settings.template_dir is not None:
        out.append("settings set template_dir")
    return out


def _refuse_risky_if_writable_by_others(config: Config) -> None:
    """A sources.yaml anyone on the machine may edit must not open the service up
    (RELIABILITY row 18): switches that reach intranet addresses, drop TLS checks or load
    templates are refused until the file's permissions are fixed."""
    import stat

    try:
        mode = config.path.stat().st_mode
    except OSError:
        return
    if not mode & stat.S_IWOTH:
        return
    risky = _risky_switches(config)
    if risky:
        raise ConfigError([f"{config.path}: the file is writable by every user, so these "
                           f"settings are refused: {'; '.join(risky)} (run chmod o-w on it)"])


def source_from_url(url: str, *, kind: str = "auto", allow_private: bool = False) -> Source:
    """A throw-away source for `collector check --url`."""
    problem = _check_url(url)
    if problem:
        raise ConfigError([f"--url: {problem}"])
    return Source(id="check", name=url, url=url, kind=kind, allow_private_addresses=allow_private)


