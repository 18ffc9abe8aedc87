"""Every sources.yaml example in README.md and docs/*.md passes `collector check`, so the
documentation and the validator cannot drift apart.

A ```yaml block is taken as a whole configuration unless the line before its fence is the
marker `<!-- yaml: partial -->` (a fragment: one source entry, one setting, alternatives side
by side). A fragment must really be one: a block marked partial that holds a `sources:` list
is an error here, so the marker cannot hide a whole example from the check."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from collector.errors import ConfigError
from collector.yamlread import read_yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PARTIAL = "<!-- yaml: partial -->"
_FENCE = re.compile(r"^```yaml[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def _examples() -> list[tuple[str, int, bool, str]]:
    """(file, line, partial, text) of every ```yaml block."""
    out = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            before = text[:m.start()].rstrip("\n").rpartition("\n")[2].strip()
            out.append((doc.relative_to(ROOT).as_posix(), line, before == PARTIAL, m.group(1)))
    return out


EXAMPLES = _examples()
WHOLE = [e for e in EXAMPLES if not e[2]]
PARTS = [e for e in EXAMPLES if e[2]]


def test_the_documented_whole_examples_are_found():
    """The README's example and the digests page's are whole configurations (and the scan
    finds them: a changed fence style must not make this test vacuous)."""
    files = {f for f, _, _, _ in WHOLE}
    assert {"README.md", "docs/digests.md"} <= files


@pytest.mark.parametrize(("doc", "line", "partial", "text"), WHOLE,
                         ids=[f"{f}:{n}" for f, n, _, _ in WHOLE])
def test_every_whole_example_passes_collector_check(tmp_path, doc, line, partial, text):
    (tmp_path / "sources.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "sources.yaml").chmod(0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    r = subprocess.run([sys.executable, "-m", "collector.cli", "check"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{doc}:{line}: the example fails `collector check`:\n{r.stderr}"
    assert "OK" in r.stdout


@pytest.mark.parametrize(("doc", "line", "partial", "text"), PARTS,
                         ids=[f"{f}:{n}" for f, n, _, _ in PARTS])
def test_a_block_marked_partial_is_not_a_whole_configuration(doc, line, partial, text):
    try:
        root = read_yaml(text, Path(doc))
    except ConfigError:
        return                  # not even a document on its own (e.g. alternatives side by side)
    assert not (isinstance(root, dict) and "sources" in root), (
        f"{doc}:{line} is marked partial but is a whole configuration: remove the marker")
