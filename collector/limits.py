"""Named limits and defaults, each with the reason it has the value it has."""

from __future__ import annotations

# --- fetching -------------------------------------------------------------------------------
#: Whole-request deadline; httpx timeouts are per phase, so a server dripping a byte at a time
#: would otherwise hold a poll forever.
REQUEST_DEADLINE_S = 30.0
#: Per-phase (connect/read/write/pool) timeout handed to httpx.
PHASE_TIMEOUT_S = 10.0
#: Cap on *decoded* body bytes: larger than any real feed or article, small enough that a
#: gzip bomb cannot exhaust memory.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: Redirect hops followed by hand (every hop is checked for address safety).
MAX_REDIRECTS = 10
#: Concurrent requests to one host: polite by default.
PER_HOST_CONCURRENCY = 2
#: Minimum delay between two requests to one host.
PER_HOST_DELAY_S = 1.0
#: Concurrent requests overall. A poll is mostly waiting on the network (50-300 ms per answer
#: against well under a millisecond of CPU), so hundreds in flight keep thousands of feeds
#: moving on two cores: a warm poll of 1,000 feeds took 4.4 s at 128 and 3.3 s at 256 (512
#: gained little more). PER_HOST_CONCURRENCY protects each server.
GLOBAL_CONCURRENCY = 256
#: Sources polled at once by one scheduler tick (as many as there are request slots).
POLL_CONCURRENCY = 256
#: New items whose pages are fetched in one poll of one source; the rest wait for the next poll,
#: so one flooding feed cannot monopolise a tick (that poll comes BACKLOG_DELAY_S later).
MAX_NEW_ITEMS_PER_POLL = 50
#: Article pages of one poll are fetched for at most this long; the rest wait for the next poll
#: (BACKLOG_DELAY_S later).
#: Kept well below the scheduler's lease (10 min), so no poll outlives its claim.
POLL_BUDGET_S = 5 * 60
#: Retry-After values are honoured up to this bound (some servers say ten years).
MAX_RETRY_AFTER_S = 24 * 3600
#: robots.txt is cached this long per host, at most (RFC 9309), and when the server gives no
#: Cache-Control max-age (or Expires).
ROBOTS_TTL_S = 24 * 3600
#: ... and at least this long, whatever max-age says (max-age=0 would fetch it before every
#: request).
ROBOTS_MIN_TTL_S = 60
#: Fetched or renewed robots.txt entries are written to the database this many at a time (and
#: at the end of each poll round).
ROBOTS_SAVE_BATCH = 500
#: Requests one auto-discovery may make (the page, its feed links, usual feed paths, robots.txt,
#: sitemaps): enough for every method, bounded so a hostile page cannot make us crawl.
MAX_DISCOVERY_FETCHES = 16
#: Idle connections kept alive per transport (most sources are on hosts of their own, so only
#: the article fetches that follow a feed reuse one).
MAX_KEEPALIVE_CONNECTIONS = 16
#: Idle kept-alive connections are closed after this long.
KEEPALIVE_EXPIRY_S = 15.0
#: A host answering 429/503 is left alone (requests fail fast) for its Retry-After, or this long
#: when it gave none.
DEFAULT_HOST_COOLDOWN_S = 60.0
#: robots.txt bodies beyond this are cut (RFC 9309 asks crawlers to read at least 500 KiB).
MAX_ROBOTS_BYTES = 512 * 1024
#: Deadline for fetching one robots.txt (it gates the real request, so it must be short).
ROBOTS_DEADLINE_S = 10.0
#: An unreachable robots.txt (5xx, network error) disallows the host for this long before the
#: next try (RFC 9309: assume complete disallow while the server errs).
ROBOTS_ERROR_TTL_S = 15 * 60
#: Hosts whose robots.txt is kept in memory at once (oldest dropped first).
ROBOTS_CACHE_HOSTS = 10_000
#: A robots.txt Crawl-delay is honoured as the per-host delay up to this bound.
MAX_CRAWL_DELAY_S = 30.0
#: Addresses tried per host name (DNS can return many; each try costs a connect timeout).
MAX_ADDRESSES_TRIED = 4
#: Polls' outcomes finishing within this long of each other are written in one transaction.
OUTCOME_GATHER_S = 0.02
#: Poll outcomes kept per source for its page's health history: the oldest beyond this are
#: deleted as each new one is written, so the table stays bounded however long the service runs.
POLL_HISTORY_PER_SOURCE = 200
#: Characters of a failed poll's raw error kept in its history row (the source keeps the last
#: error whole).
POLL_HISTORY_ERROR_CHARS = 500
#: Status line plus headers of one response: real servers send a few KiB; a server streaming
#: endless headers is cut off here.
MAX_RESPONSE_HEAD_BYTES = 64 * 1024
#: Polls in a row whose listing crashed the parse worker before a source is quarantined (not
#: polled until released): one crash may be a fluke of the host, three are the page.
QUARANTINE_AFTER = 3

# --- scheduling -----------------------------------------------------------------------------
#: Default poll interval of a source without a schedule.
DEFAULT_INTERVAL_S = 30 * 60
#: Shortest interval a user may configure: anything faster is impolite for statement sites.
MIN_INTERVAL_S = 60
#: Sources one worker claims per tick; the rest wait for the next tick (or another worker).
MAX_SOURCES_PER_TICK = 500
#: How often the scheduler asks the store which sources are due.
TICK_S = 15
#: A poll that left new items of its listing untaken (MAX_NEW_ITEMS_PER_POLL, POLL_BUDGET_S)
#: makes its source due again this soon, not a whole interval later: the rest wait for the
#: scheduler's next round (one default tick), so a flood of 500 items is in within minutes.
#: Each such poll takes up to the cap of new items, so the quick polls end with the backlog;
#: the host is spared by the per-host spacing of every request, as within one poll.
BACKLOG_DELAY_S = TICK_S
#: Backoff doubles per consecutive failure from the source's interval, up to this cap.
MAX_BACKOFF_S = 24 * 3600

# --- extraction -----------------------------------------------------------------------------
#: Bodies shorter than this many words are flagged as implausibly short.
MIN_BODY_WORDS = 40
#: HTML larger than this is cut before parsing (parse time grows with size and nesting).
MAX_HTML_BYTES = 5 * 1024 * 1024
#: Opening tags in a row with no closing tag between them before a page is refused unparsed:
#: lexbor's time grows quadratically with depth (20k nested divs: ~0.5 s, 50k: 3 s, 100k: 11 s);
#: real pages stay far below (791 real articles: < 8k tags in all).
MAX_NESTING_DEPTH = 20_000
#: Wall-time bound on one page's extraction in a worker process (real pages take < 0.1 s).
EXTRACT_TIMEOUT_S = 10.0
#: Address-space cap of a parse worker, so a pathological page cannot exhaust the host.
PARSE_MEMORY_MB = 1024
#: Parse worker processes allowed by `settings: fetch: parse_workers` (the default is one per
#: usable core, isolate.parse_workers); each idle worker holds about 27 MB.
MAX_PARSE_WORKERS = 64
#: A source whose parse overran its deadline is deferred for this long: its parses wait until
#: no other source has one queued and never take the last free worker. A day covers every
#: backoff step (MAX_BACKOFF_S), so a source that keeps overrunning stays deferred; one that
#: was mended rejoins within a day (and deferral costs nothing while workers are free).
PARSE_DEFER_S = 24 * 3600
#: Parses of one poll that may overrun before the poll is cut short: the remaining items wait
#: for the next poll, and the poll counts as failed (`parse_timeout`), so the source backs off.
MAX_OVERRUNS_PER_POLL = 2
#: Allocations of at least this many bytes get pages of their own from glibc (M_MMAP_THRESHOLD,
#: set by `collector` at start and given to its parse workers), which go back to the system
#: when freed. glibc's own threshold starts at 128 KiB and rises to the largest block freed, so
#: after a few large bodies every fetched body came from the heap and left it fragmented:
#: N = 1,000, hard farm, whole tree 128 -> 116 MB cold, 147 -> 139 warm.
MALLOC_MMAP_THRESHOLD = 64 * 1024
#: A body fetched with `FetchPolicy.compact` that came uncompressed and decodes to at least
#: this many bytes is held deflated (zlib level 1) while it waits for a parse worker. A server
#: that sends its 2 MB feed uncompressed would otherwise have it wait whole: zlib level 1 packs
#: the hard farm's 2 MB feeds in about 15 ms each (3-4:1).
COMPACT_PLAIN_BYTES = 128 * 1024
#: Links examined on one listing page; real listings have a few hundred, more is a link farm.
MAX_LISTING_LINKS = 5000
#: URLs taken from one sitemap file (the protocol's own limit is 50,000 per file).
MAX_SITEMAP_URLS = 50_000
#: Child sitemaps taken from one sitemap index (most recently modified first).
MAX_SITEMAP_CHILDREN = 50
#: Sitemap bytes after gunzip: the protocol caps a file at 50 MiB uncompressed.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
#: Pieces one page may be split into (a newspaper issue rarely has more than a few dozen).
MAX_SPLIT_PIECES = 200

# --- first run ------------------------------------------------------------------------------
#: Items a new source takes into the corpus on its first poll (marked as backfill).
DEFAULT_BACKFILL = 10
#: Listing pages followed by pagination when backfilling, whatever a source asks for.
MAX_PAGINATION_DEPTH = 20

# --- digests --------------------------------------------------------------------------------
#: First retry of a failed digest delivery waits this long; each further failure doubles it.
DIGEST_RETRY_BASE_S = 60
#: Longest wait between two delivery attempts: an SMTP outage of a day still delivers within
#: this much of its end.
DIGEST_RETRY_MAX_S = 3 * 3600
#: Permanent failures (5xx, bad credentials) after which a digest is quarantined, so one
#: message a server will never take is not re-sent forever while the other digests flow.
DIGEST_POISON_FAILURES = 3
#: Statements in one digest message; a larger backlog goes out in several messages, so a
#: long outage cannot produce a message a server refuses for its size.
DIGEST_MAX_ITEMS = 200
#: Messages one digest run sends at most (bounded loop); anything left waits for the next run.
DIGEST_MAX_MESSAGES_PER_RUN = 10
#: Paragraphs per statement shown in a digest that is not set to the full text.
DIGEST_DEFAULT_PARAGRAPHS = 3
#: Per-operation SMTP socket timeout (connect, each command, each reply).
SMTP_TIMEOUT_S = 30.0
#: Entries in a served Atom feed; feed readers keep what they have already seen.
FEED_MAX_ENTRIES = 100

# --- configuration --------------------------------------------------------------------------
#: Characters sources.yaml may have (10,000 sources take 0.6-2 MB); a larger file is refused
#: before it is parsed, so a mistaken path (a log, a dump) cannot exhaust memory.
CONFIG_MAX_CHARS = 8 * 1024 * 1024
#: Nesting depth of YAML collections (sources.yaml needs 5); deeper documents crash parsers
#: (ruamel.yaml near 250 levels, libyaml's composer with a segfault near 100,000).
CONFIG_MAX_DEPTH = 100
#: Values in the document with every alias expanded (10,000 sources are about 60,000): a
#: "billion laughs" document is refused before anything walks it.
CONFIG_MAX_VALUES = 1_000_000

# --- process --------------------------------------------------------------------------------
#: Allocations between young-generation garbage collections (Python's default is 700). A poll
#: makes millions of short-lived objects that reference counting frees; collecting every 700
#: of them cost about a tenth of the CPU of a poll of 1,000 mostly unchanged feeds.
GC_YOUNG_THRESHOLD = 10_000

# --- browser (collector.browser) --------------------------------------------------------------
#: Wall time one page may take in the browser, from opening it to reading its DOM.
BROWSER_PAGE_TIMEOUT_S = 30.0
#: Pages rendered at once by the shared browser (each renderer costs 50–150 MB).
BROWSER_MAX_PAGES = 4
#: Resident memory of the browser's whole process group before it is killed and restarted.
BROWSER_MAX_RSS_BYTES = 1536 * 1024 * 1024
#: How often that memory is measured.
BROWSER_MEMORY_CHECK_S = 1.0
#: After a browser's group is sent SIGKILL, how long its processes are waited for at most.
BROWSER_KILL_WAIT_S = 5.0
#: Time for Chromium to start and accept the DevTools connection.
BROWSER_START_TIMEOUT_S = 30.0
#: Time for a page to close; a browser that cannot close a page is killed.
BROWSER_CLOSE_TIMEOUT_S = 5.0
#: After `load`, how long to wait for the network to go quiet (scripts fetching content).
BROWSER_SETTLE_S = 3.0
#: The network is quiet when none of the page's requests has been open this long (the
#: convention of browser automation's "network idle"; a worker or a script started by `load`
#: gets that long to make its first request).
BROWSER_QUIET_S = 0.5

# --- channels (collector.channels) ------------------------------------------------------------
#: Older preview pages of a Telegram channel read on the first poll, at most.
TELEGRAM_MAX_PAGES = 20
#: Messages one IMAP poll reads at most (the rest wait for the next poll).
IMAP_MAX_MESSAGES = 50
#: Bytes of one message, at most (a larger one is skipped, recorded as failed).
IMAP_MAX_MESSAGE_BYTES = 10 * 1024 * 1024
#: Timeout of every IMAP socket operation.
IMAP_TIMEOUT_S = 30.0

# --- documents (PDF, DOCX, ODT) -------------------------------------------------------------
#: Pages read from one document: statements run to a few dozen pages; a file claiming
#: thousands is a report or a page-count bomb, refused before any page is read.
MAX_DOCUMENT_PAGES = 300
#: Bytes one compressed stream or archive member may inflate to before the document is refused
#: as a decompression bomb (a 300-page statement's largest stream is well under 1 MiB).
MAX_DOCUMENT_INFLATED_BYTES = 64 * 1024 * 1024
#: All streams (or archive members) of one document inflated together, at most.
MAX_DOCUMENT_TOTAL_INFLATED_BYTES = 256 * 1024 * 1024
#: Compressed streams or archive members looked at in one document: a file of endless object
#: streams is refused here instead of being walked.
MAX_DOCUMENT_STREAMS = 100_000
#: Wall-time bound on parsing one document in a worker (the parse checks it page by page too,
#: so an overlong document fails with a message before the worker is killed).
DOCUMENT_TIMEOUT_S = 30.0
#: Characters of text taken from one document (a statement is rarely over 100,000).
MAX_DOCUMENT_CHARS = 2_000_000
#: Seconds OCR (tesseract, only if installed) may spend on one page of a scan.
OCR_PAGE_TIMEOUT_S = 20.0
#: Pages of a scan that are OCRed at most.
MAX_OCR_PAGES = 20

# --- watching stored statements (collector.watch) ---------------------------------------------
#: Ages after collection at which a statement's URL is checked again: the first day catches
#: quick corrections and take-downs, later checks grow sparse as pages settle.
WATCH_AFTER_S = (86400, 7 * 86400, 30 * 86400, 90 * 86400)
#: Statements re-checked in one round at most: a large corpus collected in a burst is checked
#: over several rounds instead of flooding its sites at once.
WATCH_BATCH = 200
#: How often the service runs a watch round.
WATCH_EVERY_S = 3600
#: A check that fails (network error, 5xx, timeout) is tried again this much later, at most
#: this many times in a row before the scheduled check counts as done.
WATCH_RETRY_S = 6 * 3600
WATCH_MAX_RETRIES = 4
#: A watch round's claim on a statement: longer than any round (its fetches are bounded by
#: the request deadline), so two workers never check one statement at once.
WATCH_LEASE_S = 15 * 60
#: Wayback Machine capture requests per minute, by default (`settings: wayback: per_minute`);
#: the Save Page Now API allows a few a minute per account.
WAYBACK_PER_MINUTE = 4
#: A URL captured this recently is not captured again (`settings: wayback: skip_within`).
WAYBACK_SKIP_WITHIN_S = 3600
#: Archive outbox entries claimed by one run, at most.
ARCHIVE_BATCH = 20
#: A claimed archive entry is held this long: a process that dies with it frees it then.
ARCHIVE_CLAIM_S = 300
#: A capture's status is asked this long after the request was accepted, then again as long.
ARCHIVE_STATUS_AFTER_S = 60
#: Retries of an archive entry back off from this to ARCHIVE_MAX_BACKOFF_S, doubling.
ARCHIVE_BACKOFF_S = 60
ARCHIVE_MAX_BACKOFF_S = 6 * 3600
#: An entry whose capture failed this many times is kept, marked failed, and not sent again.
ARCHIVE_MAX_ATTEMPTS = 10
