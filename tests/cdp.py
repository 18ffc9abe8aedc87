"""A small driver for headless Chromium over the DevTools protocol, for the page tests.

Debian's /usr/bin/chromium is started with a remote-debugging port on 127.0.0.1 and the
protocol is spoken over aiohttp's WebSocket client (already a dependency): set the viewport,
the colour scheme, navigate, evaluate script, click with the mouse and take screenshots.
Chromium reaches 127.0.0.1 only: proxies off, every other host name resolves to nothing.
Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = Path("/usr/bin/chromium")
#: Seconds Chromium may take to start and open its debugging port (a cold start is ~2 s).
START_TIMEOUT_S = 60
#: Seconds one protocol command or page load may take.
COMMAND_TIMEOUT_S = 30


class Browser:
    """`async with Browser(profile) as b:` one Chromium with one page."""

    def __init__(self, profile: Path):
        self.profile = profile
        self.proc: subprocess.Popen[str] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.ids = itertools.count(1)
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.console: list[str] = []
        self.drainer: threading.Thread | None = None

    async def __aenter__(self) -> Browser:
        self.proc = subprocess.Popen(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={self.profile}", "--no-proxy-server",
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             "--hide-scrollbars", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = await asyncio.wait_for(asyncio.to_thread(self._port), START_TIMEOUT_S)
        # keep reading Chromium's log so that a full pipe can never stall it
        self.drainer = threading.Thread(target=self._drain_stderr, daemon=True)
        self.drainer.start()
        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as r:
            targets = await r.json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self.reader = asyncio.create_task(self._read())
        await self.send("Page.enable")
        await self.send("Runtime.enable")
        return self

    def _port(self) -> int:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                return int(m.group(1))
        raise RuntimeError("Chromium exited before opening its debugging port")

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for _line in self.proc.stderr:
            pass

    async def __aexit__(self, *exc: object) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            if self.drainer is not None:
                self.drainer.join(timeout=10)
            if self.proc.stderr is not None:
                self.proc.stderr.close()

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self.waiting:
                self.waiting.pop(data["id"]).set_result(data)
            elif data.get("method") == "Runtime.consoleAPICalled":
                self.console.append(str(data["params"].get("args")))
            elif data.get("method") == "Runtime.exceptionThrown":
                self.console.append(str(data["params"]))
            else:
                self.events.put_nowait(data)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        assert self.ws is not None
        n = next(self.ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[n] = fut
        await self.ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
        reply = await asyncio.wait_for(fut, COMMAND_TIMEOUT_S)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    async def _until_loaded(self) -> None:
        async def wait() -> None:
            while True:
                event = await self.events.get()
                if event.get("method") == "Page.loadEventFired":
                    return
        await asyncio.wait_for(wait(), COMMAND_TIMEOUT_S)

    def _drain(self) -> None:
        while not self.events.empty():
            self.events.get_nowait()

    async def viewport(self, width: int, height: int = 900, *, dark: bool = False) -> None:
        await self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=width < 600)
        await self.send("Emulation.setEmulatedMedia", features=[
            {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])

    async def goto(self, url: str) -> None:
        self._drain()
        await self.send("Page.navigate", url=url)
        await self._until_loaded()

    async def js(self, expression: str) -> Any:
        reply = await self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                                awaitPromise=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def click(self, selector: str) -> None:
        """A real mouse click in the middle of the first element matching `selector`, then
        wait for the page it leads to."""
        box = await self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        x, y = box
        self._drain()
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                            clickCount=1)
        await self._until_loaded()

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
