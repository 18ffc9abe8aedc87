"""A loopback web server for the fixture sites in this directory, one origin per site.

A request path maps to a file under the site's directory: `/a/b/` → `a/b/index.html`,
`/a/b.html` → `a/b.html`, and a query string is appended to the file name after `@`
(`/?format=feed&type=rss` → `index.html@format=feed&type=rss`). The content type is sniffed
from the body the way a CMS would send it (RSS, Atom, XML, gzip or HTML). Missing files are 404.
`http://SITE` in a file stands for the site's own origin (CMSs write absolute links).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent


def _content_type(body: bytes) -> str:
    head = body[:400].lstrip()
    if head.startswith(b"\x1f\x8b"):
        return "application/x-gzip"
    if b"<rss" in head:
        return "application/rss+xml; charset=UTF-8"
    if b"<feed" in head:
        return "application/atom+xml; charset=UTF-8"
    if b"<urlset" in head or b"<sitemapindex" in head or head.startswith(b"<?xml"):
        return "application/xml; charset=UTF-8"
    if head.startswith(b"User-agent") or head.startswith(b"Sitemap"):
        return "text/plain"
    return "text/html; charset=UTF-8"


def _resolve(root: Path, raw_path: str) -> Path | None:
    parts = urlsplit(raw_path)
    path = unquote(parts.path)
    name = path.lstrip("/")
    if not name or name.endswith("/"):
        name += "index.html"
    if parts.query:
        name += "@" + unquote(parts.query)
    target = (root / name).resolve()
    if target.is_dir():
        target = target / "index.html"
    if root not in target.parents or not target.is_file():
        return None
    return target


class _Handler(BaseHTTPRequestHandler):
    root: Path
    requests: list[str]
    origin: bytes

    def do_GET(self) -> None:
        self.requests.append(self.path)
        target = _resolve(self.root, self.path)
        if target is None:
            body = b"<html><body><h1>Not found</h1></body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
        else:
            body = target.read_bytes()
            if not body.startswith(b"\x1f\x8b"):
                body = body.replace(b"http://SITE", self.origin)
            self.send_response(200)
            self.send_header("Content-Type", _content_type(body))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(root: Path):
    """Serve one site directory on 127.0.0.1 and a free port; yields (base_url, request_log)."""
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"root": root.resolve(), "requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.origin = f"http://127.0.0.1:{server.server_address[1]}".encode()
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
