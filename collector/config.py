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
the YAML text is read by yamlread.py. This module validates the top level, `settings:`,
`defaults:`, `filters:` and `digests:` and reads the environment; the `sources:` entries are
validated in config_sources.py, with the tools (problems, typed fields, value checks) of
config_fields.py.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import limits
from .config_fields import (
    _DOTS_AND_DIGITS,
    _ID,
    _IPV4,
    _check_url,
    _Fields,
    _item_fields,
    _item_line,
    _Problems,
    shown,
)
from .config_sources import _DEFAULT_KEYS, _archive, _rules, _schedule, _source
from .errors import ConfigError
from .schema import (
    DIGEST_CHANNELS,
    RENDER_MODES,
    SOURCE_KINDS,
    CaptureSettings,
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
    WatchSettings,
    WaybackSettings,
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
    "WatchSettings",
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
    "COLLECTOR_WAYBACK_ACCESS_KEY": "access key of the Internet Archive account that saves "
                                    "statements to the Wayback Machine (`archive: wayback`)",
    "COLLECTOR_WAYBACK_SECRET": "its secret (only ever read from the environment)",
}

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

_DIGEST_KEYS = ("id", "channel", "schedule", "timezone", "title", "sources", "tags", "include",
                "exclude", "to", "urls", "full_text", "paragraphs", "health_after", "group_by",
                "archive")
#: How a digest may group its statements (`group_by`); none keeps them in order of arrival.
DIGEST_GROUPINGS = ("organisation", "tag")
_SETTINGS_KEYS = ("data_dir", "database_url", "bind", "contact", "public_url", "template_dir",
                  "smtp", "fetch", "tick", "http_max_connections", "watch", "wayback",
                  "capture")
_WAYBACK_KEYS = ("url", "per_minute", "skip_within")
_FETCH_KEYS = ("concurrency", "per_host_concurrency", "per_host_delay", "poll_concurrency",
               "deadline", "parse_workers")
_WATCH_KEYS = ("after", "batch", "every")
_CAPTURE_KEYS = ("enabled", "dir", "rotate_mb", "keep_days", "keep_mb")
_SMTP_KEYS = ("host", "port", "security", "username", "from", "timeout", "ca_file")


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
        health_after_s=f.duration("health_after", 24 * 3600), group_by=group_by,
        archive=_archive(f), line=line,
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
    wf = _Fields(f.node.get("watch") or {} if f.has("watch") else {}, "settings: watch",
                 f.line_of("watch"), problems, _WATCH_KEYS)
    return Settings(
        data_dir=data_dir, database_url=db_url, bind=bind, fetch=fetch,
        watch=_watch_settings(wf),
        tick_s=float(f.duration("tick", limits.TICK_S, minimum=1)),
        http_max_connections=f.whole("http_max_connections", 0, minimum=1) or None,
        contact=env.get("COLLECTOR_CONTACT") or f.text("contact"),
        public_url=env.get("COLLECTOR_PUBLIC_URL") or f.text("public_url"),
        template_dir=template_path,
        smtp=smtp,
        wayback=_wayback(f, env, problems),
        capture=_capture(f, base, problems),
    )


def _watch_settings(wf: _Fields) -> WatchSettings:
    """`settings: watch`: `after` (a list of ages after collection, ascending; [] turns
    watching off), `batch` (checks per round) and `every` (how often a round runs)."""
    after: tuple[int, ...] = limits.WATCH_AFTER_S
    if wf.has("after"):
        node = wf.node["after"]
        if node is None:
            node = []
        if not isinstance(node, list):
            wf.err("after", "must be a list of ages such as [1d, 7d, 30d, 90d]")
        else:
            ages: list[int] = []
            for value in node:
                try:
                    ages.append(parse_duration(value))
                except ValueError as exc:
                    wf.err("after", shown(exc, 200))
                    break
            else:
                if any(a < limits.MIN_INTERVAL_S for a in ages):
                    wf.err("after", "ages must be at least "
                                    f"{format_duration(limits.MIN_INTERVAL_S)}")
                elif any(b <= a for a, b in itertools.pairwise(ages)):
                    wf.err("after", "ages must grow from one to the next (e.g. 1d, 7d, 30d)")
                else:
                    after = tuple(ages)
    return WatchSettings(
        after_s=after, batch=wf.whole("batch", limits.WATCH_BATCH, minimum=1),
        every_s=wf.duration("every", limits.WATCH_EVERY_S, minimum=limits.MIN_INTERVAL_S))


def _wayback(f: _Fields, env: Mapping[str, str], problems: _Problems) -> WaybackSettings:
    """`settings: wayback:` and the account's keys from the environment."""
    wf = _Fields(f.node.get("wayback") or {} if f.has("wayback") else {}, "settings: wayback",
                 f.line_of("wayback"), problems, _WAYBACK_KEYS)
    url = wf.text("url", WaybackSettings.url) or WaybackSettings.url
    if problem := _check_url(url):
        wf.err("url", problem)
    return WaybackSettings(
        url=url.rstrip("/"),
        per_minute=wf.whole("per_minute", limits.WAYBACK_PER_MINUTE, minimum=1, maximum=60),
        skip_within_s=wf.duration("skip_within", limits.WAYBACK_SKIP_WITHIN_S),
        access_key=env.get("COLLECTOR_WAYBACK_ACCESS_KEY") or None,
        secret=env.get("COLLECTOR_WAYBACK_SECRET") or None)


def _capture(f: _Fields, base: Path, problems: _Problems) -> CaptureSettings:
    """`settings: capture`: WARC capture on or off, its directory, rotation and retention."""
    cf = _Fields(f.node.get("capture") or {} if f.has("capture") else {}, "settings: capture",
                 f.line_of("capture"), problems, _CAPTURE_KEYS)
    mb = 1024 * 1024
    directory = cf.text("dir")
    keep_days = cf.whole("keep_days", 0, minimum=1) if cf.has("keep_days") else 0
    keep_mb = cf.whole("keep_mb", 0, minimum=1) if cf.has("keep_mb") else 0
    return CaptureSettings(
        enabled=cf.flag("enabled", True),
        dir=(base / directory) if directory else None,
        rotate_bytes=cf.whole("rotate_mb", 1024, minimum=1) * mb,
        keep_days=keep_days or None, keep_bytes=keep_mb * mb or None)


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
                        ("robots", defaults_f.flag), ("verify_tls", defaults_f.flag),
                        ("watch", defaults_f.flag), ("capture", defaults_f.flag)):
        if defaults_f.has(key):
            defaults[key] = getter(key, True)
    for key in ("backfill", "pagination_depth"):
        if defaults_f.has(key):
            defaults[key] = defaults_f.whole(key, 0)
    if defaults_f.has("tags"):
        defaults["tags"] = defaults_f.str_list("tags")
    if defaults_f.has("language"):
        defaults["language"] = defaults_f.text("language")
    if defaults_f.has("archive"):
        defaults["archive"] = _archive(defaults_f)

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
    for i in range(len(raw)):
        # each item's YAML node is let go once it is built (the tree is this read's own): the
        # nodes of 5,000 sources are about twice the size of their Sources
        node, raw[i] = raw[i], None
        line = _item_line(raw, i, top.line_of(key))
        item = build(node, i, line)
        del node
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


