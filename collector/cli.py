"""The `collector` command: run, poll, watch, check, status, export, digest, extract, sources,
db."""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, limits
from .errors import CollectorError, ConfigError

if TYPE_CHECKING:
    from .config import Config

# asyncio and the configuration loader are imported where they are used, which keeps short
# commands quick to start.

log = logging.getLogger("collector")


# ---------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------


#: Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for journald and container log collectors: time, level,
    logger and message, then every field the call passed with `extra=` (source, url, kind,
    elapsed_s, counts …), so a log collector can filter without parsing the message."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


#: Formats of the log (`--log-format`, COLLECTOR_LOG_FORMAT).
LOG_FORMATS = ("text", "json")


def setup_logging(fmt: str, verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s",
                                               datefmt="%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    # third-party chatter stays at warning level unless asked for
    for name in ("httpx", "apscheduler", "alembic", "aiosmtpd", "mail.log"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _config(args: argparse.Namespace) -> Config:
    from .config import load_config

    return load_config(args.config, data_dir=args.data)


def _store(config: Config) -> Any:
    from .store import Store

    return Store(config.settings.database_url)


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    import asyncio

    if args.source or args.url:
        from .check import dry_run

        config = _config(args) if not args.url or Path(args.config).exists() else None
        return asyncio.run(dry_run(config, source_id=args.source, url=args.url,
                                   allow_private=args.allow_private, out=sys.stdout))
    config = _config(args)
    if config.settings.template_dir is not None:
        from .notify.render import check_templates

        problems = check_templates(config.settings.template_dir, now=datetime.now(UTC))
        if problems:
            raise ConfigError(problems)
    enabled = sum(1 for s in config.sources if s.enabled)
    print(f"{config.path}: OK — {len(config.sources)} sources ({enabled} enabled), "
          f"{len(config.digests)} digests")
    from .browser import missing_note

    if note := missing_note(config.sources):
        print(f"warning: {note}")
    from .archive import missing_keys_note

    if note := missing_keys_note(config):
        print(f"warning: {note}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    config = _config(args)
    store = _store(config)
    try:
        rev = store.upgrade()
    finally:
        store.close()
    print(f"database at revision {rev}: {config.settings.database_url}")
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    import asyncio

    from .pollreport import Progress, summary
    from .scheduler import Worker

    config = _config(args)
    ids = args.sources or [s.id for s in config.sources if s.enabled]
    known = {s.id for s in config.sources}
    unknown = [i for i in ids if i not in known]
    if unknown:
        print(f"unknown source(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    if args.quiet:
        logging.getLogger().setLevel(logging.WARNING)
    store = _store(config)
    started = time.monotonic()
    progress = Progress(sys.stderr, len(ids), enabled=sys.stderr.isatty() and not args.quiet)

    async def main() -> list[Any]:
        worker = Worker(config, store, metrics=False)  # nothing serves them after the poll
        try:
            await worker.start()
            return await worker.poll_ids(ids, progress=lambda src, _o: progress.update(src.id),
                                         due_only=args.due)
        finally:
            await worker.close()

    _settle_heap()
    try:
        with progress:
            results = asyncio.run(main())
    finally:
        store.close()
    print(summary(results, time.monotonic() - started, quiet=args.quiet))
    failed = sum(1 for _, o in results if not o.ok)
    if results and failed == len(results):
        return 1
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    """One watch round now: the stored statements due for a re-check (collector.watch)."""
    import asyncio

    from .pollreport import Progress
    from .scheduler import Worker
    from .watch import describe

    config = _config(args)
    if not config.settings.watch.after_s:
        print("watching is off (settings: watch: after is empty)")
        return 0
    if args.quiet:
        logging.getLogger().setLevel(logging.WARNING)
    store = _store(config)
    started = time.monotonic()
    limit = args.limit or config.settings.watch.batch
    progress = Progress(sys.stderr, limit, enabled=sys.stderr.isatty() and not args.quiet)

    def shown(result: Any) -> None:
        # a line for each statement found changed (or not checked); a counter for the rest
        if result.result != "ok" and not args.quiet:
            progress.clear()
            print(describe(result), flush=True)
        progress.update(result.url)

    async def main() -> Any:
        worker = Worker(config, store)
        try:
            await worker.start()
            return await worker.watcher.run_round(limit=limit, progress=shown)
        finally:
            await worker.close()

    try:
        with progress:
            report = asyncio.run(main())
    finally:
        store.close()
    n = len(report.checked)
    print(f"checked {n} statement{'s' if n != 1 else ''} in "
          f"{time.monotonic() - started:.1f} s: {report.count('ok')} unchanged, "
          f"{report.count('edited')} edited, {report.count('vanished')} vanished, "
          f"{report.count('restored')} restored, {report.count('gone')} still gone, "
          f"{report.count('error')} failed (checked again later)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from . import status
    from .store.browse import count_baseline

    config = _config(args)
    store = _store(config)
    try:
        store.upgrade()
        store.sync_sources(config.sources, datetime.now(UTC))
        states = store.source_states()
        pending = store.count_pending()
        total = store.count_documents()
        baseline = count_baseline(store)
    finally:
        store.close()
    now = datetime.now(UTC)
    reports = status.build(config.sources, states, now)
    figures = {"now": now, "documents": total, "pending": pending, "baseline": baseline,
               "digests": [d.id for d in config.digests]}
    if args.json:
        print(json.dumps(status.to_json(reports, **figures), indent=2, ensure_ascii=False))
    else:
        print(status.to_text(reports, **figures))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from . import export, selection
    from .store.query import source_ids

    config = _config(args)
    filtered = any(v is not None and v != [] for v in (
        args.source, args.tag, args.language, args.since, args.until, args.after_seq))
    if args.format is None:
        if args.directory is None or args.output is not None or filtered or args.text:
            print("collector export: without --format, give only the directory DIR to write "
                  "the corpus into (filters, --text and -o go with --format jsonl, csv or "
                  "parquet)", file=sys.stderr)
            return 2
        return _export_directory(config, Path(args.directory))
    if args.directory is not None:
        print(f"collector export: --format {args.format} writes a file: give it with -o FILE "
              "(or -o - for standard output), not as DIR", file=sys.stderr)
        return 2
    export.check_format(args.format)
    target = args.output or "-"
    if target == "-" and export.WRITERS[args.format].binary and sys.stdout.isatty():
        print(f"collector export: --format {args.format} is binary; give -o FILE or redirect "
              "standard output", file=sys.stderr)
        return 2
    store = _store(config)
    try:
        store.upgrade()
        try:
            chosen = selection.build(
                sources=args.source or (), tag=args.tag, language=args.language,
                since=args.since, until=args.until, after_seq=args.after_seq,
                tags={s.id: s.tags for s in config.sources},
                known={s.id for s in config.sources} | source_ids(store))
        except selection.SelectionError as exc:
            print(f"collector export: --{exc.parameter.replace('_', '-')}: {exc}",
                  file=sys.stderr)
            return 2
        job = export.Job(store, chosen, text=args.text, warc_dir=config.settings.warc_dir)
        tty = sys.stderr.isatty()

        def progress(t: export.Tally) -> None:
            if tty:
                print(f"\r{t.count} documents", end="", file=sys.stderr, flush=True)

        if target == "-":
            try:
                tally = export.export(job, args.format, sys.stdout.buffer, progress)
                sys.stdout.buffer.flush()
            except BrokenPipeError:
                # the reader went away (`| head`): say so once, without a traceback
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                print("\ncollector export: standard output was closed before the end",
                      file=sys.stderr)
                return 1
        else:
            with export.output_file(Path(target)) as fh:
                tally = export.export(job, args.format, fh, progress)
    finally:
        store.close()
    if tty:
        print(file=sys.stderr)
    where = "standard output" if target == "-" else target
    print(export.summary(tally, args.format, where, chosen.after_seq), file=sys.stderr)
    return 0


def _export_directory(config: Config, directory: Path) -> int:
    from .export import export_directory

    store = _store(config)
    tty = sys.stderr.isatty()

    def progress(n: int) -> None:
        if tty:
            print(f"\r{n} documents", end="", file=sys.stderr, flush=True)

    try:
        store.upgrade()
        n = export_directory(store, directory, progress)
    finally:
        store.close()
    if tty:
        print(file=sys.stderr)
    print(f"exported {n} documents to {directory}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio
    import concurrent.futures

    from .scheduler import EXIT_BY_S, Service

    config = _config(args)
    lock = _single_instance(config)
    store = _store(config)

    async def main() -> None:
        service = Service(config, store, serve_http=not args.no_http)
        loop = asyncio.get_running_loop()
        # the default executor, held here so that the stop can wait for its threads within
        # the budget (asyncio.run would wait for them without a bound)
        executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="collector-io")
        loop.set_default_executor(executor)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, service.stop)
        _reload_on_sighup(loop, service)
        try:
            await service.run()
        finally:
            executor.shutdown(wait=False)
            started = service.stop_requested_at or time.monotonic()
            busy = await _threads_done(started + EXIT_BY_S)
            if busy:
                # A blocking call that ignored every abort (a DNS lookup, a database that
                # stopped answering). Its writes are transactions or renamed files, so the
                # process may end under it as under SIGKILL, and does, inside the budget.
                log.warning("stopped; %d blocking call(s) still running were abandoned (%s)",
                            len(busy), ", ".join(busy))
                logging.shutdown()
                os._exit(0)

    _settle_heap()
    try:
        asyncio.run(main())
    finally:
        store.close()
        if lock is not None:
            lock.close()
    log.info("stopped")
    return 0


async def _threads_done(deadline: float) -> list[str]:
    """Wait until no thread but the main one is left running, or `deadline` (monotonic)
    passes; the names of those still running."""
    import asyncio
    import threading

    while True:
        busy = [t.name for t in threading.enumerate()
                if t is not threading.main_thread() and not t.daemon and t.is_alive()]
        if not busy or time.monotonic() >= deadline:
            return busy
        await asyncio.sleep(0.05)


def _reload_on_sighup(loop: Any, service: Any) -> None:
    """SIGHUP (`systemctl reload`) re-reads sources.yaml without a restart (collector.reload)."""
    import asyncio

    pending: set[Any] = set()

    def handle() -> None:
        task = asyncio.ensure_future(service.reload())
        pending.add(task)               # keep a reference until it is done
        task.add_done_callback(pending.discard)

    loop.add_signal_handler(signal.SIGHUP, handle)


def _single_instance(config: Config) -> Any:
    """SQLite deployments run one service at a time: a second one is refused clearly."""
    if not config.settings.database_url.startswith("sqlite"):
        return None
    import fcntl

    config.settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = config.settings.data_dir / "collector.lock"
    fh = open(path, "a+")  # noqa: SIM115 - held open for the life of the process
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        fh.close()
        raise CollectorError(
            f"another collector is already running on {config.settings.data_dir} "
            "(SQLite allows one service per data directory; use PostgreSQL for several "
            "workers)") from exc
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def cmd_digest(args: argparse.Namespace) -> int:
    import asyncio

    from .digests import DigestRunner

    config = _config(args)
    try:
        digest = config.digest(args.digest)
    except KeyError:
        print(f"unknown digest '{args.digest}' (known: "
              f"{', '.join(d.id for d in config.digests) or 'none'})", file=sys.stderr)
        return 2
    store = _store(config)
    try:
        store.upgrade()
        runner = DigestRunner(config, store)
        if args.send:
            result = asyncio.run(runner.run_digest(digest, force=True))
            print(result)
            return 0 if not result.startswith("failed") else 1
        preview = runner.preview(digest)
        if args.output:
            # the message as it would be sent (an .eml file mail programs open); people get
            # the readable form on standard output either way
            Path(args.output).write_bytes(preview.message if preview.message is not None
                                          else preview.text.encode("utf-8"))
        print(preview.text, end="" if preview.text.endswith("\n") else "\n")
        return 0
    finally:
        store.close()


def cmd_extract(args: argparse.Namespace) -> int:
    from .documents.command import extract_document

    status = extract_document(args.page, args.url)
    if status is not None:  # a PDF, DOCX or ODT file
        return status
    from .extract import main as extract_main

    argv = [args.page] + (["--url", args.url] if args.url else [])
    return extract_main(argv)


def cmd_sources_release(args: argparse.Namespace) -> int:
    """Put sources back to normal polling now (the deliberate act that ends a quarantine)."""
    from . import decide
    from .health import decide_state

    config = _config(args)
    known = {s.id for s in config.sources}
    unknown = [i for i in args.sources if i not in known]
    if unknown:
        print(f"unknown source(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    store = _store(config)
    try:
        store.upgrade()
        store.sync_sources(config.sources, datetime.now(UTC))
        for source_id in args.sources:
            now = datetime.now(UTC)
            st = store.source_state(source_id)
            before = decide_state(st)
            was = decide.status(before, now)
            after = decide.release(before, now=now)
            # the health word is what carries "not judged since the release" (health.py)
            store.update_source(source_id, next_poll_at=after.next_poll_at,
                                consecutive_crashes=after.consecutive_crashes,
                                health=decide.status(after, now))
            print(f"{source_id}: released (was {was}); health unknown until it is polled at "
                  "the next scheduler tick")
    finally:
        store.close()
    return 0


def cmd_sources_import(args: argparse.Namespace) -> int:
    from .opml import import_opml_report

    report = import_opml_report(Path(args.file), Path(args.config))
    added = report.added
    print(f"added {len(added)} sources to {args.config}" + (": " + ", ".join(added)
                                                             if added else ""))
    if report.skipped:
        print(f"skipped {len(report.skipped)}:")
        for s in report.skipped:
            print(f"  {s.url or '(no address)'}" + (f" ({s.title})" if s.title else "")
                  + f": {s.reason}")
    return 0


# ---------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    def options(parser: argparse.ArgumentParser, top: bool) -> None:
        # Sub-commands repeat the options with suppressed defaults, so that an option given
        # before the command is not reset by the sub-command's default (argparse's behaviour).
        def d(value: Any) -> Any:
            return value if top else argparse.SUPPRESS

        parser.add_argument("--config", default=d(os.environ.get("COLLECTOR_CONFIG",
                                                                 "sources.yaml")),
                            help="sources.yaml to use (env COLLECTOR_CONFIG; default "
                                 "./sources.yaml)")
        parser.add_argument("--data", default=d(os.environ.get("COLLECTOR_DATA")),
                            help="data directory (env COLLECTOR_DATA; default ./data)")
        parser.add_argument("--log-format", choices=LOG_FORMATS,
                            default=d(os.environ.get("COLLECTOR_LOG_FORMAT", "text")),
                            help="log lines as text (default) or JSON objects")
        parser.add_argument("-v", "--verbose", action="count", default=d(1))

    common = argparse.ArgumentParser(add_help=False)
    options(common, top=False)

    p = argparse.ArgumentParser(prog="collector",
                                description="Watch organisations' websites for new statements.")
    options(p, top=True)
    p.add_argument("--version", action="version", version=f"collector {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("run", parents=[common], help="run the service (scheduler, digests, HTTP)")
    s.add_argument("--no-http", action="store_true", help="do not serve HTTP")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("poll", parents=[common], help="poll all or the named sources once now")
    s.add_argument("sources", nargs="*", metavar="SOURCE_ID")
    s.add_argument("--due", action="store_true", help="only sources that are due")
    s.add_argument("-q", "--quiet", action="store_true",
                   help="no progress and no log lines below warnings; print failures and the "
                        "closing line only")
    s.set_defaults(func=cmd_poll)

    s = sub.add_parser("watch", parents=[common],
                       help="re-check the stored statements that are due now (edited, vanished)")
    s.add_argument("--limit", type=int, default=0, metavar="N",
                   help="check at most N statements (default: settings: watch: batch)")
    s.add_argument("-q", "--quiet", action="store_true",
                   help="no progress and no log lines below warnings; the closing line only")
    s.set_defaults(func=cmd_watch)

    s = sub.add_parser("check", parents=[common],
                       help="validate sources.yaml; with --source/--url, a dry run of one source")
    s.add_argument("--source", help="fetch and show what this source yields, storing nothing")
    s.add_argument("--url", help="the same for a URL not yet in sources.yaml")
    s.add_argument("--allow-private", action="store_true",
                   help="with --url: allow loopback and private addresses")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("status", parents=[common], help="a table of sources and their health")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("export", parents=[common],
                       help="write the corpus anew into DIR, or export it as JSON Lines, CSV "
                            "or Parquet (--format)")
    s.add_argument("directory", metavar="DIR", nargs="?",
                   help="without --format: the directory to write the corpus into")
    s.add_argument("--format", metavar="FORMAT",
                   help="jsonl, csv, parquet or warc (docs/codebook.md describes every "
                        "field; warc: the captured records, docs/evidence.md)")
    s.add_argument("-o", "--output", metavar="FILE",
                   help="with --format: the file to write (- or nothing: standard output)")
    s.add_argument("--text", action="store_true", help="csv: add each statement's text")
    s.add_argument("--source", action="append", metavar="ID",
                   help="only statements this source published (repeatable: any of them)")
    s.add_argument("--tag", help="only statements of sources with this tag")
    s.add_argument("--language", metavar="CODE", help="only statements in this language")
    s.add_argument("--since", metavar="DATE",
                   help="published (else collected) on or after DATE (2024-05-01) or TIME "
                        "(2024-05-01T12:00:00Z)")
    s.add_argument("--until", metavar="DATE",
                   help="published (else collected) on or before DATE, or before TIME")
    s.add_argument("--after-seq", metavar="N",
                   help="only statements with a sequence number above N (incremental exports:"
                        " the last one is printed on standard error)")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("digest", parents=[common], help="preview or send one digest now")
    s.add_argument("digest", metavar="DIGEST_ID")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--preview", action="store_true", help="render without sending or marking")
    g.add_argument("--send", action="store_true", help="send now and mark as delivered")
    s.add_argument("--output", "-o", metavar="FILE",
                   help="with --preview: also write the message exactly as it would be sent")
    s.set_defaults(func=cmd_digest)

    s = sub.add_parser("extract", parents=[common],
                       help="extract a saved page (or - for stdin), PDF, DOCX or ODT as a"
                            " document")
    s.add_argument("page", metavar="PAGE")
    s.add_argument("--url", help="the page's URL (for relative links and dates)")
    s.set_defaults(func=cmd_extract)

    s = sub.add_parser("sources", parents=[common],
                       help="manage sources (import from OPML, release from quarantine)")
    ssub = s.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    imp = ssub.add_parser("import", parents=[common],
                          help="append the feeds of an OPML file to sources.yaml")
    imp.add_argument("file", metavar="FILE.opml")
    imp.set_defaults(func=cmd_sources_import)
    rel = ssub.add_parser("release", parents=[common],
                          help="poll quarantined (or backed-off) sources again from now on")
    rel.add_argument("sources", nargs="+", metavar="SOURCE_ID")
    rel.set_defaults(func=cmd_sources_release)

    s = sub.add_parser("db", parents=[common], help="database maintenance")
    dsub = s.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = dsub.add_parser("upgrade", parents=[common], help="apply schema migrations")
    up.set_defaults(func=cmd_db)
    return p


def _settle_heap() -> None:
    """Called once start-up is done: what was imported and configured lives as long as the
    process, so the cyclic garbage collector stops traversing it (`gc.freeze`). Together with
    rarer young collections (`main`) this took the collector's share of a poll of 1,000 feeds
    from about 0.27 s to 0.1 s of CPU."""
    gc.freeze()


#: mallopt's parameter number for the mmap threshold (glibc's malloc.h)
_M_MMAP_THRESHOLD = -3


def _fix_mmap_threshold() -> None:
    """glibc's mmap threshold fixed at limits.MALLOC_MMAP_THRESHOLD (unless the user set
    MALLOC_MMAP_THRESHOLD_): fetched bodies then take pages of their own, given back when
    freed, instead of fragmenting the heap. Nothing happens without glibc."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return  # another C library (musl has no libc.so.6)
    mallopt(_M_MMAP_THRESHOLD, limits.MALLOC_MMAP_THRESHOLD)


def main(argv: Sequence[str] | None = None) -> int:
    # Young collections every 700 allocations (the default) mostly find nothing to free here:
    # a poll allocates short-lived acyclic objects by the million.
    gc.set_threshold(limits.GC_YOUNG_THRESHOLD, 10, 10)
    _fix_mmap_threshold()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.log_format not in LOG_FORMATS:
        # --log-format is checked by argparse; only the environment can bring another value
        print(f"collector: environment variable COLLECTOR_LOG_FORMAT: "
              f"{args.log_format[:100]!r} must be one of {', '.join(LOG_FORMATS)}",
              file=sys.stderr)
        return 2
    setup_logging(args.log_format, args.verbose)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 2
    except CollectorError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
