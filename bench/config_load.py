"""Benchmark of `collector.config.load_config`: the loader before the fast YAML path and now.

Configs of N sources in two shapes, written to a temporary directory:

    poll      the shape bench/poll.py's `collector_config` writes (id and url per source,
              settings and defaults above), with its own generator
    shipped   the shipped sources.yaml's sources (name, url with a trailing comment, kind,
              tags, a comment line and a blank line each), repeated under fresh ids

Each config is loaded, in this one process, by

    before    config.py as it was at `--before` (ruamel.yaml's round-trip loader, every URL
              checked with httpx), read from git and imported beside the current package
    ruamel    today's config.py on the reference path (as without PyYAML's C extension)
    now       today's load_config (libyaml events, own YAML 1.2 scalars, plain URLs checked
              without httpx)

Figures: the best of `--repeat` wall times (time.perf_counter) per loader, after one warm-up
load, and the ratio before/now. All three must produce the same sources (checked).

    .venv/bin/python -m bench.config_load
    .venv/bin/python -m bench.config_load --sizes 1000 10000 --repeat 5
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.poll import collector_config  # noqa: E402
from collector import config, yamlread  # noqa: E402

#: the last commit whose config.py read sources.yaml with ruamel.yaml alone
BEFORE = "fdbeaf7"


def poll_shaped(path: Path, n: int) -> None:
    urls = [f"http://127.20.{i // 250}.{i % 250 + 1}:8000/feed.xml" for i in range(n)]
    collector_config(path, urls, concurrency=None, backfill=0)


def shipped_shaped(path: Path, n: int) -> None:
    shipped = config.load_config(ROOT / "sources.yaml", env={})
    head = (ROOT / "sources.yaml").read_text(encoding="utf-8").split("\nsources:")[0]
    lines = [head, "sources:"]
    for i in range(n):
        s = shipped.sources[i % len(shipped.sources)]
        lines += [f"  # --- {s.name} ({i}) ---",
                  f"  - id: {s.id}-{i}",
                  f"    name: \"{s.name}\"",
                  f"    url: {s.url}   # {s.kind}",
                  f"    kind: {s.kind}"]
        if s.tags:
            lines.append(f"    tags: [{', '.join(s.tags)}]")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def before_loader(rev: str) -> Callable[..., Any]:
    """load_config of config.py at `rev`, imported as collector._config_before."""
    source = subprocess.run(["git", "show", f"{rev}:collector/config.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True, timeout=60).stdout
    tmp = Path(tempfile.mkdtemp()) / "_config_before.py"
    tmp.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("collector._config_before", tmp)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "collector"
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.load_config  # type: ignore[no-any-return]


def reference_loader(path: Path, **kw: Any) -> Any:
    saved = yamlread.FAST_PATH_AVAILABLE
    yamlread.FAST_PATH_AVAILABLE = False
    try:
        return config.load_config(path, **kw)
    finally:
        yamlread.FAST_PATH_AVAILABLE = saved


def best_of(load: Callable[..., Any], path: Path, repeat: int) -> tuple[float, Any]:
    result = load(path, env={})                      # warm-up: imports, caches
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = load(path, env={})
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--before", default=BEFORE, help="git revision of the earlier config.py")
    args = ap.parse_args()
    if not yamlread.FAST_PATH_AVAILABLE:
        print("PyYAML's C extension is missing: 'now' is the reference path", file=sys.stderr)
    loaders = {"before": before_loader(args.before), "ruamel": reference_loader,
               "now": config.load_config}
    work = Path(tempfile.mkdtemp(prefix="config-load-"))
    print(f"{'shape':8} {'sources':>8} {'KiB':>7} " +
          " ".join(f"{name + ' s':>9}" for name in loaders) + f" {'before/now':>11}")
    for shape, write in (("poll", poll_shaped), ("shipped", shipped_shaped)):
        for n in args.sizes:
            path = work / f"{shape}-{n}.yaml"
            write(path, n)
            times: dict[str, float] = {}
            ids = set()
            for name, load in loaders.items():
                times[name], cfg = best_of(load, path, args.repeat)
                ids.add(tuple((s.id, s.url, s.kind, s.tags, s.schedule.interval_s, s.line)
                              for s in cfg.sources))
            assert len(ids) == 1, f"the loaders disagree on {path}"
            print(f"{shape:8} {n:>8} {path.stat().st_size / 1024:>7.0f} " +
                  " ".join(f"{times[name]:>9.4f}" for name in loaders) +
                  f" {times['before'] / times['now']:>10.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
