"""A fetched body: its content codings undone under a cap, and the form a fetch keeps it in.

`Decoding` undoes a response's content codings (gzip, deflate, br, in the order the server
applied them) chunk by chunk, never producing more than the cap: a gzip or brotli bomb stops
at the cap with `FetchError(kind="too_large")`, a body cut short fails with "truncated", a
corrupt one with "decoding". collector.fetch runs it while the body streams in.

`Body` is what a `Fetched` holds. A plain body is its decoded bytes. A body fetched with
`FetchPolicy.compact` and sent compressed keeps only its wire bytes (a 63 KB feed is about
13 KB gzipped): a listing waits for the parse workers with its body in that form, and each
read of `Body.decoded()` decodes it again, under the same cap and with the same errors. Sent to
a parse worker (pickled), a body travels in its wire form and arrives as the decoded bytes, so
the functions that run there take `bytes` as before.

This module imports only the codecs and collector.errors: a parse worker imports it to decode.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

import brotli

from .errors import FetchError


class _TooLarge(Exception):
    pass


def _deflate(first: bytes) -> Any:
    """A decompressor for "deflate", told by the body's first bytes: RFC 9110 "deflate" is
    zlib-wrapped, but raw deflate is common in the wild."""
    raw = not (len(first) >= 2 and first[0] & 0x0F == 8 and
               ((first[0] << 8) | first[1]) % 31 == 0)
    return zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)


class _Decoder:
    """One content-coding, fed raw chunks, never producing more than `limit` bytes per call."""

    def __init__(self, coding: str):
        self.coding = coding
        if coding in ("gzip", "x-gzip"):
            self._z: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._z = None            # zlib-wrapped or raw; decided on the first bytes
        elif coding == "br":
            self._br = brotli.Decompressor()
        else:
            raise ValueError(coding)

    def feed(self, data: bytes, limit: int) -> bytes:
        if self.coding == "br":
            out = self._br.process(data, output_buffer_limit=limit + 1)
            if len(out) > limit or not self._br.can_accept_more_data():
                raise _TooLarge
            return out
        if self._z is None:
            self._z = _deflate(data)
        out = self._z.decompress(data, limit + 1)
        if len(out) > limit:
            raise _TooLarge
        return out

    def prefix(self, data: bytes, n: int) -> bytes:
        """The first `n` bytes `data` decodes to (fewer if it decodes to fewer)."""
        if self.coding == "br":
            return bytes(self._br.process(data, output_buffer_limit=n)[:n])
        if self._z is None:
            self._z = _deflate(data)
        return bytes(self._z.decompress(data, n))

    def finished(self) -> bool:
        if self.coding == "br":
            return self._br.is_finished()
        return self._z is None or self._z.eof


class Decoding:
    """The decoded body of one response, fed its raw chunks in order (`feed`), then `finish`.

    `codings` are the content codings in the order the server applied them; `url` names the
    body in every error."""

    def __init__(self, codings: tuple[str, ...], cap: int, url: str):
        self.codings = codings
        self.cap = cap
        self.url = url
        try:
            self._decoders = [_Decoder(c) for c in reversed(codings)]
        except ValueError as exc:
            raise FetchError(f"unsupported content encoding {exc} from {url}",
                             kind="decoding", url=url) from exc
        self._out = bytearray()

    def feed(self, raw: bytes) -> None:
        out = self._out
        try:
            data = raw
            for d in self._decoders:
                # Each stage may expand; each is held to what is still allowed.
                data = d.feed(data, self.cap - len(out))
            if len(out) + len(data) > self.cap:
                raise _TooLarge
        except _TooLarge as exc:
            raise self._too_large() from exc
        except (zlib.error, brotli.error) as exc:
            raise self._corrupt(exc) from exc
        out += data

    def finish(self) -> bytes:
        if any(not d.finished() for d in self._decoders):
            raise FetchError(f"compressed body from {self.url} ends early", kind="truncated",
                             url=self.url)
        return bytes(self._out)

    def _too_large(self) -> FetchError:
        return FetchError(f"body of {self.url} exceeds the {self.cap}-byte cap (decompressed)",
                          kind="too_large", url=self.url)

    def _corrupt(self, exc: Exception) -> FetchError:
        return FetchError(f"corrupt {'/'.join(self.codings)} body from {self.url}: {exc}",
                          kind="decoding", url=self.url)


def decode(wire: bytes, codings: tuple[str, ...], cap: int, url: str) -> bytes:
    """`wire` with its content codings undone, under `cap` (errors as `Decoding`'s)."""
    if not codings:
        return wire
    decoding = Decoding(codings, cap, url)
    decoding.feed(wire)
    return decoding.finish()


class Body:
    """A fetched body: decoded (no `codings`), or as sent, with the codings to undo.

    `size` is the decoded length and `sha256` the decoded bytes' hex digest; a compressed body
    is given both by the fetch that decoded it."""

    __slots__ = ("_sha256", "cap", "codings", "size", "url", "wire")
    #: whether the bytes were let go (`SpentBody`)
    spent = False

    def __init__(self, wire: bytes, codings: tuple[str, ...] = (), *, cap: int = 0,
                 url: str = "", size: int | None = None, sha256: str | None = None):
        self.wire = wire
        self.codings = codings
        self.cap = cap
        self.url = url
        self.size = len(wire) if size is None else size
        self._sha256 = sha256

    def decoded(self) -> bytes:
        """The body's bytes (a compressed body is decoded again at each call)."""
        return decode(self.wire, self.codings, self.cap, self.url)

    def head(self, n: int) -> bytes:
        """The first `n` bytes of the decoded body (all of it when shorter); of a body in one
        compression, no more is decoded than that takes."""
        if not self.codings:
            return self.wire[:n]
        if len(self.codings) > 1:
            return self.decoded()[:n]
        try:
            return _Decoder(self.codings[0]).prefix(self.wire, n)
        except (zlib.error, brotli.error) as exc:
            raise Decoding(self.codings, self.cap, self.url)._corrupt(exc) from exc

    def sha256(self) -> str:
        """The hex SHA-256 of the decoded body."""
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.decoded()).hexdigest()
        return self._sha256

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # pickled (for a parse worker), the body travels as sent and is decoded on arrival
        return decode, (self.wire, self.codings, self.cap, self.url)

    # a copy (copy.copy, copy.deepcopy, dataclasses.asdict) is the same body, never bytes:
    # nothing of it changes once made
    def __copy__(self) -> Body:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Body:
        return self

    def __repr__(self) -> str:
        form = "+".join(self.codings) if self.codings else "decoded"
        return f"Body({self.size} bytes, {form}, {len(self.wire)} held)"


class SpentBody(Body):
    """A body let go of once it was parsed: its decoded size and SHA-256 are kept (what the
    poll's record needs of it), its bytes are not, and reading them is a bug that fails loudly.
    """

    __slots__ = ()
    spent = True

    def __init__(self, body: Body):
        super().__init__(b"", cap=body.cap, url=body.url, size=body.size, sha256=body.sha256())

    def decoded(self) -> bytes:
        raise RuntimeError(f"the body of {self.url} was let go once parsed")

    def head(self, n: int) -> bytes:
        return self.decoded()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.decoded(), ()  # never sent to a worker: fails as a read does

