"""The configuration validator's tools: problems collected with their lines, typed access to
one YAML mapping, and the checks of values every section uses (URLs, ids, echoed values).

config.py validates the file's top level, settings and digests with them; config_sources.py
validates the source entries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .schema import format_duration, parse_duration

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


def _item_fields(node: Any, what: str, index: int, line: int, problems: _Problems,
                 keys: tuple[str, ...]) -> _Fields | None:
    """The fields of one list item, named by its id in messages when it has one."""
    label = f"{what} '{shown(node['id'])}'" if isinstance(node, Mapping) and "id" in node \
        else f"{what}s[{index}]"
    f = _Fields(node, label, line, problems, keys)
    return f if isinstance(node, Mapping) else None
