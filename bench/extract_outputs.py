"""Digest of collector.extract's output on every page of both extraction sets, to show that a
change (a speed-up) leaves every output as it was.

Usage (from the repository root):

    .venv/bin/python bench/extract_outputs.py --write OUT.json      # record
    .venv/bin/python bench/extract_outputs.py --compare OUT.json    # check: exit 1 on any change

Each page is extracted twice: from the text (as bench/extract.py gives it) and from its bytes
(as the service does, through the encoding stage). A page's digest is the SHA-256 of everything
the Extracted carries (title, blocks, date, canonical URL, language, author, method, flags),
or of the error it raised.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collector.extract import extract  # noqa: E402

DATA = ROOT / ".." / "shared"
SETS = ("extraction", "extraction-multilingual")
NOW = datetime(2026, 6, 1, tzinfo=UTC)  # as bench/extract.py


def digest(html: bytes | str, url: str | None) -> str:
    try:
        r = extract(html, url=url, now=NOW)
    except Exception as exc:  # an error is an output too
        out: object = ["error", type(exc).__name__, str(exc)]
    else:
        out = [r.title, list(r.blocks), r.published.isoformat() if r.published else None,
               r.canonical_url, r.language, r.author, r.method, list(r.flags)]
    return hashlib.sha256(json.dumps(out, ensure_ascii=False).encode()).hexdigest()


def digests() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in SETS:
        data = DATA / name
        for path in sorted((data / "pages").glob("*.html.gz")):
            pid = path.name.removesuffix(".html.gz")
            url = json.loads((data / "truth" / f"{pid}.json").read_text("utf-8")).get("url")
            raw = gzip.decompress(path.read_bytes())
            found[f"{name}/{pid}/text"] = digest(raw.decode("utf-8", errors="replace"), url)
            found[f"{name}/{pid}/bytes"] = digest(raw, url)
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="record the digests here")
    group.add_argument("--compare", type=Path, help="compare with digests recorded here")
    args = ap.parse_args()
    now = digests()
    if args.write:
        args.write.write_text(json.dumps(now, indent=0, sort_keys=True))
        print(f"{len(now)} digests written to {args.write}")
        return 0
    before = json.loads(args.compare.read_text("utf-8"))
    changed = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
    for key in changed:
        print(f"changed: {key}")
    print(f"{len(now)} outputs, {len(changed)} differ from {args.compare}")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
