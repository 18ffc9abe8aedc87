"""OPML import into sources.yaml: feeds appended, duplicates skipped, comments kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from collector.config import load_config
from collector.errors import ConfigError
from collector.opml import import_opml

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Environment" title="Environment">
      <outline type="rss" text="Coastal Water Alliance" title="Coastal Water Alliance"
               xmlUrl="https://coastalwater.example/feed/" htmlUrl="https://coastalwater.example/"/>
      <outline type="rss" text="River Trust" xmlUrl="https://www.rivertrust.example/news/rss.xml"/>
    </outline>
    <outline type="rss" text="Already here" xmlUrl="https://ngo.example/feed"/>
    <outline type="rss" text="Coastal Water Alliance" xmlUrl="https://other.example/atom.xml"/>
    <outline type="rss" xmlUrl="https://untitled.example/blog/feed.xml"/>
    <outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>
  </body>
</opml>
"""

SOURCES = """# Sources watched by the collector.
# Keep this list sorted by organisation.

defaults:
  every: 30m   # polite default

sources:
  # The first source we ever added.
  - id: ngo-news
    url: "https://ngo.example/feed"   # their RSS
    kind: feed
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    opml = tmp_path / "export.opml"
    opml.write_text(OPML, encoding="utf-8")
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    return opml, sources


def test_import_appends_new_feeds_and_keeps_comments_and_layout(files):
    """The original text is kept byte for byte (comments, quotes, order) and new sources follow."""
    opml, sources = files
    added = import_opml(opml, sources)
    assert added == ["coastal-water-alliance", "river-trust", "coastal-water-alliance-2",
                     "untitled-example-blog-feed-xml"]
    text = sources.read_text(encoding="utf-8")
    assert text.startswith(SOURCES)
    assert "# The first source we ever added." in text and "# their RSS" in text
    data = YAML(typ="safe").load(text)
    assert [s["id"] for s in data["sources"]] == ["ngo-news", *added]
    first = data["sources"][1]
    assert first == {"id": "coastal-water-alliance", "name": "Coastal Water Alliance",
                     "url": "https://coastalwater.example/feed/", "kind": "feed",
                     "tags": ["environment"]}


def test_imported_file_is_a_valid_configuration(files, tmp_path: Path):
    opml, sources = files
    import_opml(opml, sources)
    config = load_config(sources, data_dir=tmp_path / "data")
    assert [(s.id, s.kind) for s in config.sources][-2:] == [
        ("coastal-water-alliance-2", "feed"), ("untitled-example-blog-feed-xml", "feed")]


def test_second_import_adds_nothing(files):
    """Feeds already present (by URL) are skipped, so importing twice changes nothing."""
    opml, sources = files
    import_opml(opml, sources)
    before = sources.read_text(encoding="utf-8")
    assert import_opml(opml, sources) == []
    assert sources.read_text(encoding="utf-8") == before


def test_import_into_missing_file_creates_sources_list(tmp_path: Path, files):
    opml, _ = files
    target = tmp_path / "new.yaml"
    added = import_opml(opml, target)
    assert len(added) == 5
    assert len(YAML(typ="safe").load(target.read_text(encoding="utf-8"))["sources"]) == 5


@pytest.mark.parametrize("content, message", [
    ("<html><body>not opml</body></html>", "not an OPML file"),
    ("<opml><body><outline", "not well-formed"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><opml><body/></opml>', "DOCTYPE"),
])
def test_bad_opml_raises_config_error_and_leaves_sources_untouched(files, content, message):
    opml, sources = files
    opml.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        import_opml(opml, sources)
    assert message in str(info.value)
    assert sources.read_text(encoding="utf-8") == SOURCES


def test_import_says_which_entries_it_skipped_and_why(tmp_path: Path):
    opml = tmp_path / "export.opml"
    opml.write_text(OPML.replace(
        '<outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>',
        '<outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>\n'
        '    <outline type="link" text="A web site" htmlUrl="https://site.example/"/>\n'
        '    <outline type="rss" text="Twice" xmlUrl="https://coastalwater.example/feed/"/>'),
        encoding="utf-8")
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    r = subprocess.run([sys.executable, "-m", "collector.cli", "--config", str(sources),
                        "sources", "import", str(opml)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("added 4 sources to ")
    assert lines[1] == "skipped 4:"
    assert lines[2:] == [
        "  https://site.example/ (A web site): no feed address (xmlUrl); add the site by hand "
        "as a page source",
        "  https://ngo.example/feed (Already here): already in sources.yaml as source "
        "'ngo-news'",
        "  file:///etc/passwd (Local file): not an http(s) address",
        "  https://coastalwater.example/feed/ (Twice): already in sources.yaml as source "
        "'coastal-water-alliance' (earlier in this file)",
    ]
