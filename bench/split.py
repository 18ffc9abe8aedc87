"""The split of the shared extraction sets into a tuning part and an untouched part, by host.

Rule (decided once, before any tuning): a page's host is the lower-cased host name of its
`url` in its truth file, without a leading `www.`; a page without a URL is its own host
(`id:<page id>`). A host is **untouched** when the first 8 hex digits of SHA-256 over the host
(UTF-8), read as a number, are divisible by 3; every other host is **tuning**. All pages of a
host fall in the same part, so no site is seen by tuning and then scored as unseen.

Tuning looks only at the tuning part; the untouched part is only ever scored by
`bench/extract.py`, for the report.

    .venv/bin/python bench/split.py            # writes bench/extract_split.json

The written list (set → part → page ids, and the hosts of each part) is committed, so that the
parts are fixed even if the rule's code is changed; `bench/extract.py` reads the list and
checks that it still follows the rule.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared"
SETS = ("extraction", "extraction-multilingual")
LIST = Path(__file__).resolve().parent / "extract_split.json"


def host_of(url: str | None, pid: str) -> str:
    host = (urlsplit(url).hostname or "") if url else ""
    host = host.lower().removeprefix("www.")
    return host or f"id:{pid}"


def part_of(host: str) -> str:
    digest = hashlib.sha256(host.encode("utf-8")).hexdigest()
    return "untouched" if int(digest[:8], 16) % 3 == 0 else "tuning"


def compute(data: Path = DATA) -> dict:
    out: dict = {"rule": "host = url host, lower-case, no leading www. (no url: id:<id>); "
                         "untouched iff int(sha256(host)[:8], 16) % 3 == 0", "sets": {}}
    for name in SETS:
        parts: dict[str, dict[str, list[str]]] = {
            "tuning": {"ids": [], "hosts": []}, "untouched": {"ids": [], "hosts": []}}
        for path in sorted((data / name / "truth").glob("*.json")):
            pid = path.name.removesuffix(".json")
            truth = json.loads(path.read_text("utf-8"))
            host = host_of(truth.get("url"), pid)
            part = parts[part_of(host)]
            part["ids"].append(pid)
            if host not in part["hosts"]:
                part["hosts"].append(host)
        for part in parts.values():
            part["hosts"].sort()
        out["sets"][name] = parts
    return out


def load() -> dict:
    """The committed split: {set name: {part: [page ids]}}."""
    listed = json.loads(LIST.read_text("utf-8"))
    return {name: {part: set(v["ids"]) for part, v in parts.items()}
            for name, parts in listed["sets"].items()}


def main() -> int:
    split = compute()
    LIST.write_text(json.dumps(split, indent=1, ensure_ascii=False) + "\n", "utf-8")
    for name, parts in split["sets"].items():
        print(name, {p: (len(v["ids"]), len(v["hosts"])) for p, v in parts.items()},
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
