"""Bounded, crash-proof runs of CPU-bound parsing (HTML extraction, feed parsing).

Two defences, because a parser's worst case is not under our control:

- `precheck_html` (defined in collector.parse_worker, re-exported here) is a cheap look at the
  raw markup before any parser sees it: oversized text is cut, `<option>` floods are dropped,
  and nesting that never closes is refused with ExtractError.
- `Isolator.run` / `run_bounded` call a function in a separate worker process with a hard
  wall-time deadline. A worker that overruns is killed and replaced; one that dies (a segfault
  in lexbor, the memory limit, `os.abort`) is replaced too. Either way the caller gets
  ExtractError with a clear message and the service carries on. The two are told apart by the
  error's `kind`: `ParserCrash` ("parser_crash", the worker died) and `ParseOverrun`
  ("parse_timeout", the deadline passed); an error the parse itself raised has no `kind` of
  its own. A source whose listing crashes the worker poll after poll is quarantined on that
  distinction (collector.decide), while timeouts and malformed input are only backed off.

A worker is a fresh interpreter running collector.parse_worker (`python -c`, not
multiprocessing): it does not re-import the parent's main module, and it imports only what the
tasks' functions need, so it stays small (see that module). The function and its arguments
travel by pickle, so `fn` must be importable at module level.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import os
import pickle
import select
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from . import limits
from .decide import PARSE_TIMEOUT, PARSER_CRASH
from .errors import ExtractError
from .parse_worker import HEADER_BYTES, encode_message, precheck_html

__all__ = ["Isolator", "ParseOverrun", "ParserCrash", "default_isolator", "extract_bounded",
           "parse_workers", "precheck_html", "run_bounded"]

T = TypeVar("T")

#: The worker's entry: the parent's import path first, so every module the parent can name
#: (a task's function) is importable in the worker too.
_BOOT = ("import sys; sys.path[:] = sys.argv[4:]; "
         f"from {__name__.rpartition('.')[0]}.parse_worker import main; main()")
#: Seconds a killed or finished worker gets to be reaped before it is left to the OS.
_REAP_S = 5.0

#: Every live worker, so that the interpreter's exit takes its workers along (a worker busy
#: with a long parse would otherwise outlive the service by up to that parse's length).
_live: weakref.WeakSet[_Worker] = weakref.WeakSet()


class _Overrun(Exception):
    """The deadline passed while talking to the worker."""


class ParserCrash(ExtractError):
    """The worker process died during the task (a signal such as SIGSEGV, an abort, a native
    library giving up when the memory limit refused it an allocation): the input, not the
    host, is the likely cause."""

    kind = PARSER_CRASH


class ParseOverrun(ExtractError):
    """The task ran past its deadline; the worker was killed."""

    kind = PARSE_TIMEOUT


class _Worker:
    """One worker process and its two pipes; restarted in place when it overruns or dies."""

    def __init__(self, memory_mb: int | None):
        self._memory_mb = memory_mb
        self.proc: Any = None  # subprocess.Popen once started
        self._send_fd = self._recv_fd = -1
        self._retired = False
        self._start()
        _live.add(self)

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(to_child_r), str(from_child_w),
                 str(self._memory_mb or 0), *(p for p in sys.path if isinstance(p, str))],
                stdin=subprocess.DEVNULL, pass_fds=(to_child_r, from_child_w))
        except (OSError, ValueError) as exc:
            for fd in (to_child_w, from_child_r):
                os.close(fd)
            raise ExtractError(f"could not start a parse worker: {exc}") from None
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        # non-blocking, so a worker that stops reading or writing cannot stall us past the
        # deadline
        os.set_blocking(to_child_w, False)
        os.set_blocking(from_child_r, False)
        self._send_fd, self._recv_fd = to_child_w, from_child_r

    def stop(self) -> None:
        """Kill the process (if it still runs), reap it and close the pipes."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            try:
                self.proc.wait(_REAP_S)
            except Exception:
                pass  # unkillable within the grace time (a process stuck in the kernel)
        for fd in (self._send_fd, self._recv_fd):
            if fd >= 0:
                os.close(fd)
        self._send_fd = self._recv_fd = -1

    def _exit_code(self) -> int | None:
        try:
            return self.proc.wait(_REAP_S)
        except Exception:
            return None

    def retire(self) -> None:
        """Kill the process of a busy worker from another thread; its call then ends with an
        error and the worker is not restarted (its owner stops it when the call returns)."""
        self._retired = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    def _replace(self) -> None:
        self.stop()
        if not self._retired:
            self._start()

    def _wait(self, fd: int, events: int, deadline: float) -> None:
        poller = select.poll()
        poller.register(fd, events)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Overrun
            if poller.poll(left * 1000):
                return

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            self._wait(self._send_fd, select.POLLOUT, deadline)
            try:
                view = view[os.write(self._send_fd, view):]
            except BlockingIOError:
                continue

    def _read(self, size: int, deadline: float) -> bytes | None:
        chunks = []
        while size:
            self._wait(self._recv_fd, select.POLLIN, deadline)
            try:
                chunk = os.read(self._recv_fd, min(size, 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _receive(self, deadline: float) -> tuple[bool, Any] | None:
        header = self._read(HEADER_BYTES, deadline)
        body = None if header is None else self._read(int.from_bytes(header, "little"), deadline)
        if body is None:
            return None
        answer: tuple[bool, Any] = pickle.loads(body)
        return answer

    def call(self, fn: Callable[..., Any], args: tuple, kwargs: dict, timeout_s: float) -> Any:
        """Blocking call with a deadline (runs in a helper thread, never on the event loop)."""
        name = getattr(fn, "__name__", "task")
        try:
            message = encode_message((fn, args, kwargs))
        except Exception as exc:  # e.g. arguments that cannot be pickled
            raise ExtractError(f"{name}: could not hand the task to a worker: {exc}") from None
        if self._retired:
            raise ExtractError(f"{name}: the parse isolator is closed")
        if self._send_fd < 0 or self.proc.poll() is not None:
            # an earlier restart failed, or the idle worker died (killed from outside): the
            # task goes to a fresh one rather than failing for a death it did not cause
            self._replace()
        deadline = time.monotonic() + timeout_s
        try:
            self._send(message, deadline)
            answer = self._receive(deadline)
        except _Overrun:
            self._replace()
            if self._retired:
                raise ExtractError(
                    f"{name}: the parse isolator was closed during the parse") from None
            raise ParseOverrun(
                f"{name}: parse took longer than {timeout_s:g} s; worker killed") from None
        except OSError:  # a broken pipe: the worker died before it read the whole task
            answer = None
        except Exception as exc:  # an answer that does not unpickle here (the stream is intact)
            raise ExtractError(f"{name}: the parse worker's answer was unreadable: {exc}"
                               ) from None
        if answer is None:
            code = self._exit_code()
            self._replace()
            if self._retired:
                raise ExtractError(f"{name}: the parse isolator was closed during the parse")
            raise ParserCrash(f"{name}: the parse worker crashed (exit code {code});"
                              " worker replaced")
        ok, value = answer
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
                    worker = _Worker(self._memory_mb)
                    self._workers.append(worker)
                    return worker
                self._cond.wait()

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if self._closed:
                worker.stop()  # close() ran while this worker was busy
                return
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
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        return self._call(fn, args, kwargs, timeout_s)

    async def run(self, fn: Callable[..., T], *args: Any, timeout_s: float, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a worker; ExtractError on timeout (ParseOverrun), crash
        (ParserCrash) or failure."""
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        import asyncio

        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._threads, self._call, fn, args, kwargs, timeout_s)
        # shield: a cancelled caller must not return a still-busy worker to the pool; the helper
        # thread finishes (within the deadline) and releases it itself
        return await asyncio.shield(future)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers, self._workers = self._workers, []
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            worker.stop()
        # a busy worker's helper thread sees its process die and stops it when releasing it
        for worker in workers:
            if worker not in idle:
                worker.retire()
        self._threads.shutdown(wait=False)

    def __enter__(self) -> Isolator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@atexit.register
def _stop_all_workers() -> None:
    # runs after the interpreter has joined the helper threads, so no call is in flight
    for worker in list(_live):
        worker.stop()


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
    from .extract import extract  # deferred: a parse worker never needs this module

    return await run_bounded(extract, html, timeout_s=timeout_s, **kwargs)
