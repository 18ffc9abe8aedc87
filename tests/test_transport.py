"""The HTTP/1.1 transport under the fetcher: keep-alive reuse, a kept-alive connection the
server dropped, the bound on idle connections, and response heads that never end.

A small raw keep-alive server on loopback (the shared bad server always closes after one
answer) counts connections, so reuse is observed from the server's side.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from collector.errors import FetchError
from collector.fetch import Fetcher, FetchPolicy

POLICY = FetchPolicy(allow_private=True, robots=False, expected="any")
BODY = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


class KeepAliveServer:
    """Answers every request on a connection until the client closes it; `mode` changes it:
    "drop-idle" closes each connection right after its first answer (without saying so),
    "endless-head" sends header lines forever."""

    def __init__(self, mode: str = "normal") -> None:
        self.mode = mode
        self.connections = 0
        self.requests = 0
        self.open = 0
        self.open_at_end = 0
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def __aenter__(self) -> KeepAliveServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    def url(self, path: str = "/feed", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        try:
            for _ in range(20):  # bounded: no test sends more on one connection
                try:
                    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                self.requests += 1
                if self.mode == "endless-head":
                    writer.write(b"HTTP/1.1 200 OK\r\n")
                    for i in range(200_000):  # bounded: ~4 MB of headers at most
                        writer.write(f"X-Filler-{i}: {'a' * 10}\r\n".encode())
                        if i % 1000 == 0:
                            try:
                                await writer.drain()
                            except ConnectionError:
                                return
                    return
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                             b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
                await writer.drain()
                if self.mode == "drop-idle":
                    return
        finally:
            self.open -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _resolve(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]  # every test name is this loopback server


def run(mode: str, body, **fetcher_kw) -> KeepAliveServer:
    """Run `body(fetcher, server)` against a fresh server; return the server for its counts."""
    async def go() -> KeepAliveServer:
        async with KeepAliveServer(mode) as server:
            async with Fetcher(per_host_delay_s=0.0, resolver=_resolve, **fetcher_kw) as fetcher:
                await body(fetcher, server)
                await asyncio.sleep(0.2)  # let closes reach the server
                server.open_at_end = server.open
            await asyncio.sleep(0.2)  # the fetcher's own closes, before the server stops
            return server
    return asyncio.run(go())


def test_second_request_to_a_host_reuses_the_connection() -> None:
    async def body(fetcher: Fetcher, server: KeepAliveServer) -> None:
        for _ in range(3):
            got = await fetcher.fetch(server.url(), policy=POLICY)
            assert got.content == BODY

    server = run("normal", body)
    assert server.requests == 3
    assert server.connections == 1


def test_connection_dropped_while_idle_is_replaced_without_an_error() -> None:
    async def body(fetcher: Fetcher, server: KeepAliveServer) -> None:
        first = await fetcher.fetch(server.url(), policy=POLICY)
        await asyncio.sleep(0.1)  # the server has closed the kept-alive connection by now
        second = await fetcher.fetch(server.url(), policy=POLICY)
        assert first.content == second.content == BODY

    assert run("drop-idle", body).connections == 2


def test_idle_connections_beyond_the_bound_are_closed() -> None:
    async def body(fetcher: Fetcher, server: KeepAliveServer) -> None:
        for i in range(10):
            await fetcher.fetch(server.url(host=f"origin{i}.test"), policy=POLICY)

    server = run("normal", body, global_concurrency=4)
    assert server.connections == 10
    assert server.open_at_end == 4  # the Fetcher keeps as many idle as it runs requests at once


def test_endless_response_head_is_cut_off() -> None:
    async def body(fetcher: Fetcher, server: KeepAliveServer) -> None:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(server.url(), policy=POLICY)
        assert info.value.kind == "protocol"
        assert server.url() in str(info.value)

    assert run("endless-head", body).requests == 1
