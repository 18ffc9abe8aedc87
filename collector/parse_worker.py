"""What runs inside a parse worker process: its request loop and the markup pre-check.

`collector.isolate` starts the worker as `python -c` with `main`, and talks to it over two
pipes. Each message is a pickle preceded by its length as 8 little-endian bytes: requests are
`(fn, args, kwargs)`, answers `(True, result)` or `(False, exception)`.

The worker is kept lean on purpose (about 27 MB resident after a feed and an article, against
48 MB as a multiprocessing child): this module imports nothing beyond the standard library's
core and `collector.errors`, and the worker never imports the parent's main module (the
`collector` command would drag in its own imports). What a task needs arrives with it: the
unpickled function's module imports feedparser, selectolax or charset-normalizer, and only that.
OpenSSL and chardet are refused outright (see `_refuse_openssl` and `_refuse_chardet`).

`precheck_html` lives here because every HTML parse in the worker starts with it; it must not
pull in the parent's process machinery (collector.isolate).
"""

from __future__ import annotations

import os
import pickle
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from . import limits
from .errors import CollectorError, ExtractError

T = TypeVar("T")

#: Length prefix of every message on the worker's pipes (little-endian), both ways.
HEADER_BYTES = 8
#: Written by the worker when it has read a task (and imported the module of the task's
#: function), before it runs it: the task's deadline starts there (collector.isolate).
TAKEN = b"\x01"

_OPTION_TAG = re.compile(rb"</?option\b[^>]*>", re.IGNORECASE)
#: The opening `<option` tags that count towards a flood, in any letter case (a hostile page
#: could write `<oPtIoN>`).
_OPTION_OPEN = re.compile(rb"<option", re.IGNORECASE)
#: Consecutive opening tags (only text between them): nesting that never closes.
_DEEP = re.compile(rb"(?:<[A-Za-z][^<>]*>[^<]*){" + str(limits.MAX_NESTING_DEPTH).encode() + b"}")
#: The shortest opening tag is three bytes (`<a>`): a stretch without any `</` shorter than this
#: cannot nest too deeply, so the exact (slower) scan runs only on the rare long stretches.
_MIN_DEEP_BYTES = 3 * limits.MAX_NESTING_DEPTH
#: Below this many `<option` tags a page's selects are harmless: lexbor is quadratic in the
#: options of one select (parse of one select, CPU: 1,000 options 3 ms, 4,000 42 ms, 8,000
#: 225 ms, 16k 1.4 s, 64k 48 s). The option count runs only on pages with more `<` than this
#: (36 of the 791 pages of the first shared set; 599 have more than 1,000), and it is a scan of
#: the whole page (about 5 % of an extraction's instructions where it runs).
_MAX_OPTIONS = 4000


def precheck_html(html: T) -> T:
    """Make raw HTML (bytes or str) safe to hand to the parser, or raise ExtractError.

    The text is cut at `limits.MAX_HTML_BYTES`; `<option>` floods (which make lexbor crawl) are
    dropped; a run of more than `limits.MAX_NESTING_DEPTH` opening tags with no closing tag
    between them is refused. Cost: about 0.15 ms for a 180 KB page (two passes over the bytes:
    the `<` count, then the option count on pages with over 4000 tags; numpy did both in
    0.06 ms, but costs a worker 15 MB and 75 ms to load).
    """
    if isinstance(html, str):
        return precheck_html(html.encode("utf-8", "replace")).decode(  # type: ignore[return-value]
            "utf-8", "replace")
    if not isinstance(html, bytes):
        raise ExtractError(f"expected HTML as bytes or str, got {type(html).__name__}")
    data: bytes = html[: limits.MAX_HTML_BYTES]
    tags = _count_lt(data)
    # a page with few tags cannot hold an option flood, so the option count runs only on pages
    # with many
    if tags > _MAX_OPTIONS and len(_OPTION_OPEN.findall(data)) > _MAX_OPTIONS:
        data = _OPTION_TAG.sub(b" ", data)
        tags = _count_lt(data)
    if tags > limits.MAX_NESTING_DEPTH:  # rare: real pages have < 10k tags
        for stretch in data.split(b"</"):
            if (len(stretch) > _MIN_DEEP_BYTES and stretch.count(b"<") > limits.MAX_NESTING_DEPTH
                    and _DEEP.search(stretch)):
                raise ExtractError(
                    f"the page nests more than {limits.MAX_NESTING_DEPTH} elements without"
                    " closing any; refused before parsing")
    return data  # type: ignore[return-value]


def _count_lt(data: bytes) -> int:
    """How many `<` the bytes hold. `bytes.replace` finds a single byte with memchr: about
    twice as fast as `bytes.count`, which compares byte by byte (0.06 ms for 180 KB)."""
    return len(data) - len(data.replace(b"<", b""))


# --- framing (used by both ends) ------------------------------------------------------------


def encode_message(obj: Any) -> tuple[bytes, bytes]:
    """`obj` pickled, and the header giving its length: (header, pickle), written one after
    the other (joined, a large body such as a 2 MB feed would be copied once more)."""
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(body).to_bytes(HEADER_BYTES, "little"), body


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exactly(fd: int, size: int,
                 wait: Callable[[], None] | None = None) -> bytearray | None:
    """`size` bytes from `fd`, read into one buffer (a message of megabytes is not held
    twice, as pieces and joined), or None when the other end closed first. `wait`, if given,
    runs before each read (the parent polls its non-blocking pipe with a deadline there)."""
    data = bytearray(size)
    with memoryview(data) as view:
        got = 0
        while got < size:
            if wait is not None:
                wait()
            try:
                n = os.readv(fd, [view[got:]])
            except BlockingIOError:
                continue
            if not n:
                return None
            got += n
    return data


def read_message(fd: int) -> tuple[bool, Any]:
    """(True, unpickled object) or (False, None) when the other end closed."""
    header = read_exactly(fd, HEADER_BYTES)
    if header is None:
        return False, None
    body = read_exactly(fd, int.from_bytes(header, "little"))
    if body is None:
        return False, None
    return True, pickle.loads(body)


# --- the worker -----------------------------------------------------------------------------


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass  # not every platform lets a process cap itself; the deadline still holds


def _answer(request: Any) -> tuple[bool, Any]:
    try:
        fn, args, kwargs = request
        return True, fn(*args, **kwargs)
    except CollectorError as exc:
        return False, exc
    except MemoryError:
        return False, ExtractError("the parse ran out of memory")
    except Exception as exc:
        return False, ExtractError(f"the parse failed: {type(exc).__name__}: {exc}")


def _refuse_openssl() -> None:
    """Make `import ssl` and OpenSSL's hashes unavailable in this process.

    The worker never opens a connection, yet feedparser imports urllib.request (for a URL
    fetcher we do not use), which imports ssl when it can; that and hashlib map libssl and
    libcrypto, about 5 MB resident. Both imports fall back cleanly: urllib works without ssl,
    and hashlib uses Python's own SHA-2 and MD5, which give the same digests. Python builds
    without those built-in hashes keep OpenSSL's.
    """
    sys.modules.setdefault("_ssl", None)  # type: ignore[arg-type]
    for builtin_sha2 in ("_sha2", "_sha256"):  # the module's name since 3.12, and before
        try:
            __import__(builtin_sha2)
        except ImportError:
            continue
        sys.modules.setdefault("_hashlib", None)  # type: ignore[arg-type]
        return


def _refuse_chardet() -> None:
    """Make `import chardet` (and cchardet) fail in this process.

    feedparser imports chardet when it is installed and asks it for a guess after the
    encodings a feed declares and before UTF-8 and windows-1252. Every body reaches feedparser
    valid UTF-8 or naming its encoding (`collector.discover.feed.readable_body` decodes one
    that names none by our own detection), so without chardet feedparser takes the declared
    encoding or UTF-8, where chardet's guess, asked first, could only mistake valid UTF-8 for
    something else. Refused here, a feed parses the same whatever the environment holds, and
    the worker does not load chardet's tables (2 MB resident). Called first thing in `main`,
    before anything imports it.
    """
    for name in ("chardet", "cchardet"):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def loaded_modules() -> list[str]:
    """The names of the modules this process has imported (run in a worker: what it holds)."""
    return sorted(name for name, module in sys.modules.items() if module is not None)


def serve(read_fd: int, write_fd: int, memory_mb: int | None) -> None:
    """Answer requests until the parent closes its end of the pipe."""
    if memory_mb:
        _limit_memory(memory_mb)
    while True:
        unread: tuple[bool, Any] | None = None
        try:
            ok, request = read_message(read_fd)
        except (OSError, EOFError):
            return
        except Exception as exc:  # e.g. the function's module cannot be imported here
            unread = (False, ExtractError(
                f"the parse worker could not read the task: {type(exc).__name__}: {exc}"))
        else:
            if not ok:
                return
        try:
            write_all(write_fd, TAKEN)
        except OSError:
            return  # the parent is gone
        answer = unread or _answer(request)
        try:
            message = encode_message(answer)
        except Exception as exc:  # the result or the exception could not be pickled
            message = encode_message(
                (False, ExtractError(f"the parse result could not be returned: {exc}")))
        try:
            for part in message:
                write_all(write_fd, part)
        except OSError:
            return  # the parent is gone


def main() -> None:
    """Entry point: `sys.argv[1:4]` are the read fd, the write fd and the memory cap in MB."""
    import signal

    # Ctrl-C reaches the whole process group; the parent decides when its workers end
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _refuse_openssl()
    _refuse_chardet()
    read_fd, write_fd, memory_mb = (int(a) for a in sys.argv[1:4])
    serve(read_fd, write_fd, memory_mb or None)
