"""Bounded, crash-proof runs of CPU-bound parsing (HTML extraction, feed parsing).

Two defences, because a parser's worst case is not under our control:

- `precheck_html` (defined in collector.parse_worker, re-exported here) is a cheap look at the
  raw markup before any parser sees it: oversized text is cut, `<option>` floods are dropped,
  and nesting that never closes is refused with ExtractError.
- `Isolator.run` / `run_bounded` call a function in a separate worker process with a hard
  wall-time deadline, which starts when the worker has taken the task (its start-up and the
  import of the function's module are not the parse's). A worker that overruns is killed and
  replaced; one that dies (a segfault in lexbor, the memory limit, `os.abort`) is replaced
  too. Either way the caller gets
  ExtractError with a clear message and the service carries on. The two are told apart by the
  error's `kind`: `ParserCrash` ("parser_crash", the worker died) and `ParseOverrun`
  ("parse_timeout", the deadline passed); an error the parse itself raised has no `kind` of
  its own. A source whose listing crashes the worker poll after poll is quarantined on that
  distinction (collector.decide), while timeouts and malformed input are only backed off.

Workers form a pool (`Isolator`): one per core by default, with a queue per source taken
round robin, and a source whose parses overrun deferred behind the others (the rule is in
`Isolator`'s docstring). `close()` cancels queued parses and kills running ones at shutdown.

A worker is a fresh interpreter running collector.parse_worker (`python -c`, not
multiprocessing): it does not re-import the parent's main module, and it imports only what the
tasks' functions need, so it stays small (see that module). The function and its arguments
travel by pickle, so `fn` must be importable at module level.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
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
from .parse_worker import HEADER_BYTES, TAKEN, encode_message, precheck_html, read_exactly

__all__ = ["Isolator", "ParseOverrun", "ParserCrash", "default_isolator", "extract_bounded",
           "parse_workers", "precheck_html", "run_bounded", "worker_environment"]

T = TypeVar("T")

#: The worker's entry: the parent's import path first, so every module the parent can name
#: (a task's function) is importable in the worker too.
_BOOT = ("import sys; sys.path[:] = sys.argv[4:]; "
         f"from {__name__.rpartition('.')[0]}.parse_worker import main; main()")
#: The largest answer a worker may send (its length is read first and its buffer allocated
#: whole): far above any parse's result, which the worker's memory limit bounds.
_MAX_ANSWER_BYTES = 1 << 30
#: Seconds a killed or finished worker gets to be reaped before it is left to the OS.
_REAP_S = 5.0
#: Seconds a worker gets to take a task (start its interpreter, read the task, import the
#: module of the task's function) before it is deemed hung. Apart from a task's own deadline, which
#: starts when the worker has taken it: start-up costs the same CPU whatever the page, and on
#: a loaded host its wall time must not count against the parse.
_TAKE_S = 60.0

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
    """One worker process and its two pipes; started by its first call, restarted in place
    when it overruns or dies."""

    def __init__(self, memory_mb: int | None):
        self._memory_mb = memory_mb
        self.proc: Any = None  # subprocess.Popen once started
        self._send_fd = self._recv_fd = -1
        self._retired = False
        _live.add(self)

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(to_child_r), str(from_child_w),
                 str(self._memory_mb or 0), *(p for p in sys.path if isinstance(p, str))],
                stdin=subprocess.DEVNULL, pass_fds=(to_child_r, from_child_w),
                env=worker_environment())
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

    def interrupt(self) -> None:
        """Kill the process of a busy worker from another thread; its call ends with an error
        and the next call starts a fresh process."""
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

    def _read(self, size: int, deadline: float) -> bytearray | None:
        """`size` bytes from the worker, each read after polling within `deadline`; None
        when the worker closed its end first."""
        return read_exactly(self._recv_fd, size,
                            lambda: self._wait(self._recv_fd, select.POLLIN, deadline))

    def _receive(self, deadline: float) -> tuple[bool, Any] | None:
        header = self._read(HEADER_BYTES, deadline)
        size = -1 if header is None else int.from_bytes(header, "little")
        # a length no answer can have is a broken stream, taken as the worker's crash (the
        # buffer for it is allocated whole before the read)
        body = self._read(size, deadline) if 0 <= size <= _MAX_ANSWER_BYTES else None
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
        taken = False
        try:
            take_by = time.monotonic() + _TAKE_S
            self._send(message[0], take_by)
            self._send(message[1], take_by)
            del message  # a large task's pickle is not kept through its parse
            taken = self._read(len(TAKEN), take_by) == TAKEN
            answer = self._receive(time.monotonic() + timeout_s) if taken else None
        except _Overrun:
            self._replace()
            if self._retired:
                raise ExtractError(
                    f"{name}: the parse isolator was closed during the parse") from None
            if not taken:
                raise ExtractError(f"{name}: the parse worker did not take the task within "
                                   f"{_TAKE_S:g} s; worker killed") from None
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


class _Task:
    """One parse waiting for, or running in, a worker. Its future is never marked running, so
    a caller that stops waiting can always cancel it; the pool then drops the answer."""

    __slots__ = (
        "args",
        "cancelled_by_pool",
        "fn",
        "future",
        "key",
        "kwargs",
        "started",
        "timeout_s",
    )

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, timeout_s: float,
                 key: str):
        self.fn, self.args, self.kwargs, self.timeout_s, self.key = (fn, args, kwargs, timeout_s,
                                                                      key)
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.started = False
        self.cancelled_by_pool = False


class Isolator:
    """A pool of parse workers with fair queueing by source.

    `await run(fn, *args, timeout_s=..., queue_key=SOURCE_ID)` runs `fn` in a worker process;
    `call` is its synchronous form. At most `workers` parses run at once; each worker process
    starts on first need. A task's deadline starts when a worker takes it.

    Order (the rule, in full):

    - Each `queue_key` (a source) has its own queue. A free worker takes the next task round
      robin across the keys with waiting tasks, one task per key per turn, so a source with
      many queued parses cannot hold back another source's single one.
    - Keys are taken in three standings, the first before the second before the third:
      1. *proven*: the key's latest parse finished within its deadline (or `trust` named it);
      2. *new*: nothing known yet (or its worker crashed);
      3. *deferred*: a parse of the key overran its deadline within the last `defer_s`
         seconds (or `defer` named it). Deferred tasks run, with two workers or more, on at
         most `workers - 1` workers at once, so one worker always stays free for the others.

    `cancel_all()` drops every queued task and kills the running ones; `close()` does that and
    ends the pool. A caller whose task the pool cancelled sees `asyncio.CancelledError` from
    `run` (as if its own task had been cancelled, so a poll stopped this way records no
    failure) and ExtractError from `call`.
    """

    def __init__(self, workers: int = 1, *, memory_mb: int | None = limits.PARSE_MEMORY_MB,
                 defer_s: float = limits.PARSE_DEFER_S,
                 clock: Callable[[], float] = time.monotonic):
        if workers < 1:
            raise ValueError("an isolator needs at least one worker")
        self._size = workers
        self._memory_mb = memory_mb
        self._defer_s = defer_s
        self._clock = clock
        self._cond = threading.Condition()
        #: waiting tasks per key; the dict's order is the rotation (a key served goes last)
        self._queues: dict[str, collections.deque[_Task]] = {}
        #: when each key's latest overrun (or `defer` call) happened
        self._overran_at: dict[str, float] = {}
        #: keys whose latest parse finished within its deadline
        self._proven: set[str] = set()
        self._running: dict[_Worker, _Task] = {}
        self._running_deferred = 0
        self._threads: list[threading.Thread] = []
        self._idle_threads = 0
        self._closed = False

    @property
    def workers(self) -> int:
        return self._size

    # -- queueing ------------------------------------------------------------------------------

    def _deferred(self, key: str, now: float) -> bool:
        at = self._overran_at.get(key)
        if at is None:
            return False
        if now - at < self._defer_s:
            return True
        del self._overran_at[key]
        return False

    def is_deferred(self, key: str) -> bool:
        """Whether `key`'s parses are now taken only after everyone else's."""
        with self._cond:
            return self._deferred(key, self._clock())

    def defer(self, key: str) -> None:
        """Treat `key` as if a parse of it had just overrun (its stored history says its parses
        overran: a restarted service need not learn it again at the others' expense)."""
        with self._cond:
            self._overran_at[key] = self._clock()
            self._proven.discard(key)

    def trust(self, key: str) -> None:
        """Treat `key` as proven (its stored history says its last poll succeeded), unless it
        is deferred."""
        with self._cond:
            self._proven.add(key)

    def _take(self) -> tuple[_Task, bool] | None:
        """The next task by the rule in the class docstring, and whether its key is deferred;
        None when nothing may start now. Called with the lock held."""
        now = self._clock()
        chosen: str | None = None
        new_key: str | None = None
        deferred_key: str | None = None
        for key in self._queues:
            if self._deferred(key, now):
                if deferred_key is None:
                    deferred_key = key
            elif key in self._proven:
                chosen = key
                break
            elif new_key is None:
                new_key = key
        if chosen is None:
            chosen = new_key
        deferred = chosen is None
        if deferred:
            if deferred_key is None or self._running_deferred >= max(1, self._size - 1):
                return None
            chosen = deferred_key
        assert chosen is not None
        queue = self._queues.pop(chosen)
        task = queue.popleft()
        if queue:
            self._queues[chosen] = queue  # to the back of the rotation
        return task, deferred

    def _submit(self, fn: Callable[..., Any], args: tuple, kwargs: dict, timeout_s: float,
                key: str | None) -> _Task:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        task = _Task(fn, args, kwargs, timeout_s, key or "")
        with self._cond:
            if self._closed:
                raise ExtractError("the parse isolator is closed")
            self._queues.setdefault(task.key, collections.deque()).append(task)
            if self._idle_threads == 0 and len(self._threads) < self._size:
                thread = threading.Thread(target=self._serve, name="collector-parse",
                                          daemon=True)
                self._threads.append(thread)
                thread.start()
            else:
                self._cond.notify()
        return task

    # -- the workers' threads ------------------------------------------------------------------

    def _serve(self) -> None:
        """One worker process's thread: take tasks until the pool closes."""
        worker: _Worker | None = None
        try:
            while True:
                with self._cond:
                    picked = None
                    while not self._closed:
                        picked = self._take()
                        if picked is not None:
                            break
                        self._idle_threads += 1
                        self._cond.wait()
                        self._idle_threads -= 1
                    if picked is None:
                        return
                    task, deferred = picked
                    if task.future.cancelled():  # its caller stopped waiting while it queued
                        continue
                    task.started = True
                    self._running_deferred += deferred
                    if worker is None:
                        worker = _Worker(self._memory_mb)
                    self._running[worker] = task
                try:
                    ok, value = True, worker.call(task.fn, task.args, task.kwargs,
                                                  task.timeout_s)
                except Exception as exc:  # the parse's own error (ParseError...) included
                    ok, value = False, exc
                with self._cond:
                    del self._running[worker]
                    self._running_deferred -= deferred
                    if task.cancelled_by_pool:
                        task.future.cancel()
                        # another task may now be allowed to start (the deferred limit)
                        self._cond.notify_all()
                        continue
                    if isinstance(value, ParseOverrun):
                        self._overran_at[task.key] = self._clock()
                        self._proven.discard(task.key)
                    elif isinstance(value, ParserCrash):
                        self._proven.discard(task.key)
                    else:
                        self._proven.add(task.key)
                    if deferred:
                        self._cond.notify_all()
                _settle(task.future, ok, value)
        finally:
            if worker is not None:
                worker.stop()

    # -- callers -------------------------------------------------------------------------------

    def call(self, fn: Callable[..., T], *args: Any, timeout_s: float,
             queue_key: str | None = None, **kwargs: Any) -> T:
        """Synchronous form of `run` (for command-line tools and benchmarks)."""
        task = self._submit(fn, args, kwargs, timeout_s, queue_key)
        try:
            result: T = task.future.result()
            return result
        except concurrent.futures.CancelledError:
            name = getattr(fn, "__name__", "task")
            if task.started:
                raise ExtractError(f"{name}: the parse isolator was closed during the parse"
                                   ) from None
            raise ExtractError(f"{name}: the parse isolator is closed") from None

    async def run(self, fn: Callable[..., T], *args: Any, timeout_s: float,
                  queue_key: str | None = None, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a worker, queued under `queue_key` (a source id); ExtractError
        on timeout (ParseOverrun), crash (ParserCrash) or failure; asyncio.CancelledError when
        the pool cancelled it (`cancel_all`, `close`) or was closed already.

        A cancelled caller's task leaves the queue; if it was running, it runs on (within its
        deadline) and its answer is dropped, so no busy worker is ever handed a second task.
        """
        try:
            task = self._submit(fn, args, kwargs, timeout_s, queue_key)
        except ExtractError:
            raise asyncio.CancelledError("the parse isolator is closed") from None
        result: T = await asyncio.wrap_future(task.future)
        return result

    # -- stopping ------------------------------------------------------------------------------

    def cancel_all(self) -> int:
        """Drop every queued task and kill every running one (their callers are cancelled);
        the pool stays usable and restarts workers as needed. Returns how many were cancelled."""
        return self._cancel(closing=False)

    def _cancel(self, *, closing: bool) -> int:
        with self._cond:
            if closing:
                self._closed = True
                self._cond.notify_all()
            queued = [t for q in self._queues.values() for t in q]
            self._queues.clear()
            running = list(self._running.items())
            for _worker, task in running:
                # marked before the kill, so the caller sees a cancellation, not a crash
                task.cancelled_by_pool = True
        for task in queued:
            task.future.cancel()
        for worker, _task in running:
            if closing:
                worker.retire()
            else:
                worker.interrupt()
        return len(queued) + len(running)

    def close(self, timeout_s: float = _REAP_S) -> None:
        """Cancel everything (see `cancel_all`), end the workers and refuse new tasks. Waits
        at most `timeout_s` for the workers' threads to finish."""
        self._cancel(closing=True)
        deadline = time.monotonic() + timeout_s
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Isolator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _settle(future: concurrent.futures.Future[Any], ok: bool, value: Any) -> None:
    """Hand the answer over unless the caller has stopped waiting."""
    try:
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    except concurrent.futures.InvalidStateError:
        pass  # cancelled by its caller meanwhile


@atexit.register
def _stop_all_workers() -> None:
    # the pools' threads are daemons: a parse still running when the interpreter exits must
    # not keep it waiting, so its process is killed here
    for worker in list(_live):
        worker.stop()


_default: Isolator | None = None
_default_lock = threading.Lock()


def worker_environment() -> dict[str, str]:
    """A parse worker's environment: the parent's, with glibc's mmap threshold fixed
    (limits.MALLOC_MMAP_THRESHOLD; a value set by the user is kept), so that the bodies it
    parses are given back to the system once parsed."""
    env = dict(os.environ)
    env.setdefault("MALLOC_MMAP_THRESHOLD_", str(limits.MALLOC_MMAP_THRESHOLD))
    return env


def parse_workers(cpus: int | None = None) -> int:
    """Parse workers for this host by default: one per usable core (parsing is CPU-bound, and
    two workers on two cores let a healthy source's parse run beside a hostile one's), never
    more than `limits.MAX_PARSE_WORKERS`, never fewer than 1. `settings: fetch: parse_workers`
    overrides it."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    return max(1, min(limits.MAX_PARSE_WORKERS, cpus))


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
