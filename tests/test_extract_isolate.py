"""Bounded parsing: the pre-check refuses pathological markup; workers die, the service lives."""

from __future__ import annotations

import asyncio
import ctypes
import os
import sys
import time

import pytest

from collector import limits, parse_worker
from collector.errors import ExtractError
from collector.extract import extract
from collector.isolate import Isolator, extract_bounded, precheck_html

ARTICLE = "<html><body><article><h1>T</h1>" + "<p>Plenty of words in this paragraph. </p>" * 20


def test_precheck_refuses_deep_nesting_before_parsing():
    html = "<html><body>" + "<div>" * (limits.MAX_NESTING_DEPTH + 10) + "x"
    with pytest.raises(ExtractError, match="nests more than"):
        precheck_html(html)
    with pytest.raises(ExtractError, match="nests more than"):
        precheck_html(html.encode())


def test_precheck_accepts_deep_but_closed_structure_below_the_limit():
    html = "<div>" * 200 + "text" + "</div>" * 200
    assert precheck_html(html) == html


def test_precheck_cuts_oversized_pages():
    html = b"<p>" + b"a" * (limits.MAX_HTML_BYTES + 100)
    assert len(precheck_html(html)) == limits.MAX_HTML_BYTES


def test_precheck_drops_option_floods_but_keeps_the_text():
    html = "<select>" + "<option>o</option>" * 20_000 + "</select><p>kept paragraph</p>"
    checked = precheck_html(html)
    assert "<option" not in checked
    assert "kept paragraph" in checked


def test_precheck_leaves_selects_below_the_flood_bound_and_drops_those_above():
    """Up to `_MAX_OPTIONS` options (a select lexbor parses in tens of milliseconds) the page is
    handed over as it is; one more and the options go."""
    bound = parse_worker._MAX_OPTIONS

    def page(n: int) -> bytes:
        return b"<select>" + b"<option>o</option>" * n + b"</select><p>kept</p>"

    assert precheck_html(page(bound)) == page(bound)
    assert b"<option" not in precheck_html(page(bound + 1))


def test_precheck_drops_upper_case_option_floods_too():
    html = b"<SELECT>" + b"<OPTION>o</OPTION>" * 5_000 + b"</SELECT><p>kept</p>"
    checked = precheck_html(html)
    assert b"<OPTION" not in checked
    assert b"kept" in checked


def test_precheck_drops_mixed_case_option_floods():
    html = b"<select>" + b"<oPtIoN>o</OpTiOn>" * 5_000 + b"</select><p>kept</p>"
    checked = precheck_html(html)
    assert b"ptIoN" not in checked and b"<p>kept</p>" in checked


def test_precheck_keeps_a_page_with_few_options_unchanged():
    html = b"<select>" + b"<option>o</option>" * 900 + b"</select><p>kept</p><"
    assert precheck_html(html) == html


def test_precheck_rejects_non_text():
    with pytest.raises(ExtractError):
        precheck_html(12345)  # type: ignore[arg-type]


def test_extract_refuses_a_hundred_thousand_nested_divs_quickly_with_a_clear_error():
    with pytest.raises(ExtractError, match="nests more than"):
        extract("<html><body>" + "<div>" * 100_000, url=None)


def test_extract_reads_a_page_nested_deeper_than_the_recursion_limit_but_under_the_bound():
    depth = min(limits.MAX_NESTING_DEPTH - 10, sys.getrecursionlimit() * 3)
    html = ("<html><body>" + "<div>" * depth + "<p>" + "deeply nested words " * 20 + "</p>"
            + "</div>" * depth + "</body></html>")
    assert extract(html).blocks == (("deeply nested words " * 20).strip(),)


def test_extract_survives_a_page_of_sixteen_thousand_options():
    html = ARTICLE + "<select>" + "<option>x</option>" * 16_000 + "</select></article>"
    assert extract(html).word_count > 100


@pytest.fixture
def isolator():
    iso = Isolator(1, memory_mb=None)
    yield iso
    iso.close()


def test_worker_returns_the_result(isolator):
    result = asyncio.run(isolator.run(extract, ARTICLE, timeout_s=30))
    assert result.word_count > 100


def test_overrunning_task_is_killed_and_the_worker_replaced(isolator):
    async def scenario():
        with pytest.raises(ExtractError, match="longer than 1 s; worker killed"):
            await isolator.run(time.sleep, 30, timeout_s=1)
        return await isolator.run(len, "still alive", timeout_s=30)

    assert asyncio.run(scenario()) == len("still alive")


def test_segfault_in_the_worker_is_an_error_not_a_crash(isolator):
    async def scenario():
        with pytest.raises(ExtractError, match="crashed"):
            await isolator.run(ctypes.string_at, 0, timeout_s=30)
        with pytest.raises(ExtractError, match="crashed"):
            await isolator.run(os.abort, timeout_s=30)
        return await isolator.run(len, "abc", timeout_s=30)

    assert asyncio.run(scenario()) == 3


def test_exceptions_in_the_worker_come_back_as_extract_errors(isolator):
    with pytest.raises(ExtractError, match="ZeroDivisionError"):
        isolator.call(divmod, 1, 0, timeout_s=30)
    with pytest.raises(ExtractError, match="nests more than"):
        isolator.call(extract, "<div>" * 100_000, timeout_s=30)


def test_concurrent_tasks_share_the_pool(isolator):
    async def scenario():
        return await asyncio.gather(*(isolator.run(len, "x" * i, timeout_s=30) for i in range(5)))

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4]


def test_closed_isolator_refuses_work():
    iso = Isolator(1)
    iso.close()
    with pytest.raises(ExtractError, match="closed"):
        iso.call(len, "x", timeout_s=5)


def test_extract_bounded_runs_extraction_in_the_default_isolator():
    result = asyncio.run(extract_bounded(ARTICLE, timeout_s=30))
    assert result.word_count > 100


def test_workers_start_with_the_mmap_threshold_fixed(isolator, monkeypatch):
    """A worker gives parsed bodies back to the system: glibc's mmap threshold is fixed in its
    environment (limits.MALLOC_MMAP_THRESHOLD), unless the user chose one."""
    got = asyncio.run(isolator.run(os.getenv, "MALLOC_MMAP_THRESHOLD_", timeout_s=30))
    assert got == str(limits.MALLOC_MMAP_THRESHOLD)
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "4096")
    from collector.isolate import worker_environment

    assert worker_environment()["MALLOC_MMAP_THRESHOLD_"] == "4096"


_MAPS_CHILD = """
import sys
from collector import cli
def heap():
    with open("/proc/self/maps") as f:
        for line in f:
            if line.rstrip().endswith("[heap]"):
                start, end = line.split()[0].split("-")
                return int(end, 16) - int(start, 16)
    return 0
if sys.argv[1] == "fixed":
    cli._fix_mmap_threshold()
before = heap()
blocks = [bytearray(96 * 1024) for _ in range(32)]  # below glibc's default threshold (128 KiB)
print((heap() - before) // 1024)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux /proc")
def test_collector_fixes_the_mmap_threshold_in_its_own_process():
    """`collector` sets the threshold at start: blocks of 96 KiB then take mappings of their
    own (given back when freed) instead of growing the heap."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
    counts = {}
    for mode in ("default", "fixed"):
        got = subprocess.run([sys.executable, "-c", _MAPS_CHILD, mode], env=env,
                             capture_output=True, text=True, timeout=60, check=True)
        counts[mode] = int(got.stdout)
    # KiB the heap grew by for 3 MiB of blocks
    assert counts["fixed"] < 96 and counts["default"] >= 16 * 96
