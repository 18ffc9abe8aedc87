"""Reading sources.yaml: YAML text → plain Python values that remember their lines.

`read_yaml` owns the read path of the configuration (editing, which must keep comments, stays
with ruamel.yaml in opml.py). Mappings come back as `YamlMap` (a dict with `line` and
`key_lines`), sequences as `YamlList` (a list with `line` and `item_lines`), scalars as str,
int, float, bool or None; lines are 1-based.

The meaning of the text is the one ruamel.yaml's round-trip loader gives it (YAML 1.2: `on`,
`yes` and `no` are text; `0o17` is octal, `017` is decimal 17, `1_000` is 1000, `12:30` is
text), and every error message is the one that loader writes. Two ways lead there:

* the fast path: libyaml's event parser (PyYAML's C extension) and a small tree builder here
  that resolves plain scalars by the YAML 1.2 core schema as ruamel.yaml reads it. It takes
  the common subset of YAML and declines everything else;
* the reference path: ruamel.yaml's round-trip loader, converted to the same shapes. It runs
  when the C extension is missing and for every document the fast path declines: syntax
  errors (so the message is ruamel's), explicit tags, `%` directives, merge keys (`<<`),
  timestamps, duplicate keys, re-used anchors, anchored booleans, collections as keys and
  tabs and the rare line-break characters NEL, LS and PS.

Both paths share the bounds on hostile input: the size of the text, the nesting depth, and the
number of values once every alias is expanded (a "billion laughs" document names few values
but expands to billions; it is refused before anything walks it).

`decode` turns the file's bytes into that text: UTF-8 only (a UTF-16 or UTF-32 file is named
as such, a bad byte by its line and column). Every error names the file and, wherever the text
has one, the line: a control character, nesting too deep even for a loader's own stack.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from . import limits
from .errors import ConfigError

try:  # the C extension of PyYAML; without it every document takes the reference path
    from yaml import YAMLError as _LibyamlError
    from yaml import events as _ev
    from yaml._yaml import CParser as _CParser

    FAST_PATH_AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the installation
    FAST_PATH_AVAILABLE = False


class YamlMap(dict):  # type: ignore[type-arg]
    """A YAML mapping: its own line and the line of each key (1-based)."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class YamlList(list):  # type: ignore[type-arg]
    """A YAML sequence: its own line and the line of each item (1-based; 0 where the
    reference loader knows none, as for the items of a tagged sequence)."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


@dataclass(frozen=True)
class YamlTagged:
    """A scalar under an explicit tag (`!foo bar`, `!!str 1`): kept as text, never constructed
    into an object. It is not a `str`, so the validator rejects it where text is expected, as
    the round-trip loader's TaggedScalar was rejected."""

    tag: str
    value: str

    def __str__(self) -> str:
        return self.value


def decode(data: bytes, path: Path) -> str:
    """The text of a configuration file, which must be UTF-8 (a byte-order mark is allowed).
    Raises ConfigError naming the line of the first byte that is not UTF-8, or saying which
    other Unicode encoding the file is in."""
    for start, name, how in _OTHER_UNICODE:
        if start.fullmatch(data[:4]):
            raise ConfigError([f"{path}:1: the file is {name} ({how}); configuration files "
                               f"must be UTF-8: convert it, e.g. with iconv -f {name} -t UTF-8"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(data, exc.start)
        bad = data[exc.start:exc.start + 1].hex()
        raise ConfigError([f"{path}:{line}: byte 0x{bad} at column {column} is not UTF-8; "
                           "configuration files must be UTF-8 (re-save the file in that "
                           "encoding)"]) from exc


def read_yaml(text: str, path: Path) -> Any:
    """The single document of `text` (the contents of `path`), or None for an empty one.

    Raises ConfigError with one message naming `path` and the line for text that is not valid
    YAML, holds characters YAML forbids, is too large, nested too deeply or expanding too far.
    """
    if len(text) > limits.CONFIG_MAX_CHARS:
        raise ConfigError([f"{path}: the file has {len(text):,} characters; a configuration "
                           f"may have at most {limits.CONFIG_MAX_CHARS:,}"])
    if FAST_PATH_AVAILABLE:
        try:
            return _FastReader(text, path).document()
        except _Decline:
            pass
    return read_yaml_reference(text, path)


# ---------------------------------------------------------------------------------------------
# Scalars: the YAML 1.2 core schema as ruamel.yaml resolves and constructs it
# ---------------------------------------------------------------------------------------------

class _Decline(Exception):
    """The fast path leaves this document to the reference loader."""


#: Characters YAML does not allow in a document (outside its printable set). Both loaders
#: refuse them; when the reference loader has, they are looked for, so the message can name
#: the line (looking for them in every document would cost a tenth of a large file's load).
_NON_PRINTABLE = re.compile(
    "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: The first bytes of a text in a Unicode encoding other than UTF-8: its byte-order mark, or
#: without one an ASCII character in the pattern of zero bytes that encoding gives it (YAML's
#: own detection). UTF-32LE's mark begins with UTF-16LE's, so the longer patterns come first.
_MARK, _ZEROS = "it starts with that byte-order mark", "zero bytes stand between the letters"
_OTHER_UNICODE = tuple((re.compile(pattern, re.S), name, how) for pattern, name, how in (
    (b"\xff\xfe\x00\x00", "UTF-32LE", _MARK), (b"\x00\x00\xfe\xff", "UTF-32BE", _MARK),
    (b"\xff\xfe.{0,2}", "UTF-16LE", _MARK), (b"\xfe\xff.{0,2}", "UTF-16BE", _MARK),
    (b"\x00\x00\x00[\x01-\x7f]", "UTF-32BE", _ZEROS),
    (b"[\x01-\x7f]\x00\x00\x00", "UTF-32LE", _ZEROS),
    (b"\x00[\x01-\x7f].?.?", "UTF-16BE", _ZEROS), (b"[\x01-\x7f]\x00.?.?", "UTF-16LE", _ZEROS)))


def _line_column(text: str | bytes, index: int) -> tuple[int, int]:
    """1-based line and column of `index` in `text`."""
    if isinstance(text, str):
        return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)
    return text.count(b"\n", 0, index) + 1, index - text.rfind(b"\n", 0, index)


# Characters the two parsers treat differently: tabs (ruamel.yaml refuses a tab in places
# libyaml allows it), carriage returns (block scalars keep them differently; load_config's
# text never has one, reading the file turns line ends into '\n') and the line breaks of
# YAML 1.1 that YAML 1.2 dropped (NEL, LS, PS); also a byte order mark after the start.
# Documents holding them are left to the reference loader rather than reasoned about here.
_LEFT_TO_REFERENCE = re.compile("[\t\r\x85\u2028\u2029]")

# Plain scalars that are not text. Each pattern is tried only for values starting with one of
# its first characters, in this order (float before int: '1e3' is a float).
_BOOL = re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z")
_NULL = re.compile(r"(?:~|null|Null|NULL)\Z")
_FLOAT = re.compile(r"""[-+]?(?:
      [0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?    # 1.5, 1., 1.5e3
    | [0-9][0-9_]*[eE][-+]?[0-9]+                  # 1e3
    | \.[0-9_]+(?:[eE][-+][0-9]+)?                 # .5, .5e+3 (the exponent needs a sign)
    | \.(?:inf|Inf|INF)
    )\Z | \.(?:nan|NaN|NAN)\Z""", re.X)
_INT = re.compile(r"[-+]?(?:0b[01_]+|0o?[0-7_]+|[0-9_]+|0x[0-9a-fA-F_]+)\Z")
# A superset of the timestamps the reference loader recognises; those are left to it.
_TIMESTAMP_LIKE = re.compile(r"[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?")
_NUMBER_START = frozenset("-+0123456789.")

# Where libyaml is more lenient than ruamel.yaml, checked in the text at the event's position:
# an anchor or alias name ends in libyaml at the first character outside [A-Za-z0-9_-]; ruamel
# reads on through ':', '?', '%', '@' and '`', so only a name followed by a space, a line end,
# ',', ']' or '}' means the same to both.
_ANCHOR_END = frozenset(" \r\n,]}")
# A block scalar's header ('|', '>-', '|2+') must end in a space or a line end for ruamel
# ('>#' is an error there, a comment in libyaml).
_BLANK_LINE = re.compile(r" *(?:\n|\Z)")
_BLOCK_HEADER = re.compile(r"(?:&[A-Za-z0-9_-]+ +)?[|>](?:[-+][1-9]?|[1-9][-+]?)?(?:[ \r\n]|\Z)")
_DIGITS = frozenset("0123456789")


def _plain(value: str) -> Any:
    """The value of a plain (unquoted) scalar."""
    if not value:
        return None
    first = value[0]
    if first in _NUMBER_START:
        if _FLOAT.match(value):
            return _float(value)
        if first != "." and _INT.match(value):
            return _int(value)
        if first in _DIGITS and _TIMESTAMP_LIKE.match(value):
            raise _Decline
        return value
    if first in "tTfF":
        return value[0] in "tT" if _BOOL.match(value) else value
    if first in "~nN":
        return None if _NULL.match(value) else value
    if value in ("<<", "="):  # merge key and the value key: left to the reference loader
        raise _Decline
    return value


def _int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits[0] == "-" else 1
    if digits[0] in "+-":
        digits = digits[1:]
    # '0b_', '-_' and the like match the pattern but hold no digits; the reference loader
    # decides what they are
    if not digits or (digits[:2] in ("0b", "0x", "0o") and len(digits) < 3):
        raise _Decline
    if digits.startswith("0b"):
        return sign * int(digits[2:], 2)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits.startswith("0o"):
        return sign * int(digits[2:], 8)
    return sign * int(digits)       # YAML 1.2: a leading zero does not make it octal


def _float(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1.0 if digits[0] == "-" else 1.0
    if digits[0] in "+-":
        digits = digits[1:]
    if digits == ".inf":
        return sign * math.inf
    if digits == ".nan":
        return math.nan
    if digits == ".":               # '._' matches the pattern; no number
        raise _Decline
    return sign * float(digits)


# ---------------------------------------------------------------------------------------------
# The fast path: libyaml events → YamlMap / YamlList
# ---------------------------------------------------------------------------------------------

class _Frame:
    """A collection being built: where it is, and the key waiting for its value."""

    __slots__ = ("anchor", "count_at_start", "is_map", "key", "key_line", "node")

    def __init__(self, node: YamlMap | YamlList, anchor: str | None, count: int):
        self.node: Any = node
        self.is_map = isinstance(node, YamlMap)
        self.anchor = anchor
        self.count_at_start = count
        self.key: Any = _NO_KEY
        self.key_line = 0


_NO_KEY = object()


class _FastReader:
    def __init__(self, text: str, path: Path):
        self.text = text
        self.path = path
        # anchor → (value, line, expanded size); size None while the collection is open
        self.anchors: dict[str, tuple[Any, int, int | None]] = {}
        self.count = 0

    def document(self) -> Any:
        if _LEFT_TO_REFERENCE.search(self.text) or self.text.find("\ufeff", 1) >= 0:
            raise _Decline      # (a byte order mark is read alike only at the very start)
        try:
            parser = _CParser(self.text)
        except (_LibyamlError, UnicodeError, ValueError) as exc:
            raise _Decline from exc
        try:
            return self._document(parser)
        except _LibyamlError as exc:
            mark = getattr(exc, "problem_mark", None)
            if mark is not None and "nesting depth" in str(getattr(exc, "problem", "")):
                # libyaml's own bound (1,000 levels) lies beyond ours: too deep for both
                raise _too_deep(self.path, mark.line + 1) from exc
            raise _Decline from exc
        except (UnicodeError, ValueError, RecursionError) as exc:
            raise _Decline from exc
        finally:
            parser.dispose()

    def _document(self, parser: Any) -> Any:
        parser.get_event()                                   # stream start
        event = parser.get_event()
        if isinstance(event, _ev.StreamEndEvent):
            return None
        if event.version is not None or event.tags:           # %YAML / %TAG directives
            raise _Decline
        root = self._root(parser)
        if parser.get_event().explicit:
            raise _Decline      # '...': libyaml takes a second one that ruamel.yaml refuses
        if not isinstance(parser.get_event(), _ev.StreamEndEvent):
            raise _Decline                                   # a second document
        return root

    def _check_name(self, sigil: str, event: Any) -> None:
        """Decline unless ruamel reads the same anchor or alias name at this event."""
        token = sigil + event.anchor
        start = self.text.find(token, event.start_mark.index)
        if start < 0:
            raise _Decline
        after = self.text[start + len(token):start + len(token) + 1]
        if after and after not in _ANCHOR_END:
            raise _Decline

    def _lenient_block_scalar(self, index: int) -> bool:
        """Whether libyaml may have taken a block scalar that ruamel.yaml refuses: a header
        not ending in a space or line end, or blank lines right after the header (ruamel.yaml
        refuses more indented ones)."""
        if not _BLOCK_HEADER.match(self.text, index):
            return True
        end = self.text.find("\n", index)
        return end >= 0 and _BLANK_LINE.match(self.text, end + 1) is not None

    def _too_big(self, line: int) -> ConfigError:
        return _too_many_values(self.path, line)

    def _root(self, parser: Any) -> Any:
        """Build the document's node from its events, with an explicit stack (no recursion)."""
        stack: list[_Frame] = []
        text = self.text
        anchors = self.anchors
        max_values = limits.CONFIG_MAX_VALUES
        scalar_t, alias_t = _ev.ScalarEvent, _ev.AliasEvent
        map_t, seq_t = _ev.MappingStartEvent, _ev.SequenceStartEvent
        while True:
            event = parser.get_event()
            kind = type(event)
            line = event.start_mark.line + 1
            closed = False
            if kind is scalar_t:
                if event.tag is not None:
                    raise _Decline
                style = event.style
                if style == "":
                    value = _plain(event.value)
                else:
                    value = event.value
                    if style in "|>" and self._lenient_block_scalar(event.start_mark.index):
                        raise _Decline
                self.count += 1
                if event.anchor is not None:
                    if event.anchor in anchors or isinstance(value, bool):
                        # re-used anchors warn in the reference loader; an anchored boolean
                        # becomes an int-like object there
                        raise _Decline
                    self._check_name("&", event)
                    anchors[event.anchor] = (value, line, 1)
            elif kind is alias_t:
                if event.anchor not in anchors:
                    raise _Decline                           # its error message is ruamel's
                self._check_name("*", event)
                value, line, size = anchors[event.anchor]
                if size is None:
                    raise _Decline      # an alias inside its own anchor: null in ruamel.yaml
                self.count += size
            elif kind is map_t or kind is seq_t:
                if event.tag is not None:
                    raise _Decline
                if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
                    raise _Decline                           # a collection as a key
                if event.flow_style and kind is map_t and \
                        text[event.start_mark.index:event.start_mark.index + 1] != "{":
                    raise _Decline                           # '[a: b]', '[? x]'
                if len(stack) >= limits.CONFIG_MAX_DEPTH:
                    raise _too_deep(self.path, line)
                self.count += 1
                node: YamlMap | YamlList = YamlMap(line) if kind is map_t else YamlList(line)
                if event.anchor is not None:
                    if event.anchor in anchors:
                        raise _Decline
                    self._check_name("&", event)
                    anchors[event.anchor] = (node, line, None)
                stack.append(_Frame(node, event.anchor, self.count))
                continue
            else:                                            # the end of a collection
                frame = stack.pop()
                if frame.is_map and frame.key is not _NO_KEY:
                    raise _Decline                           # cannot happen with libyaml
                value, line = frame.node, frame.node.line
                if frame.anchor is not None:
                    anchors[frame.anchor] = (value, line,
                                             self.count - frame.count_at_start + 1)
                closed = True
            if self.count > max_values:
                raise self._too_big(line)
            if not stack:
                return value
            top = stack[-1]
            if top.is_map:
                if top.key is _NO_KEY:
                    if closed or isinstance(value, (YamlMap, YamlList)):
                        raise _Decline                       # a collection as a key
                    if isinstance(value, float) and math.isnan(value):
                        raise _Decline                       # NaN keys: identity decides
                    if value in top.node:
                        raise _Decline                       # duplicate key: ruamel's message
                    # keys repeat in every item (`id`, `url`, ...): one string each
                    top.key = sys.intern(value) if type(value) is str else value
                    top.key_line = line
                else:
                    mapping = top.node
                    mapping[top.key] = value
                    mapping.key_lines[top.key] = top.key_line
                    top.key = _NO_KEY
            else:
                seq = top.node
                seq.append(value)
                seq.item_lines.append(line)


# ---------------------------------------------------------------------------------------------
# The reference path: ruamel.yaml's round-trip loader
# ---------------------------------------------------------------------------------------------

def read_yaml_reference(text: str, path: Path) -> Any:
    """`text` read by ruamel.yaml's round-trip loader, converted to YamlMap / YamlList and
    plain scalars under the same bounds as the fast path."""
    import io
    import warnings

    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    if len(text) > limits.CONFIG_MAX_CHARS:
        raise ConfigError([f"{path}: the file has {len(text):,} characters; a configuration "
                           f"may have at most {limits.CONFIG_MAX_CHARS:,}"])
    try:
        with warnings.catch_warnings():
            # a re-used anchor is a warning there; the later anchor wins, as it always has
            warnings.simplefilter("ignore")
            root = YAML(typ="rt").load(io.StringIO(text))
    except MarkedYAMLError as exc:
        _refuse_control_characters(text, path, exc)
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = (exc.problem or exc.context or "not valid YAML").strip()
        raise ConfigError([f"{path}:{line}: {what} (the file is not valid YAML)"]) from exc
    except YAMLError as exc:
        _refuse_control_characters(text, path, exc)
        position = getattr(exc, "position", None)   # the reader's errors carry an offset
        where = f":{_line_column(text, position)[0]}" if isinstance(position, int) else ""
        raise ConfigError([f"{path}{where}: not valid YAML: {exc}"]) from exc
    except RecursionError as exc:
        raise _too_deep(path, _nesting_line(text, limits.CONFIG_MAX_DEPTH)) from exc
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, AssertionError) as exc:
        # scalars such as '0b_' or '2024-13-45' match a pattern but hold no value, and a few
        # odd texts trip an internal assertion of ruamel.yaml's comment handling
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from exc
    return _Converter(path).convert(root, 0, 1)


class _Converter:
    """ruamel.yaml's round-trip objects → YamlMap / YamlList / plain scalars, sharing what
    aliases share and counting each alias as the values it repeats."""

    def __init__(self, path: Path):
        self.path = path
        self.done: dict[int, tuple[Any, int]] = {}     # id → (converted, expanded size)
        self.open: set[int] = set()
        self.count = 0

    def convert(self, obj: Any, depth: int, line: int) -> Any:
        from collections.abc import Mapping, Set

        if depth > limits.CONFIG_MAX_DEPTH:
            raise _too_deep(self.path, line)
        key = id(obj)
        if key in self.done:
            converted, size = self.done[key]
            self.count += size
            self._check(line)
            return converted
        if key in self.open:
            raise ConfigError([f"{self.path}:{line}: an alias refers to a collection that "
                               "contains it (recursive aliases are not allowed)"])
        start = self.count
        self.count += 1
        self._check(line)
        out: Any
        if isinstance(obj, Mapping):
            self.open.add(key)
            out = YamlMap(_lc_line(obj, line))
            for k in obj:
                k_line = _lc_key_line(obj, k)
                ck = self._scalar(k)
                out[ck] = self.convert(obj[k], depth + 1, k_line or out.line)
                if k_line:
                    out.key_lines[ck] = k_line
            self.open.discard(key)
        elif isinstance(obj, list):
            self.open.add(key)
            out = YamlList(_lc_line(obj, line))
            for i, item in enumerate(obj):
                i_line = _lc_item_line(obj, i)      # 0: unknown (items under a tag)
                out.append(self.convert(item, depth + 1, i_line or out.line))
                out.item_lines.append(i_line)
            self.open.discard(key)
        elif isinstance(obj, Set):
            out = frozenset(self._scalar(x) for x in obj)
            self.count += len(out)
        else:
            out = self._scalar(obj)
        self.done[key] = (out, self.count - start)
        return out

    def _check(self, line: int) -> None:
        if self.count > limits.CONFIG_MAX_VALUES:
            raise _too_many_values(self.path, line)

    @staticmethod
    def _scalar(obj: Any) -> Any:
        from ruamel.yaml.comments import TaggedScalar
        from ruamel.yaml.scalarbool import ScalarBoolean

        if obj is None or type(obj) in (str, int, float, bool):
            return obj
        if isinstance(obj, bool):
            return bool(obj)
        if isinstance(obj, ScalarBoolean):
            return int(obj)     # an anchored boolean: an int there, so an int here
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj)
        if isinstance(obj, TaggedScalar):
            return YamlTagged(str(obj.tag), str(obj.value))
        if isinstance(obj, date):  # date, datetime and ruamel's TimeStamp (a datetime)
            return obj
        return obj              # bytes (!!binary), tuples (collections as keys): inert values


def _refuse_control_characters(text: str, path: Path, cause: BaseException) -> None:
    """Raise a ConfigError naming the line and column of the first character YAML does not
    allow, if `text` holds one."""
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line, column = _line_column(text, bad.start())
        raise ConfigError([f"{path}:{line}: the character U+{ord(bad.group()):04X} at column "
                           f"{column} is not allowed in YAML (a control character): "
                           "remove it"]) from cause


def _too_deep(path: Path, line: int | None) -> ConfigError:
    where = f":{line}" if line else ""
    return ConfigError([f"{path}{where}: collections are nested more than "
                        f"{limits.CONFIG_MAX_DEPTH} levels deep"])


def _nesting_line(text: str, limit: int) -> int | None:
    """The line where collections first nest more than `limit` deep, for the message when a
    loader has run out of stack on the document: flow brackets are counted (outside quotes and
    comments), block collections by their indentation and leading '- '. A locator, not a
    parser; None when it finds no such line."""
    indents: list[int] = []
    flow = 0
    for number, line in enumerate(text.split("\n"), 1):
        content = line.lstrip(" ")
        if flow == 0 and content and not content.startswith("#"):
            indent = len(line) - len(content)
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
            while content.startswith("- ") or content == "-":
                indent += 2
                indents.append(indent)
                content = content[2:].lstrip(" ")
            if len(indents) > limit:
                return number
        quote = ""
        for i, ch in enumerate(content):
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "\"'" and (i == 0 or content[i - 1] in " [{,:"):
                quote = ch
            elif ch == "#" and (i == 0 or content[i - 1] == " "):
                break
            elif ch in "[{":
                flow += 1
                if flow + len(indents) > limit:
                    return number
            elif ch in "]}":
                flow = max(flow - 1, 0)
    return None


def _too_many_values(path: Path, line: int) -> ConfigError:
    return ConfigError([f"{path}:{line}: the document holds more than "
                        f"{limits.CONFIG_MAX_VALUES:,} values (an alias counts as the values it "
                        "repeats)"])


def _lc_line(obj: Any, default: int) -> int:
    try:
        return int(obj.lc.line) + 1
    except (AttributeError, TypeError):
        return default


def _lc_key_line(obj: Any, key: Any) -> int:
    try:
        return int(obj.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return 0


def _lc_item_line(obj: Any, index: int) -> int:
    try:
        return int(obj.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return 0
