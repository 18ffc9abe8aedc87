"""Parse workers are lean (only what parsing needs) and keep every guarantee of the isolator.

A worker is a fresh interpreter: whatever the parent (the `collector` command, pytest) has
imported, the worker holds only the parsing libraries and the collector modules that parse.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.discover.feed import parse_feed
from collector.errors import ExtractError
from collector.extract import extract
from collector.isolate import Isolator
from collector.parse_worker import loaded_modules

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = (ROOT / "tests" / "fixtures" / "extract" / "news_article.html").read_bytes()

#: Libraries the service's main process uses and a parse worker must never load.
HEAVY = ("sqlalchemy", "numpy", "httpx", "httpcore", "jinja2", "aiohttp", "apscheduler",
         "alembic", "ruamel", "psycopg", "asyncio", "multiprocessing", "ssl", "_ssl")
#: Collector modules of the main process (fetching, storing, scheduling, the command line).
PARENT_ONLY = ("collector.cli", "collector.pipeline", "collector.storing", "collector.fetch",
               "collector.scheduler", "collector.store", "collector.config",
               "collector.config_sources", "collector.config_fields", "collector.isolate",
               "collector.dedup", "collector.server", "collector.notify")


def rss_feed(items: int = 14) -> bytes:
    """An RSS 2.0 feed of about 1 KB per item."""
    entries = "".join(
        f"<item><title>Statement {i} on the question of the day</title>"
        f"<link>https://example.org/news/{i}</link><guid>https://example.org/news/{i}</guid>"
        f"<pubDate>Mon, 0{1 + i % 9} Jan 2024 10:00:00 +0000</pubDate>"
        f"<description>{'Words of the statement the organisation published. ' * 16}"
        "</description></item>"
        for i in range(items))
    return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
            "<link>https://example.org/</link><description>d</description>"
            f"{entries}</channel></rss>").encode()


def top_level(modules: list[str]) -> set[str]:
    return {m.partition(".")[0] for m in modules}


def loaded_from(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.fixture
def isolator() -> Iterator[Isolator]:
    iso = Isolator(1, memory_mb=None)
    yield iso
    iso.close()


@pytest.fixture
def helpers(tmp_path: Path) -> Iterator[types.ModuleType]:
    """A module that exists only on this process's import path (a directory of tmp_path)."""
    (tmp_path / "isolate_helpers_mod.py").write_text(textwrap.dedent("""
        import hashlib
        import time
        from pathlib import Path

        def sha256_hex(data):
            return hashlib.sha256(data).hexdigest()

        def double(x):
            return 2 * x

        def sleep_after_marking(marker, seconds):
            Path(marker).touch()
            time.sleep(seconds)
        """))
    sys.path.insert(0, str(tmp_path))
    try:
        import isolate_helpers_mod

        yield isolate_helpers_mod
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("isolate_helpers_mod", None)


def test_worker_of_a_heavy_parent_loads_only_what_parsing_needs(tmp_path):
    """A parent whose main module imports the service's heavy libraries at the top (and has no
    `if __name__ == "__main__"` guard) gets a worker that has none of them, after parsing a feed
    and an article."""
    (tmp_path / "feed.xml").write_bytes(rss_feed())
    script = tmp_path / "heavy_parent.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        import alembic, apscheduler, httpx, jinja2, sqlalchemy  # noqa: F401
        import collector.cli, collector.pipeline  # noqa: F401
        from collector.discover.feed import parse_feed
        from collector.extract import extract
        from collector.isolate import Isolator
        from collector.parse_worker import loaded_modules

        with Isolator(1) as iso:
            cands = iso.call(parse_feed, Path({str(tmp_path / "feed.xml")!r}).read_bytes(),
                             "https://example.org/feed", timeout_s=60)
            doc = iso.call(extract, Path({str(ROOT / "tests/fixtures/extract/news_article.html")!r})
                           .read_bytes(), url="https://example.org/a", timeout_s=60)
            modules = iso.call(loaded_modules, timeout_s=60)
        print(json.dumps({{"items": len(cands), "words": doc.word_count, "modules": modules}}))
        """))
    run = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["items"] == 14 and result["words"] > 100
    modules = result["modules"]
    assert {"feedparser", "selectolax", "collector"} <= top_level(modules)
    assert loaded_from(modules, HEAVY) == []
    assert loaded_from(modules, PARENT_ONLY) == []
    assert "heavy_parent" not in modules and "__mp_main__" not in modules


def test_worker_started_from_pytest_holds_none_of_pytest_or_the_tests(isolator):
    assert isolator.call(parse_feed, rss_feed(2), "https://example.org/feed", timeout_s=60)
    assert isolator.call(extract, ARTICLE, url="https://example.org/a", timeout_s=60).title
    modules = isolator.call(loaded_modules, timeout_s=60)
    assert "pytest" in sys.modules  # the parent has it ...
    assert loaded_from(modules, ("pytest", "_pytest", "tests", "hypothesis", "pluggy")) == []
    assert loaded_from(modules, HEAVY + PARENT_ONLY) == []


def test_worker_does_not_load_openssl_even_for_a_hashing_task(isolator, helpers):
    """hashlib falls back to Python's own SHA-2, with the same digests."""
    import hashlib

    assert isolator.call(helpers.sha256_hex, b"abc", timeout_s=60) == \
        hashlib.sha256(b"abc").hexdigest()
    modules = isolator.call(loaded_modules, timeout_s=60)
    assert "hashlib" in modules
    assert loaded_from(modules, ("_hashlib", "_ssl", "ssl")) == []


def test_worker_guesses_a_feeds_encoding_without_chardet_whatever_is_installed(isolator):
    """A feed that names no encoding and is not UTF-8 is decoded by our own detection, never
    chardet's (a deployment has none): one in Latin-1 reads as windows-1252, and chardet is
    never loaded."""
    feed = rss_feed(2).replace(b" encoding='utf-8'", b"").replace(
        b"Statement 0", "Déclaration 0 à l'été".encode("latin-1"))
    got = isolator.call(parse_feed, feed, "https://example.org/feed", timeout_s=60)
    assert got[0].title == "Déclaration 0 à l'été on the question of the day"
    modules = isolator.call(loaded_modules, timeout_s=60)
    assert "feedparser" in modules
    assert loaded_from(modules, ("chardet", "cchardet")) == []


CYRILLIC_TITLE = "Заявление профсоюза о повышении заработной платы учителям и врачам"


def test_a_cyrillic_feed_naming_no_encoding_reads_the_same_in_the_worker_and_here(isolator):
    """windows-1251 bytes with no XML encoding and no charset: detection reads the Cyrillic
    (feedparser alone, without chardet, would take them for windows-1252 and garble them),
    and the worker, where chardet is refused, reads what this process reads."""
    feed = rss_feed(3).replace(b" encoding='utf-8'", b"").replace(
        b"Words of the statement the organisation published. ",
        "Слова заявления, которое опубликовала организация. ".encode("cp1251"))
    for i in range(3):
        feed = feed.replace(f"Statement {i}".encode(), f"{CYRILLIC_TITLE} {i}".encode("cp1251"))
    here = parse_feed(feed, "https://example.org/feed")
    there = isolator.call(parse_feed, feed, "https://example.org/feed", timeout_s=60)
    assert [c.title for c in there] == [c.title for c in here]
    assert there[0].title.startswith(CYRILLIC_TITLE + " 0")


def test_a_function_on_the_parents_import_path_runs_in_the_worker(isolator, helpers):
    assert isolator.call(helpers.double, 21, timeout_s=60) == 42


def test_a_task_the_worker_cannot_import_is_an_error_and_the_worker_lives_on(isolator):
    ghost = types.ModuleType("ghost_module_only_in_the_parent")
    exec("def f():\n    return 1\n", ghost.__dict__)
    sys.modules[ghost.__name__] = ghost
    try:
        pid = isolator.call(os.getpid, timeout_s=60)
        with pytest.raises(ExtractError, match=r"could not read the task.*ghost_module"):
            isolator.call(ghost.f, timeout_s=60)
    finally:
        del sys.modules[ghost.__name__]
    assert isolator.call(os.getpid, timeout_s=60) == pid


def test_an_unpicklable_result_is_an_error_and_the_worker_lives_on(isolator):
    pid = isolator.call(os.getpid, timeout_s=60)
    with pytest.raises(ExtractError, match="could not be returned"):
        isolator.call(threading.Lock, timeout_s=60)
    assert isolator.call(os.getpid, timeout_s=60) == pid


def test_an_unpicklable_task_is_refused_before_it_reaches_a_worker(isolator):
    with pytest.raises(ExtractError, match="could not hand the task"):
        isolator.call(len, threading.Lock(), timeout_s=60)
    assert isolator.call(len, "abc", timeout_s=60) == 3


def test_the_memory_limit_is_an_error_and_the_worker_lives_on():
    with Isolator(1, memory_mb=256) as iso:
        with pytest.raises(ExtractError, match="out of memory"):
            iso.call(bytearray, 1 << 30, timeout_s=60)
        assert iso.call(len, "abc", timeout_s=60) == 3


def wait_until_dead(pid: int) -> None:
    """Until `pid` has exited (a zombie or gone); bounded."""
    for _ in range(1000):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still alive")


def test_an_idle_worker_killed_from_outside_is_replaced_before_the_next_task(isolator):
    pid = isolator.call(os.getpid, timeout_s=60)
    os.kill(pid, signal.SIGKILL)
    wait_until_dead(pid)
    new_pid = isolator.call(os.getpid, timeout_s=60)
    assert new_pid != pid


def test_closing_the_isolator_ends_a_parse_in_progress(helpers, tmp_path):
    iso = Isolator(1, memory_mb=None)
    marker = tmp_path / "started"
    errors: list[Exception] = []

    def long_task() -> None:
        try:
            iso.call(helpers.sleep_after_marking, str(marker), 3600, timeout_s=3600)
        except ExtractError as exc:
            errors.append(exc)

    pid = iso.call(os.getpid, timeout_s=60)
    thread = threading.Thread(target=long_task)
    thread.start()
    for _ in range(1000):  # bounded wait for the task to start in the worker
        if marker.exists():
            break
        time.sleep(0.01)
    assert marker.exists()
    iso.close()
    thread.join(60)
    assert not thread.is_alive()
    assert len(errors) == 1 and "closed during the parse" in str(errors[0])
    wait_until_dead(pid)
    with pytest.raises(ExtractError, match="closed"):
        iso.call(len, "x", timeout_s=5)
