"""The fast configuration read changes nothing a user sees: the same settings, the same problems
with the same lines, the same verdict on every URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector import config, limits, yamlread
from collector.config import load_config, parse_config
from collector.config_fields import _check_url, _check_url_httpx
from collector.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not yamlread.FAST_PATH_AVAILABLE,
                                reason="PyYAML's C extension is not installed")


def outcome(text: str) -> tuple[str, object]:
    try:
        return "config", parse_config(text, Path("sources.yaml"), env={})
    except ConfigError as exc:
        return "problems", exc.problems


def both_ways(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    fast = outcome(text)
    with monkeypatch.context() as m:
        m.setattr(yamlread, "FAST_PATH_AVAILABLE", False)
        reference = outcome(text)
    return fast, reference


S = "sources:\n  - id: a\n    url: https://a.org/feed\n"

CASES = {
    # YAML 1.2 scalars reaching the validator
    "yes is text, not a flag": S + "    enabled: yes\n",
    "on is text in a list": S + "    tags: [on, off, yes, no]\n",
    "true is a flag": S + "    robots: true\n    verify_tls: True\n",
    "octal and underscores": S + "    backfill: 0o12\n    pagination_depth: 1_0\n",
    "leading zero is decimal": S + "    backfill: 010\n",
    "hex backfill": S + "    backfill: 0x1F\n",
    "float where a whole number goes": S + "    backfill: 1.5\n",
    "numbers as names": S + "    name: 1.50\n  - id: b\n    url: https://b.org/\n    name: 0o17\n",
    "sexagesimal is text": S + "    every: 1:30\n",
    "bare seconds": S + "    every: 30\n",
    "null name": S + "    name: ~\n",
    "numeric id": "sources:\n  - id: 017\n    url: https://a.org/\n",
    "float id": "sources:\n  - id: 1e3\n    url: https://a.org/\n",
    "boolean id": "sources:\n  - id: true\n    url: https://a.org/\n",
    "timestamp id": "sources:\n  - id: 2024-01-01\n    url: https://a.org/\n",
    "timestamp url": "sources:\n  - id: a\n    url: 2024-01-01 10:00:00\n",
    "impossible date": "sources:\n  - id: a\n    url: 2024-13-45\n",
    "int pattern without digits": S + "    name: 0b_\n",
    # keys
    "unknown keys everywhere": ("settings:\n  bnid: x\n  smtp:\n    hots: h\n  fetch:\n"
                                "    concurency: 3\ndefaults:\n  evry: 1h\nfilters:\n"
                                "  inclde: []\n" + S + "    tgas: [x]\n    selectors:\n"
                                "      itmes: a\n    split:\n      selektor: b\n"
                                "digests:\n  - id: d\n    chanel: feed\n"),
    "non-text keys": S + "    1: x\n    true: y\n    ~: z\n    1.5: w\n",
    "on as a key": S + "    on: x\n",
    "duplicate key": S + "    url: https://b.org/\n",
    "duplicate top-level section": S + "sources: []\n",
    "duplicate ids": S + "  - id: a\n    url: https://b.org/\n",
    # structure
    "sources not a list": "sources: {a: 1}\n",
    "source not a mapping": "sources:\n  - just text\n  - [1, 2]\n",
    "top level a list": "- a\n- b\n",
    "empty file": "",
    "only comments": "# nothing\n",
    "flow style everything": ("{settings: {bind: '127.0.0.1:1'}, sources: [{id: a, url: "
                              "'https://a.org/', tags: [x, y]}, {id: b, url: 'http://b'}]}\n"),
    "rules": (S + "    include:\n      - strike\n      - {keywords: [a, b], in: title}\n"
              "      - {regex: '(open', in: nowhere}\n      - {language: DE}\n      - {}\n"),
    "digest checks": (S + "digests:\n  - id: all\n    channel: email\n    to: [x]\n"
                      "    schedule: 'every 5 parsecs'\n    sources: [a, zz]\n"
                      "  - id: b\n    channel: apprise\n    schedule: '61 * * * *'\n"),
    # aliases, anchors, tags, merge keys
    "aliases share defaults": ("common: &c [x, y]\n" + S + "    tags: *c\n  - id: b\n"
                               "    url: https://b.org/\n    tags: *c\n"),
    "aliased sources": ("sources:\n  - &s\n    id: a\n    url: https://a.org/\n  - *s\n"),
    "anchored boolean": S + "    robots: &t true\n    verify_tls: *t\n",
    "merge key": ("base: &b\n  url: https://a.org/\n  kind: feed\nsources:\n  - <<: *b\n"
                  "    id: a\n"),
    "python tag": "sources:\n  - id: a\n    url: !!python/object/new:os.system [ls]\n",
    "str tag": "sources:\n  - id: a\n    url: !!str https://a.org/\n",
    "recursive alias": "sources: &s\n  - id: a\n    url: https://a.org/\n    tags: *s\n",
    # broken YAML
    "unclosed flow": "sources:\n  - id: a\n    url: [https://a.org\n  - id: b\n",
    "bad indentation": "sources:\n  - id: a\n   url: https://a.org/\n",
    "undefined alias": S + "    tags: *nope\n",
    "two documents": S + "---\nsources: []\n",
    "tab indentation": "sources:\n\t- id: a\n",
    "block scalar header": S + "    name: >#\n      x\n",
    # quoting and block scalars
    "quoted scalars": ("sources:\n  - id: 'a'\n    url: \"https://a.org/\"\n    name: 'it''s'\n"
                       "    content_selector: \"div.x > p\"\n"),
    "block scalar name": S + "    name: |\n      Two\n      lines\n",
    "comments between": ("# head\nsources:  # list\n  # first\n  - id: a   # id\n\n"
                         "    url: https://a.org/   # url\n"),
    "the shipped file": (ROOT / "sources.yaml").read_text(encoding="utf-8"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_config_reads_the_same_on_the_fast_and_the_reference_path(name, monkeypatch):
    fast, reference = both_ways(CASES[name], monkeypatch)
    assert fast == reference


LEFT_TO_THE_REFERENCE = {
    "anchored boolean", "bad indentation", "block scalar header", "duplicate key",
    "duplicate top-level section", "impossible date", "int pattern without digits", "merge key",
    "non-text keys",    # true == 1: a duplicate key
    "python tag", "recursive alias", "str tag", "tab indentation", "timestamp id",
    "timestamp url", "two documents", "unclosed flow", "undefined alias",
}


def test_the_fast_path_reads_every_case_but_the_unusual_ones():
    """The comparison above means something: the fast path reads the rest itself."""
    assert {name for name, text in CASES.items() if _declines(text)} == LEFT_TO_THE_REFERENCE


def _declines(text: str) -> bool:
    try:
        yamlread._FastReader(text, Path("x")).document()
    except yamlread._Decline:
        return True
    return False


def test_yaml_1_2_values_reach_the_settings():
    cfg = parse_config(S + "    backfill: 010\n    pagination_depth: 0o3\n    tags: [on, no]\n"
                       "    robots: false\n", Path("s.yaml"), env={})
    source = cfg.sources[0]
    assert source.backfill == 10 and source.pagination_depth == 3
    assert source.tags == ("on", "no") and source.robots is False


def test_a_yes_flag_is_reported_as_not_a_boolean():
    _, problems = outcome(S + "    enabled: yes\n")
    assert problems == ["sources.yaml:4: source 'a': enabled must be true or false"]


def test_a_duplicate_key_is_reported_with_its_line():
    _, problems = outcome(S + "    url: https://b.org/\n")
    assert len(problems) == 1 and problems[0].startswith("sources.yaml:4: found duplicate key "
                                                         '"url" with value "https://b.org/"')


def test_a_huge_file_is_refused_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "CONFIG_MAX_CHARS", 1000)
    path = tmp_path / "sources.yaml"
    text = S + "# padding\n" * 200
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert err.value.problems == [f"{path}: the file has {len(text):,} characters; a "
                                  "configuration may have at most 1,000"]


def test_a_file_of_more_bytes_than_the_bound_allows_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "CONFIG_MAX_CHARS", 1000)
    path = tmp_path / "sources.yaml"
    path.write_bytes(S.encode() + b"#" * 5000)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert err.value.problems == [f"{path}: the file has more than 4,000 bytes; a "
                                  "configuration may have at most 1,000 characters"]


def test_a_file_just_within_the_size_bound_loads(tmp_path, monkeypatch):
    text = S + "#" * 100 + "\n"
    monkeypatch.setattr(limits, "CONFIG_MAX_CHARS", len(text))
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path, env={}).sources[0].id == "a"


def test_windows_line_ends_in_a_file_read_as_before(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_bytes(b"sources:\r\n  - id: a\r\n    url: https://a.org/\r\n    name: |\r\n"
                     b"      two\r\n      lines\r\n")
    source = load_config(path, env={}).sources[0]
    assert source.name == "two\nlines\n" and source.line == 2


def test_a_billion_laughs_config_is_refused(tmp_path):
    lines = ['l0: &l0 ["lol"]'] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]"
                                   for i in range(1, 10)]
    _, problems = outcome("\n".join(lines) + "\nsources: *l9\n")
    assert problems[0].startswith("sources.yaml:")
    assert "values (an alias counts as the values it repeats)" in problems[0]


# --- URLs -------------------------------------------------------------------------------------

URLS = [
    "https://a.org/", "http://a.org", "https://A.ORG/Path?x=1&y=2#frag", "http://127.20.0.1:8000/f",
    "http://256.1.1.1/", "http://01.2.3.4/", "http://1.2.3/", "http://1.2.3.4.5/",
    "http://0.0.0.0/", "http://255.255.255.255/", "http://a.org:99999/", "http://a.org:/x",
    "http://a.org:8x/", "http://xn--zz/", "http://XN--zz.org/", "http://www.xn--zz.org/",
    "http://xn--bcher-kva.example/", "http://bücher.example/", "https://[::1]:8080/",
    "https://[zz]/", "http://user:pw@a.org/", "ftp://a.org/", "HTTP://a.org/", "http:///x",
    "http://", "https://a.org/x y", "https://a.org/\\", "https://a.org/é", "http://-/",
    "http://../", "http://a..b/", "http://a.org?q", "http://a.org#f", "https://a.org/%zz",
    "//a.org/", "a.org", "", " ", "http://a.org/" + "x" * 70000,
]


@pytest.mark.parametrize("url", URLS)
def test_a_url_gets_the_verdict_httpx_gives(url):
    assert _check_url(url) == _check_url_httpx(url)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="htps:/.aorg0123456789x-n[]@?#%&é \\", max_size=30)
       .map(lambda s: "http" + s))
def test_a_generated_url_gets_the_verdict_httpx_gives(url):
    assert _check_url(url) == _check_url_httpx(url)


def test_a_broken_idna_host_is_a_problem_not_a_crash():
    assert "is not a valid URL" in (config._check_url("http://xn--zz/") or "")


def test_sources_built_from_one_anchored_node_each_get_its_values(tmp_path):
    """The read lets each source's YAML node go once the source is built; a node an alias
    names again still builds the source that uses it (here a second `a`, refused with the
    line of the node it names)."""
    p = tmp_path / "sources.yaml"
    p.write_text("sources:\n"
                 "  - &one {id: a, url: 'http://127.0.0.1:9/a', kind: feed}\n"
                 "  - {id: b, url: 'http://127.0.0.1:9/b'}\n"
                 "  - *one\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(p, env={})
    assert err.value.problems == [f"{p}:2: duplicate source id 'a' (first used on line 2)"]
    p.write_text("sources:\n"
                 "  - &one {id: a, url: 'http://127.0.0.1:9/a', kind: feed}\n"
                 "  - {<<: *one, id: b}\n", encoding="utf-8")
    assert [(s.id, s.url, s.kind) for s in load_config(p, env={}).sources] == [
        ("a", "http://127.0.0.1:9/a", "feed"), ("b", "http://127.0.0.1:9/a", "feed")]
