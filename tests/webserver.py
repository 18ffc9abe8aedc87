"""A real HTTP server on loopback serving fixture sites from a dict, recording every request."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    body: bytes | str
    content_type: str | None = "text/html; charset=utf-8"     # None: no Content-Type header
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass
class Request:
    path: str
    headers: dict[str, str]


class _Ipv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class SiteServer:
    """Serves `pages[path]`; answers 304 to a matching If-None-Match / If-Modified-Since.
    `host` may be an IPv6 literal (`::1`); `base` then writes it in brackets."""

    def __init__(self, host: str = "127.0.0.1"):
        self.pages: dict[str, Page] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(Request(self.path, {k.lower(): v for k, v in
                                                               self.headers.items()}))
                    page = server.pages.get(self.path)
                if page is None:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})
                    return
                inm = self.headers.get("If-None-Match")
                ims = self.headers.get("If-Modified-Since")
                if page.status == 200 and ((page.etag and inm == page.etag) or (
                        page.last_modified and not page.etag and ims == page.last_modified)):
                    self._send(304, b"", {})
                    return
                headers = {"Content-Type": page.content_type} if page.content_type else {}
                headers.update(page.headers)
                if page.etag:
                    headers["ETag"] = page.etag
                if page.last_modified:
                    headers["Last-Modified"] = page.last_modified
                self._send(page.status, page.data(), headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

        ipv6 = ":" in host
        self.httpd = (_Ipv6Server if ipv6 else ThreadingHTTPServer)((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://[{host}]:{self.port}" if ipv6 else f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


def serve(host: str = "127.0.0.1") -> Iterator[SiteServer]:
    server = SiteServer(host).start()
    try:
        yield server
    finally:
        server.stop()
