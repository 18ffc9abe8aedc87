"""The `sources:` entries of sources.yaml → validated Source values: a source's keys, its
schedule, its selectors and split, its filter rules, and the channel blocks of telegram and
imap sources. The global `filters:` and the digests take their rules from `_rules` here, and
`defaults:` its schedule from `_schedule`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import limits
from .config_fields import _ID, _check_url, _Fields, _item_fields, _item_line, _Problems, shown
from .schema import (
    ARCHIVES,
    IMAP_SECURITY,
    RENDER_MODES,
    SOURCE_KINDS,
    TELEGRAM_BASE,
    FilterRule,
    Imap,
    Schedule,
    Selectors,
    Source,
    Split,
    cron_trigger,
)

_TELEGRAM_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


def _check_selector(css: str) -> str | None:
    from selectolax.lexbor import LexborHTMLParser

    try:
        LexborHTMLParser("<p></p>").css(css)
    except Exception as exc:
        return f"'{shown(css)}' is not a valid CSS selector ({shown(exc)})"
    return None


_SCHEDULE_KEYS = ("every", "cron", "timezone")
_POLITENESS_KEYS = ("allow_private_addresses", "robots", "verify_tls")
_SOURCE_KEYS = (
    "id", "name", "url", "kind", *_SCHEDULE_KEYS, "enabled", "tags", "content_selector",
    "selectors", "pagination_depth", "split", "include", "exclude", "backfill", "original",
    "language", *_POLITENESS_KEYS, "render", "channel", "imap", "watch", "archive", "capture",
)
_DEFAULT_KEYS = ("kind", *_SCHEDULE_KEYS, "enabled", "tags", "backfill", "pagination_depth",
                 "language", *_POLITENESS_KEYS, "render", "watch", "archive", "capture")
_IMAP_KEYS = ("host", "port", "user", "folder", "security", "password_env", "move_to")
#: A language code as sources.yaml takes it: ISO 639-1, optionally with a region (`pt-BR`).
_LANGUAGE = re.compile(r"^[A-Za-z]{2}(-[A-Za-z]{2})?$")
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


def _archive(f: _Fields, inherited: str | None = None) -> str | None:
    """`archive:` of a source, a digest or the defaults: `wayback`, or `none` (not archived,
    whatever the defaults say)."""
    value = f.text("archive")
    if value is None:
        return inherited
    if value not in ARCHIVES:
        f.err("archive", f"must be one of {', '.join(ARCHIVES)}, not '{shown(value)}'")
        return inherited
    return None if value == "none" else value


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
        # statements that arrive whole from a channel (a post, a mail) have no page to check
        watch=f.flag("watch", defaults.get("watch", kind not in ("telegram", "imap"))),
        capture=f.flag("capture", defaults.get("capture", True)),
        # the primary subtag: links and documents name their language by it
        language=language.split("-")[0].lower() if language else None,
        archive=_archive(f, defaults.get("archive")),
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
