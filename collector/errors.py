"""The one exception tree of the project.

    CollectorError
    ├── ConfigError            sources.yaml or settings are invalid (carries every problem found)
    ├── FetchError             a request failed; `.kind` classifies it (dns, refused, tls, timeout,
    │   │                      http_status, too_large, too_many_redirects, blocked_address,
    │   │                      robots, content_type, ...)
    │   └── NotModified        (not an error to the user) the server said 304 / body hash unchanged
    ├── ParseError             a feed, sitemap or page could not be understood
    ├── ExtractError           a page yielded no usable document
    ├── StoreError             the database or the corpus directory failed
    └── DeliveryError          a digest could not be delivered (SMTP, feed file, apprise)

Library exceptions are wrapped at the module edge that calls the library, with the source named
where one is known, so callers only ever catch these.
"""

from __future__ import annotations


class CollectorError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(CollectorError):
    """Configuration is invalid. `problems` holds every message, each naming file and line."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class FetchError(CollectorError):
    """A fetch failed. `kind` is a short stable classification used in status and metrics."""

    def __init__(self, message: str, *, kind: str = "error", url: str | None = None,
                 status: int | None = None, retry_after: float | None = None):
        self.kind = kind
        self.url = url
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class NotModified(FetchError):
    """The resource has not changed since the last fetch (HTTP 304 or identical body)."""

    def __init__(self, url: str | None = None, headers: dict[str, str] | None = None):
        super().__init__("not modified", kind="not_modified", url=url, status=304)
        #: the 304's headers (lower-case names), when it came from the server
        self.headers = headers or {}


class ParseError(CollectorError):
    """A feed, sitemap or listing page could not be parsed into items."""


class ExtractError(CollectorError):
    """A page yielded no usable main text."""


class StoreError(CollectorError):
    """The database or the corpus directory failed."""


class DeliveryError(CollectorError):
    """A digest could not be delivered; `temporary` says whether retrying may help."""

    def __init__(self, message: str, *, temporary: bool = True):
        self.temporary = temporary
        super().__init__(message)
