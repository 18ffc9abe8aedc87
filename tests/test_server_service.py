"""`collector run` wiring: the Service starts the HTTP server on settings.bind and stops it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx

from collector.scheduler import Service
from collector.store import Store
from tests.helpers import load
from tests.pages import article, rss_feed
from tests.test_server_helpers import T0
from tests.webserver import Page


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_service_serves_pages_on_the_configured_address_until_stopped(tmp_path, site):
    site.pages["/feed/"] = Page(rss_feed("Red Dawn", site.base, [article(1, "Dockers", T0)]),
                                "application/rss+xml")
    port = free_port()
    config = load(tmp_path, f"""sources:
  - id: reddawn
    name: Red Dawn
    url: {site.url('/feed/')}
    kind: feed
""", settings_extra=f"  bind: 127.0.0.1:{port}\n")
    store = Store(config.settings.database_url)
    loop = asyncio.new_event_loop()
    service_box: list[Service] = []

    async def main() -> None:
        service = Service(config, store)
        service_box.append(service)
        await service.run()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        status = None
        for _ in range(100):  # bounded: at most ~10 s for the service to come up and tick
            try:
                status = httpx.get(base + "/healthz", timeout=2).status_code
            except httpx.ConnectError:
                status = None
            if status == 200:
                break
            time.sleep(0.1)
        assert status == 200
        page = httpx.get(base + "/sources", timeout=5)
        assert page.status_code == 200 and "Red Dawn" in page.text
    finally:
        if service_box:
            loop.call_soon_threadsafe(service_box[0].stop)
        thread.join(timeout=30)
        if not thread.is_alive():
            loop.close()
        store.close()
    assert not thread.is_alive()
    try:
        httpx.get(base + "/healthz", timeout=2)
        still_listening = True
    except httpx.ConnectError:
        still_listening = False
    assert not still_listening
