"""The only user of httpx: a client with conditional GET, a whole-request deadline and a size cap.

(First version; politeness, robots.txt and address safety are added by the fetching work.)
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from . import __version__, limits
from .errors import FetchError, NotModified
from .models import Fetched


@dataclass(frozen=True)
class FetchPolicy:
    """Per-request rules, usually derived from a source's configuration."""

    allow_private: bool = False
    robots: bool = True
    max_bytes: int = limits.MAX_BODY_BYTES
    deadline_s: float = limits.REQUEST_DEADLINE_S


def user_agent(contact: str | None = None) -> str:
    extra = f"; +{contact}" if contact else ""
    return f"collector/{__version__} (statement monitor{extra})"


class Fetcher:
    def __init__(self, *, user_agent: str = user_agent()) -> None:
        self._client = httpx.AsyncClient(
            headers={"User-Agent": user_agent},
            timeout=httpx.Timeout(limits.PHASE_TIMEOUT_S),
            follow_redirects=True,
            trust_env=False,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    policy: FetchPolicy = FetchPolicy()) -> Fetched:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        start = time.monotonic()
        try:
            async with asyncio.timeout(policy.deadline_s):
                async with self._client.stream("GET", url, headers=headers) as resp:
                    if resp.status_code == 304:
                        raise NotModified(url)
                    if resp.status_code >= 400:
                        raise FetchError(f"HTTP {resp.status_code} from {url}", kind="http_status",
                                         url=url, status=resp.status_code)
                    chunks = []
                    size = 0
                    async for chunk in resp.aiter_bytes():
                        size += len(chunk)
                        if size > policy.max_bytes:
                            raise FetchError(f"body larger than {policy.max_bytes} bytes",
                                             kind="too_large", url=url)
                        chunks.append(chunk)
                    return Fetched(
                        url=url, final_url=str(resp.url), status=resp.status_code,
                        headers={k.lower(): v for k, v in resp.headers.items()},
                        content=b"".join(chunks), etag=resp.headers.get("etag"),
                        last_modified=resp.headers.get("last-modified"),
                        elapsed_s=time.monotonic() - start)
        except TimeoutError as exc:
            raise FetchError(f"no complete answer from {url} within {policy.deadline_s:.0f} s",
                             kind="timeout", url=url) from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc} ({url})", kind="network", url=url) from exc
