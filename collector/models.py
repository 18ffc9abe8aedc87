"""Frozen dataclasses that cross module boundaries.

No feedparser dicts, selectolax nodes, httpx responses or ORM rows leave the module that made
them: they are turned into these first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .body import Body


@dataclass(frozen=True)
class Wire:
    """One HTTP exchange as it went over the wire, kept when a fetch is captured (WARC):
    the request as sent, and the response as received (status line, headers and body still
    in its content and transfer codings), from the last hop of the redirects."""

    url: str                      # the URL of that hop
    status: int
    request: bytes
    response: bytes
    #: when the request of that hop was sent (UTC)
    fetched_at: datetime
    #: "sha256:<hex>" of the body once its content codings are undone
    decoded_digest: str
    decoded_length: int
    #: the address the connection went to
    ip: str | None = None


@dataclass(frozen=True)
class Fetched:
    """A completed HTTP fetch (2xx, body read within the limits)."""

    url: str                      # the URL asked for
    final_url: str                # the URL after redirects
    status: int
    headers: dict[str, str]       # lower-cased names
    #: the body, decoded or (fetched with `FetchPolicy.compact`) as sent: read `content`
    body: Body = field(repr=False)
    etag: str | None = None
    last_modified: str | None = None
    elapsed_s: float = 0.0
    #: set when every redirect hop was permanent (301/308): where the resource now lives
    moved_to: str | None = None
    #: the exchange as fetched, when the policy asked for capture (FetchPolicy.capture)
    wire: Wire | None = field(default=None, repr=False, compare=False)
    #: when the request of the last hop was sent (UTC)
    fetched_at: datetime | None = None

    @property
    def content(self) -> bytes:
        """The decoded (decompressed) body; decoded again at each read of a compact body."""
        return self.body.decoded()

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Candidate:
    """One item found by discovery (a feed entry, a link on a listing page, a sitemap URL)."""

    key: str                              # stable identity within the source (guid, link, hash)
    url: str | None                       # the article page, if any
    title: str | None = None
    published: datetime | None = None     # as given by the feed/sitemap/listing (UTC)
    content_html: str | None = None       # full text carried by the feed (content:encoded)
    summary_html: str | None = None
    author: str | None = None
    #: the item carries its whole text (a channel post, a mail): its URL is not fetched
    complete: bool = False
    #: a whole HTML page carried with the item (a mail's HTML part), extracted like a page
    page_html: str | None = None
    #: other addresses of the same statement (a listing row's other languages or formats)
    alternates: tuple[str, ...] = ()
    #: only `key`, `url` and `published` are read (a feed scanned for what is new): the rest
    #: comes from parsing the feed again for this item (collector.discover.feed.parse_feed)
    identity_only: bool = False


@dataclass(frozen=True)
class Extracted:
    """What the extractor made of one page: a document's text and what was learned about it."""

    title: str
    blocks: tuple[str, ...]
    #: aware; in the offset the page gives (its calendar day is the publisher's), else UTC
    published: datetime | None = None
    canonical_url: str | None = None
    language: str | None = None
    author: str | None = None
    method: str = "page"                  # page | selector | metadata | feed | pdf | ...
    flags: tuple[str, ...] = field(default=())  # e.g. ("short",), ("scanned",)
    #: pages of the document the text came from (PDF, DOCX, ODT), when known
    pages: int | None = None
    #: other places this text stands, as (url, how): the article page that only linked to its
    #: document ("page"), a listing row's other languages or formats ("variant")
    locations: tuple[tuple[str, str], ...] = ()
    #: the fetch the text came from (its page or document), when one was made; set in the
    #: main process after the parse, never sent to a parse worker
    fetched: Fetched | None = field(default=None, repr=False, compare=False)

    @property
    def word_count(self) -> int:
        return sum(len(b.split()) for b in self.blocks)


@dataclass(frozen=True, slots=True)   # one per source, kept to the end of a poll
class PollOutcome:
    """The result of polling one source once; failures are results, not exceptions."""

    source_id: str
    ok: bool
    new_documents: int = 0
    duplicates: int = 0
    skipped: int = 0
    not_modified: bool = False
    error: str | None = None
    error_kind: str | None = None
    elapsed_s: float = 0.0
    method: str | None = None
    #: new items of the listing this poll did not take (the per-poll cap, the time budget):
    #: they are taken by the next poll, due again soon (limits.BACKLOG_DELAY_S)
    left: int = 0


@dataclass(frozen=True)
class CaptureRef:
    """Where one captured fetch lies in the WARC files: the file, the byte range of its
    records (request, response, metadata; each a gzip member) and their record ids."""

    file: str
    offset: int
    length: int
    response_id: str
    request_id: str
    metadata_id: str


@dataclass(frozen=True)
class Provenance:
    """How a statement's stored text was obtained: the fetch (None for a text carried by a
    feed or a channel, which fetched no page of its own), its capture, and the text's hash."""

    text_hash: str                      # "sha256:<hex>" of the stored text (UTF-8)
    requested_url: str | None = None
    final_url: str | None = None
    status: int | None = None
    fetched_at: datetime | None = None
    warc_record_id: str | None = None   # the response record, when captured
