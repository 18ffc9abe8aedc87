"""A loopback server that speaks the Wayback Machine's Save Page Now 2 API (the part
collector.archive uses): `POST /save`, `GET /save/status/<job_id>`.

It keeps what a real archive keeps: the captures it made, by URL and time, and honours
`if_not_archived_within` (a URL captured within that many seconds is not captured again; the
answer names the capture it has). Switches make it answer 429 with a Retry-After, refuse a
URL, report a capture as failed, or be down altogether (`stop`, then `start` on the same
port)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

KEY, SECRET = "test-access", "test-secret"


@dataclass
class Capture:
    job_id: str
    url: str
    at: float


class WaybackServer:
    def __init__(self, port: int = 0):
        self.requests: list[tuple[str, str, dict[str, str], dict[str, list[str]]]] = []
        self.captures: list[Capture] = []
        self.too_many: int = 0            # answer the next N saves with 429
        self.retry_after: str = "120"
        self.refuse: dict[str, str] = {}  # url -> status_ext of a refusal
        self.failing_jobs: set[str] = set()   # status: error
        self.pending_jobs: set[str] = set()   # status: pending
        self._lock = threading.Lock()
        self._port = port
        self.httpd: ThreadingHTTPServer | None = None

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> WaybackServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode("utf-8"))
                server._record("POST", self.path, self.headers, form)
                if self.path != "/save":
                    return self._json(404, {"status": "error", "message": "no such page"})
                if self.headers.get("Authorization") != f"LOW {KEY}:{SECRET}":
                    return self._json(401, {"status": "error", "message": "bad keys"})
                self._json(*server._save(form))

            def do_GET(self) -> None:
                server._record("GET", self.path, self.headers, {})
                prefix = "/save/status/"
                if not self.path.startswith(prefix):
                    return self._json(404, {"status": "error", "message": "no such page"})
                self._json(*server._status(self.path[len(prefix):]))

            def _json(self, status: int, body: dict[str, object],
                      headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self.httpd.daemon_threads = True
        self._port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # -- the API -------------------------------------------------------------------------------

    def _record(self, method: str, path: str, headers: object, form: dict[str, list[str]]
                ) -> None:
        with self._lock:
            self.requests.append((method, path, dict(headers.items()), form))  # type: ignore[attr-defined]

    def _save(self, form: dict[str, list[str]]) -> tuple[int, dict[str, object],
                                                         dict[str, str]]:
        url = (form.get("url") or [""])[0]
        with self._lock:
            if self.too_many > 0:
                self.too_many -= 1
                return 429, {"status": "error", "message": "slow down"}, {
                    "Retry-After": self.retry_after}
            if url in self.refuse:
                return 200, {"status": "error", "status_ext": self.refuse[url],
                             "message": "refused"}, {}
            within = float((form.get("if_not_archived_within") or ["0"])[0] or 0)
            now = time.time()
            for c in reversed(self.captures):
                if c.url == url and now - c.at < within:
                    return 200, {"url": url, "job_id": c.job_id, "message": "recent capture"}, {}
            capture = Capture(f"spn2-{len(self.captures) + 1:04d}", url, now)
            self.captures.append(capture)
            return 200, {"url": url, "job_id": capture.job_id}, {}

    def _status(self, job_id: str) -> tuple[int, dict[str, object], dict[str, str]]:
        with self._lock:
            capture = next((c for c in self.captures if c.job_id == job_id), None)
            if capture is None:
                return 404, {"status": "error", "message": "unknown job"}, {}
            if job_id in self.pending_jobs:
                return 200, {"status": "pending", "job_id": job_id}, {}
            if job_id in self.failing_jobs:
                return 200, {"status": "error", "job_id": job_id,
                             "status_ext": "error:service-unavailable",
                             "message": "capture failed"}, {}
            stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(capture.at))
            return 200, {"status": "success", "job_id": job_id, "timestamp": stamp,
                         "original_url": capture.url}, {}

    def saves(self) -> list[str]:
        with self._lock:
            return [form["url"][0] for m, p, _h, form in self.requests if m == "POST"]
