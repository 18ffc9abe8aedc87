"""Reading YAML: the fast path gives what ruamel.yaml's round-trip loader gives, or declines.

Every comparison reads the same text twice: with collector.yamlread's libyaml-based fast path
and with ruamel.yaml itself (`YAML(typ="rt")`, the loader the configuration always used), and
compares values, their types as the validator sees them (bool, int, float, text, null) and the
line of every key and item.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.comments import TaggedScalar
from ruamel.yaml.error import YAMLError

from collector import limits, yamlread
from collector.errors import ConfigError
from collector.yamlread import YamlList, YamlMap, YamlTagged, read_yaml

ROOT = Path(__file__).resolve().parents[1]
PATH = Path("sources.yaml")

pytestmark = pytest.mark.skipif(not yamlread.FAST_PATH_AVAILABLE,
                                reason="PyYAML's C extension is not installed")


# --- the two readings, in one shape -----------------------------------------------------------

def scalar_shape(x: Any) -> tuple[Any, ...]:
    """A scalar as the validator sees it: its kind (bool before int) and its text."""
    if x is None:
        return ("null",)
    if isinstance(x, bool):
        return ("bool", x)
    if isinstance(x, int):
        return ("int", int(x), str(x))
    if isinstance(x, float):
        return ("float", "nan" if math.isnan(x) else float(x), str(x))
    if isinstance(x, str):
        return ("str", str(x))
    if isinstance(x, (TaggedScalar, YamlTagged)):
        return ("tagged", str(x))
    if isinstance(x, date):
        return ("date", str(x))
    return ("other", type(x).__name__, str(x))


def lc_line(get: Any) -> int | None:
    """A line from ruamel's `lc` (1-based), or None where it has none (merged keys)."""
    try:
        return int(get()[0]) + 1
    except (KeyError, TypeError, IndexError):
        return None


def ruamel_shape(x: Any) -> Any:
    """ruamel.yaml's round-trip result, with the lines its `lc` attributes hold (1-based)."""
    if isinstance(x, Mapping):
        return ("map", x.lc.line + 1, [(scalar_shape(k), lc_line(lambda k=k: x.lc.key(k)),
                                        ruamel_shape(v)) for k, v in x.items()])
    if isinstance(x, list):
        return ("seq", x.lc.line + 1, [(lc_line(lambda i=i: x.lc.item(i)), ruamel_shape(v))
                                       for i, v in enumerate(x)])
    return scalar_shape(x)


def fast_shape(x: Any) -> Any:
    if isinstance(x, YamlMap):
        return ("map", x.line, [(scalar_shape(k), x.key_lines.get(k), fast_shape(v))
                                for k, v in x.items()])
    if isinstance(x, YamlList):
        return ("seq", x.line, [(x.item_lines[i] or None, fast_shape(v))
                                for i, v in enumerate(x)])
    assert not isinstance(x, (dict, list)), type(x)
    return scalar_shape(x)


def ruamel_load(text: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # a re-used anchor warns there
        return YAML(typ="rt").load(io.StringIO(text))


def fast(text: str) -> Any:
    """The fast path alone; raises yamlread._Decline where it leaves the text to ruamel."""
    return yamlread._FastReader(text, PATH).document()


def declines(text: str) -> bool:
    try:
        fast(text)
    except yamlread._Decline:
        return True
    return False


def assert_same(text: str) -> None:
    assert fast_shape(fast(text)) == ruamel_shape(ruamel_load(text))


# --- scalars ----------------------------------------------------------------------------------

# Plain scalars whose meaning differs between YAML 1.1 and 1.2 or between schemas, numbers in
# every notation the core schema has, and near misses of each.
PLAIN_SCALARS = [
    # booleans: only true/false in YAML 1.2
    "true", "True", "TRUE", "false", "False", "FALSE", "tRue", "on", "On", "ON", "off", "Off",
    "yes", "Yes", "YES", "no", "No", "NO", "y", "Y", "n", "N", "truex", "f",
    # null
    "null", "Null", "NULL", "nUll", "~", "~a", "nil", "None",
    # integers: decimal, octal (0o only), hex, binary, underscores, signs, leading zeros
    "0", "-0", "+0", "7", "-7", "+7", "017", "0017", "08", "09", "0_7", "0o17", "-0o17", "+0o7",
    "0o0", "0o8", "0x1F", "0x1f", "-0x1f", "0X1F", "0xGG", "0b101", "-0b11", "0b102", "0B1",
    "1_000", "1__0_", "_1", "1_", "+_1", "12345678901234567890123",
    # sexagesimal is text in YAML 1.2
    "12:30", "12:30:45", "190:20:30", "1:30.5", "-1:30",
    # floats
    "1.5", "1.", "-1.", ".5", "-.5", "+.5", "1e3", "1E3", "-1e3", "1.5e-3", "1e+3", "1.5E+03",
    ".5e3", ".5e+3", "1_0.5_0", "0.", "00.5", "1e", "e3", "1.5.2", "-0.0", "1e400",
    ".inf", ".Inf", ".INF", "-.inf", "+.Inf", ".iNf", "inf", "infinity", ".nan", ".NaN",
    ".NAN", "-.nan", "nan", "NaN",
    # text that looks a little like something else
    "1.2.3", "127.0.0.1", "1-2", "1h30m", "30m", "+", "-a", ".", "..", "0x", "0b", "0o",
    "1,000", "2024", "20240101", "2024-01", "a:b", "http://a.org/x?y=1#z", "x # not a comment",
    "=a", "<<a", "<", "é", "Ünïcödé", "a  b",
]


@pytest.mark.parametrize("plain", PLAIN_SCALARS)
def test_a_plain_scalar_means_what_ruamel_makes_of_it(plain):
    assert_same(f"value: {plain}\nlist: [{plain}]\n" if "#" not in plain else f"value: {plain}\n")
    if "#" not in plain:    # as a key; NaN keys are left to ruamel (identity decides there)
        text = f"{plain}: key\n"
        assert fast_shape(read_yaml(text, PATH)) == ruamel_shape(ruamel_load(text))


QUOTED = ["'true'", '"on"', "'0o17'", '"1_000"', "'~'", "''", '""', '"\\t\\u00e9\\x41"',
          "'it''s'", '"a\\\nb"', '"\\/"', "'multi\n  line'", '"null"', "'.inf'"]


@pytest.mark.parametrize("quoted", QUOTED)
def test_a_quoted_scalar_is_always_text(quoted):
    text = f"value: {quoted}\n"
    assert_same(text)
    assert isinstance(fast(text)["value"], str)


@pytest.mark.parametrize("text", [
    "value: |\n  one\n  two\n", "value: |-\n  one\n", "value: |+\n  one\n\n",
    "value: >\n  folded\n  text\n\n  para\n", "value: >-\n  x\n", "value: |2\n    indented\n",
    "value: plain\n  continued\n  lines\n", "value:\n", "value: ~\n", "? complex\n: key\n",
])
def test_block_and_multi_line_scalars_read_the_same(text):
    assert_same(text)


def test_yaml_1_2_numbers_and_booleans_have_their_1_2_values():
    """The figures the 1.1 reading would change: on/yes stay text, 017 stays seventeen."""
    got = fast("a: on\nb: yes\nc: 017\nd: 0o17\ne: 1_000\nf: 12:30\ng: 0x1F\nh: .5\n")
    assert got == {"a": "on", "b": "yes", "c": 17, "d": 15, "e": 1000, "f": "12:30", "g": 31,
                   "h": 0.5}


# Left to the reference loader: the fast path declines, and reading gives ruamel's result.
DECLINED = [
    "value: 2024-01-01\n",                       # timestamps
    "value: 2024-1-1 10:00:00\n",
    "value: 2024-01-01T10:00:00Z\n",
    "2024-01-01: date key\n",
    "value: !!str 123\n",                        # explicit tags
    "value: !custom x\n",
    "value: ! x\n",
    "value: !!python/object/new:os.system [ls]\n",
    "%YAML 1.1\n---\nvalue: on\n",               # directives (1.1 would make 'on' true)
    "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n",  # merge keys
    "value: =\n",
    "value: &t true\n",                          # an anchored boolean (int-like in ruamel)
    "a: &x 1\nb: &x 2\nc: *x\n",                 # a re-used anchor
    "a: 1\na: 2\n",                              # duplicate keys
    "[a, b]: 1\n",                               # collections as keys
    "{a: 1}: 2\n",
    "value: a\x85b\n",                           # NEL, a line break in 1.1 only
    "a: 'p\tq'\nc: x\ty\n",                        # tabs
    "a: |+\r\n  x\r\n\r\n",                          # carriage returns
    "a: >#\n  x\n",                              # a block scalar header ruamel refuses
    "a: |\n  \n    x\n",                          # blank lines before a block scalar
    "a: 1\n...\n...\n",                           # explicit document ends
    "a: x\n\ufeffb: y\n",                          # a byte order mark after the start
    "a: 1\n---\nb: 2\n",                         # two documents
    "a: [1, 2\n",                                # syntax errors
    "a: *nowhere\n",                             # an undefined alias
    "value: 0b_\n",                              # an int pattern without digits
    "value: ._\n",
    "value: -_\n",
    "value: 2024-13-45\n",                       # an impossible date
]


@pytest.mark.parametrize("text", DECLINED)
def test_what_the_fast_path_leaves_alone_reads_as_ruamel_reads_it(text):
    assert declines(text)
    try:
        expected = ("ok", ruamel_shape(ruamel_load(text)))
    except YAMLError as exc:
        expected = ("yaml-error", type(exc).__name__)
    except Exception as exc:  # ruamel itself fails on a few of these with a bare ValueError
        expected = ("crash", type(exc).__name__)
    try:
        got = ("ok", fast_shape(read_yaml(text, PATH)))
    except ConfigError as exc:
        got = ("error", exc.problems)
    if expected[0] == "ok":
        assert got == expected
    else:
        # an error either way, now always a ConfigError naming the file
        assert got[0] == "error" and got[1][0].startswith("sources.yaml")


# --- documents --------------------------------------------------------------------------------

DOCUMENTS = {
    "shipped sources.yaml": (ROOT / "sources.yaml").read_text(encoding="utf-8"),
    "aliases": ("defaults: &d\n  tags: &t [a, b]\nsources:\n  - id: x\n    tags: *t\n"
                "  - &s\n    id: y\n    url: https://y.org/\n  - *s\n  - {id: z, tags: *t}\n"),
    "flow and comments": ("# head\nsources: [  # open\n  {id: a, url: 'https://a.org/'},\n"
                          "  # between\n  {id: b,\n   url: \"https://b.org/\"}\n]  # close\n"),
    "bom": "\ufeffsources:\n  - id: a\n",
    "explicit document": "--- # start\nsources:\n- id: a\n",
    "empty values": "settings:\ndefaults: {}\nsources: []\nfilters:\n  include:\n",
    "nested lists": "a:\n- - 1\n  - 2\n- - - 3\n-\n  - 4\n",
    "indentless": "sources:\n- id: a\n  tags:\n  - x\n  - y\n- id: b\n",
    "comment lines before items": "sources:\n  # one\n\n  - id: a  # trailing\n\n\n  # two\n"
                                  "  - id: b\n",
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_a_document_reads_with_the_same_values_and_lines(name):
    assert_same(DOCUMENTS[name])


def test_an_empty_document_is_none():
    assert fast("") is None and fast("# only a comment\n") is None and fast("---\n") is None


def test_without_the_c_extension_the_reference_loader_gives_the_same_tree(monkeypatch):
    text = DOCUMENTS["shipped sources.yaml"]
    want = fast_shape(read_yaml(text, PATH))
    monkeypatch.setattr(yamlread, "FAST_PATH_AVAILABLE", False)
    assert fast_shape(read_yaml(text, PATH)) == want


# --- generated documents ----------------------------------------------------------------------

WORDS = ["id", "url", "on", "yes", "no", "true", "null", "~", "0o17", "017", "1_000", "12:30",
         "1e3", ".5", ".inf", "0x1F", "a b", "-", "x:y", "#c", "'q'", '"d"', "", " ", "[",
         "}", "&a", "*a", "!t", "|", ">", "%", "@", "`", "?", "2024-01-01", "é", "\t"]
scalar_text = st.one_of(st.sampled_from(WORDS),
                        st.text(alphabet="ab01._-+:# '\"~eExo[]{},!&*|>?\t", max_size=8))


def render_scalar(draw: Any, value: str) -> str:
    style = draw(st.sampled_from(["plain", "plain", "single", "double"]))
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'
    return value


@st.composite
def documents(draw: Any) -> str:
    lines: list[str] = []

    def block(indent: int, depth: int) -> None:
        kind = draw(st.sampled_from(["map", "seq"]))
        for _ in range(draw(st.integers(1, 3))):
            pad = " " * indent
            if draw(st.integers(0, 5)) == 0:
                lines.append(pad + "# " + draw(st.sampled_from(["note", "- x", "a: b"])))
            if draw(st.integers(0, 6)) == 0:
                lines.append("")
            lead = pad + ("- " if kind == "seq" else
                          render_scalar(draw, draw(scalar_text)) + ":")
            if depth < 3 and draw(st.integers(0, 2)) == 0:
                if draw(st.booleans()):
                    items = [render_scalar(draw, draw(scalar_text))
                             for _ in range(draw(st.integers(0, 3)))]
                    lines.append(f"{lead} [{', '.join(items)}]")
                else:
                    lines.append(lead.rstrip())
                    block(indent + draw(st.sampled_from([2, 4])), depth + 1)
            else:
                sep = "" if kind == "seq" else " "
                lines.append(lead + sep + render_scalar(draw, draw(scalar_text)))

    block(0, 0)
    return "\n".join(lines) + "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_a_generated_document_reads_as_ruamel_reads_it_or_is_left_to_it(text):
    """Whatever the fast path accepts, ruamel accepts with the same values and lines."""
    try:
        got = fast(text)
    except yamlread._Decline:
        return
    assert fast_shape(got) == ruamel_shape(ruamel_load(text)), text


@settings(max_examples=400, deadline=None)
@given(scalar_text)
def test_a_generated_scalar_reads_as_ruamel_reads_it_or_is_left_to_it(value):
    text = f"k: {value}\n"
    try:
        got = fast(text)
    except yamlread._Decline:
        return
    assert fast_shape(got) == ruamel_shape(ruamel_load(text)), text


# --- hostile input ----------------------------------------------------------------------------

def billion_laughs(levels: int = 9, fan: int = 10) -> str:
    lines = ['lol0: &l0 ["lol"]']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*l{i - 1}"] * fan)
        lines.append(f"lol{i}: &l{i} [{refs}]")
    return "\n".join(lines) + f"\nsources: *l{levels}\n"


def test_a_billion_laughs_document_is_refused_before_it_is_walked():
    with pytest.raises(ConfigError) as err:
        read_yaml(billion_laughs(), PATH)
    assert "values (an alias counts as the values it repeats)" in str(err.value)
    assert str(err.value).startswith("sources.yaml:")


def test_a_billion_laughs_document_taking_the_reference_path_is_refused_too():
    text = "tagged: !!str x\n" + billion_laughs()        # the tag sends it to ruamel
    assert declines(text)
    with pytest.raises(ConfigError) as err:
        read_yaml(text, PATH)
    assert "values (an alias counts as the values it repeats)" in str(err.value)


def test_aliases_within_the_bound_are_shared_not_copied():
    got = read_yaml("a: &x [1, 2]\nb: *x\nc: *x\n", PATH)
    assert got["a"] == [1, 2] and got["b"] is got["a"] and got["c"] is got["a"]


def test_an_alias_inside_its_own_anchor_reads_as_null_as_in_ruamel():
    """A collection cannot contain itself: the inner alias is null there, and so here."""
    for text in ("a: &x [1, *x]\n", "a: &x {b: *x}\n"):
        assert declines(text)
        assert fast_shape(read_yaml(text, PATH)) == ruamel_shape(ruamel_load(text))
    assert read_yaml("a: &x [1, *x]\n", PATH) == {"a": [1, None]}


@pytest.mark.parametrize("text", [
    "a: " + "[" * 100_000 + "]" * 100_000 + "\n",                   # libyaml's composer crashed
    "a: " + "{b: " * 5_000 + "1" + "}" * 5_000 + "\n",
    "a:\n" + "- " * 50_000 + "x\n",
])
def test_deep_nesting_is_a_clear_error_not_a_crash(text):
    with pytest.raises(ConfigError) as err:
        read_yaml(text, PATH)
    assert f"nested more than {limits.CONFIG_MAX_DEPTH} levels deep" in str(err.value)


def test_deep_nesting_on_the_reference_path_is_a_clear_error_too():
    text = "t: !!str x\na: " + "[" * 5_000 + "]" * 5_000 + "\n"
    assert declines(text)
    with pytest.raises(ConfigError) as err:
        read_yaml(text, PATH)
    assert "nested more than" in str(err.value)


def test_nesting_up_to_the_bound_is_read():
    depth = limits.CONFIG_MAX_DEPTH
    got = read_yaml("[" * depth + "]" * depth, PATH)
    for _ in range(depth - 1):
        got = got[0]
    assert got == []


def test_a_text_beyond_the_size_bound_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "CONFIG_MAX_CHARS", 100)
    read_yaml("a: " + "x" * 90, PATH)
    with pytest.raises(ConfigError) as err:
        read_yaml("a: " + "x" * 100, PATH)
    assert err.value.problems == ["sources.yaml: the file has 103 characters; a configuration "
                                  "may have at most 100"]


def test_tags_never_construct_objects():
    got = read_yaml("a: !!python/object/apply:os.system ['true']\nb: !!python/name:os.system\n"
                    "c: !x y\n", PATH)
    assert isinstance(got["a"], YamlList) and list(got["a"]) == ["true"]
    assert got["b"] == YamlTagged("tag:yaml.org,2002:python/name:os.system", "")
    assert got["c"] == YamlTagged("!x", "y")


def test_a_document_beyond_the_value_bound_is_refused_on_both_paths(monkeypatch):
    monkeypatch.setattr(limits, "CONFIG_MAX_VALUES", 50)
    fine, big = "- a\n" * 40, "- a\n" * 60
    assert len(read_yaml(fine, PATH)) == 40
    for text in (big, "t: !!str x\nl:\n" + big):           # fast path, reference path
        with pytest.raises(ConfigError) as err:
            read_yaml(text, PATH)
        assert "more than 50 values" in str(err.value)


def test_the_keys_of_many_mappings_are_one_string_each():
    """The fast path keeps one string per key however many items repeat it (a configuration
    of thousands of sources: their nodes are what a read holds at its peak)."""
    text = "".join(f"- id: s{i}\n  url: http://x/{i}\n" for i in range(3))
    items = read_yaml(text, Path("sources.yaml"))
    keys = [list(item) for item in items]
    assert keys == [["id", "url"]] * 3
    assert len({id(k) for ks in keys for k in ks}) == 2
    assert [item.key_lines["url"] for item in items] == [2, 4, 6]
