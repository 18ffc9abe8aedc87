"""Bounded, crash-proof runs of CPU-bound parsing (HTML extraction, feed parsing).

Two defences, because a parser's worst case is not under our control:

- `precheck_html` is a cheap look at the raw markup before any parser sees it: the text is cut
  at `limits.MAX_HTML_BYTES`, `<option>` tags (16k of them make lexbor crawl) are dropped, and
  a run of more than `limits.MAX_NESTING_DEPTH` opening tags with no closing tag between them
  (100k nested `<div>`s take lexbor minutes) is refused with ExtractError.
- `Isolator.run` / `run_bounded` call a function in a separate worker process with a hard
  wall-time deadline. A worker that overruns is killed and replaced; one that dies (a segfault
  in lexbor, the memory limit, `os.abort`) is replaced too. Either way the caller gets
  ExtractError with a clear message and the service carries on.

The function and its arguments travel by pickle, so `fn` must be importable at module level.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import multiprocessing.connection
import os
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from . import limits
from .errors import CollectorError, ExtractError

T = TypeVar("T")

_OPTION_TAG = re.compile(rb"</?option\b[^>]*>", re.IGNORECASE)
_LT = ord("<")
_LT_O = ord("<") | ord("o") << 8  # the pair `<o` as a little-endian 16-bit word
#: Consecutive opening tags (only text between them): nesting that never closes.
_DEEP = re.compile(rb"(?:<[A-Za-z][^<>]*>[^<]*){" + str(limits.MAX_NESTING_DEPTH).encode() + b"}")
#: The shortest opening tag is three bytes (`<a>`): a stretch without any `</` shorter than this
#: cannot nest too deeply, so the exact (slower) scan runs only on the rare long stretches.
_MIN_DEEP_BYTES = 3 * limits.MAX_NESTING_DEPTH
#: Below this many `<option` tags a page's selects are harmless (lexbor is quadratic in the
#: options of one select: 16k take 1.4 s, 64k take 48 s).
_MAX_OPTIONS = 1000


def precheck_html(html: T) -> T:
    """Make raw HTML (bytes or str) safe to hand to the parser, or raise ExtractError.

    Cost on a normal page: one vectorised pass over the bytes to find the `<`s.
    """
    if isinstance(html, str):
        return precheck_html(html.encode("utf-8", "replace")).decode(  # type: ignore[return-value]
            "utf-8", "replace")
    if not isinstance(html, bytes):
        raise ExtractError(f"expected HTML as bytes or str, got {type(html).__name__}")
    data: bytes = html[: limits.MAX_HTML_BYTES]
    tags, option_like = _count_tags(data)
    # `<o`/`<O` bounds the number of option tags from above, so the exact counts (slower)
    # only run on pages that could hold a flood
    if option_like > _MAX_OPTIONS and (
            data.count(b"<option") + data.count(b"<OPTION") > _MAX_OPTIONS):
        data = _OPTION_TAG.sub(b" ", data)
        tags, _ = _count_tags(data)
    if tags > limits.MAX_NESTING_DEPTH:  # rare: real pages have < 10k tags
        for stretch in data.split(b"</"):
            if (len(stretch) > _MIN_DEEP_BYTES and stretch.count(b"<") > limits.MAX_NESTING_DEPTH
                    and _DEEP.search(stretch)):
                raise ExtractError(
                    f"the page nests more than {limits.MAX_NESTING_DEPTH} elements without"
                    " closing any; refused before parsing")
    return data  # type: ignore[return-value]


def _count_tags(data: bytes) -> tuple[int, int]:
    """How many `<` the bytes hold, and how many of them are followed by `o` or `O`.

    numpy does in a few vectorised passes what `bytes.count` and a regular-expression search
    did byte by byte (several times slower on a 200 KB page). A `<o` pair starts at an even or
    an odd offset: reading the bytes as little-endian 16-bit words from offset 0 and from
    offset 1 sees every pair whole once; OR-ing 0x20 into the high byte folds `O` into `o`.
    """
    # deferred: a parse worker that only parses feeds never needs numpy (75 ms per start)
    import numpy as np

    raw = np.frombuffer(data, dtype=np.uint8)
    total = int(np.count_nonzero(raw == _LT))
    pairs = 0
    view = memoryview(data)
    for start in (0, 1):
        words = (len(data) - start) // 2
        if words:
            word = np.frombuffer(view[start:start + 2 * words], dtype="<u2")
            pairs += int(np.count_nonzero((word | 0x2000) == _LT_O))
    return total, pairs


def _serve(conn: multiprocessing.connection.Connection, memory_mb: int | None) -> None:
    """Worker loop: receive (fn, args), answer (True, result) or (False, exception)."""
    if memory_mb:
        try:
            import resource
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ImportError, ValueError, OSError):
            pass  # not every platform lets a process cap itself; the deadline still holds
    while True:
        try:
            fn, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[bool, Any] = (True, fn(*args, **kwargs))
        except CollectorError as exc:
            answer = (False, exc)
        except MemoryError:
            answer = (False, ExtractError("the parse ran out of memory"))
        except Exception as exc:
            answer = (False, ExtractError(f"the parse failed: {type(exc).__name__}: {exc}"))
        try:
            conn.send(answer)
        except Exception as exc:  # the result or the exception could not be pickled
            conn.send((False, ExtractError(f"the parse result could not be returned: {exc}")))


class _Worker:
    """One worker process and its pipe; replaced in place when it overruns or dies."""

    def __init__(self, ctx: Any, memory_mb: int | None):
        self._ctx = ctx
        self._memory_mb = memory_mb
        self._start()

    def _start(self) -> None:
        self.conn, child = self._ctx.Pipe()
        self.proc = self._ctx.Process(target=_serve, args=(child, self._memory_mb), daemon=True,
                                      name="collector-parse-worker")
        self.proc.start()
        child.close()

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def _replace(self) -> None:
        self.stop()
        self._start()

    def call(self, fn: Callable[..., Any], args: tuple, kwargs: dict, timeout_s: float) -> Any:
        """Blocking call with a deadline (runs in a helper thread, never on the event loop)."""
        name = getattr(fn, "__name__", "task")
        try:
            self.conn.send((fn, args, kwargs))
            ready = self.conn.poll(timeout_s)
        except (OSError, EOFError, ValueError) as exc:
            self._replace()
            raise ExtractError(f"{name}: the parse worker was lost ({exc})") from None
        except Exception as exc:  # e.g. arguments that cannot be pickled
            raise ExtractError(f"{name}: could not hand the task to a worker: {exc}") from None
        if not ready:
            self._replace()
            raise ExtractError(f"{name}: parse took longer than {timeout_s:g} s; worker killed")
        try:
            ok, value = self.conn.recv()
        except (EOFError, OSError):
            self.proc.join(5)
            code = self.proc.exitcode
            self._replace()
            raise ExtractError(f"{name}: the parse worker crashed (exit code {code});"
                               " worker replaced") from None
        if ok:
            return value
        raise value


class Isolator:
    """A small pool of parse workers. Use `await run(fn, *args, timeout_s=...)`; `close()` ends it.

    Workers start on first use; tasks queue for a free worker, so at most `workers` parses run
    at once. A task's deadline starts when a worker takes it.
    """

    def __init__(self, workers: int = 1, *, memory_mb: int | None = limits.PARSE_MEMORY_MB):
        if workers < 1:
            raise ValueError("an isolator needs at least one worker")
        self._size = workers
        self._memory_mb = memory_mb
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._cond = threading.Condition()
        self._threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="collector-parse")
        self._closed = False

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise ExtractError("the parse isolator is closed")
                if self._idle:
                    return self._idle.pop()
                if len(self._workers) < self._size:
                    worker = _Worker(self._ctx, self._memory_mb)
                    self._workers.append(worker)
                    return worker
                self._cond.wait()

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            self._idle.append(worker)
            self._cond.notify()

    def _call(self, fn: Callable[..., Any], args: tuple, kwargs: dict, timeout_s: float) -> Any:
        worker = self._acquire()
        try:
            return worker.call(fn, args, kwargs, timeout_s)
        finally:
            self._release(worker)

    def call(self, fn: Callable[..., T], *args: Any, timeout_s: float, **kwargs: Any) -> T:
        """Synchronous form of `run` (for command-line tools and benchmarks)."""
        return self._call(fn, args, kwargs, timeout_s)

    async def run(self, fn: Callable[..., T], *args: Any, timeout_s: float, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a worker; ExtractError on timeout, crash or failure."""
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        import asyncio  # deferred: parse workers import this module but run no event loop

        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._threads, self._call, fn, args, kwargs, timeout_s)
        # shield: a cancelled caller must not return a still-busy worker to the pool; the helper
        # thread finishes (within the deadline) and releases it itself
        return await asyncio.shield(future)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers, self._workers, self._idle = self._workers, [], []
            self._cond.notify_all()
        for worker in workers:
            worker.stop()
        self._threads.shutdown(wait=False)

    def __enter__(self) -> Isolator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_default: Isolator | None = None
_default_lock = threading.Lock()


def parse_workers(cpus: int | None = None) -> int:
    """Parse workers for this host: one core stays with the main process (fetching, storing),
    so two cores get one worker; never more than `limits.PARSE_WORKERS`, never fewer than 1."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    return max(1, min(limits.PARSE_WORKERS, cpus - 1))


def default_isolator() -> Isolator:
    """The process-wide isolator (`parse_workers()` workers, each started on first need)."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            _default = Isolator(parse_workers())
        return _default


async def run_bounded(fn: Callable[..., T], *args: Any, timeout_s: float, **kwargs: Any) -> T:
    """Run `fn(*args, **kwargs)` in the default isolator with a hard wall-time bound."""
    return await default_isolator().run(fn, *args, timeout_s=timeout_s, **kwargs)


async def extract_bounded(html: bytes | str, *, timeout_s: float = limits.EXTRACT_TIMEOUT_S,
                          **kwargs: Any) -> Any:
    """`collector.extract.extract` in the default isolator; returns its Extracted."""
    from .extract import extract  # deferred: extract imports this module's precheck

    return await run_bounded(extract, html, timeout_s=timeout_s, **kwargs)
