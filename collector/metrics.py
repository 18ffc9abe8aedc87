"""Process metrics and their Prometheus exposition, through prometheus-client.

What the process counts as it runs lives here in memory: polls, poll errors and poll latency
per source, documents collected, sources quarantined, digest runs and statements sent. The
scheduler and pipeline report through `record_poll`, `record_quarantine` and `record_digest`.
Figures the database already knows (documents stored, statements pending per digest, sources
per health state) are not counted here: the HTTP server reads them from the store at scrape
time and passes them to `render` as `Sample`s, so they are right even after a restart or with
several workers.

Each `Registry` owns its own prometheus-client registry (tests make fresh ones; nothing is
shared through the library's global default), with the library's process collector (memory,
CPU, open files, start time) and platform collector (Python version) registered on it, as
dashboards expect.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric

#: Poll latency histogram bounds in seconds: a feed answers in well under a second, a page
#: source with new items fetches several pages, and the request deadline is 30 s per request.
POLL_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
#: The Content-Type of what `generate_latest` writes (the text format 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]

# The `*_created` series (one per counter and histogram child) double the exposition and no
# alert or dashboard of this service reads them.
disable_created_metrics()


@dataclass(frozen=True)
class Sample:
    """One gauge value read at scrape time (e.g. from the database)."""

    name: str
    help: str
    labels: Labels
    value: float


class _Exposition:
    """The registry's metrics followed by scrape-time gauges, as one collection."""

    def __init__(self, registry: CollectorRegistry, extra: Iterable[Sample]):
        self.registry = registry
        self.extra = list(extra)

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
        families: dict[str, GaugeMetricFamily] = {}
        label_names: dict[str, list[str]] = {}
        for s in self.extra:
            family = families.get(s.name)
            if family is None:
                label_names[s.name] = [k for k, _v in s.labels]
                family = families[s.name] = GaugeMetricFamily(s.name, s.help,
                                                              labels=label_names[s.name])
            family.add_metric([v for _k, v in s.labels], s.value)
        for name in sorted(families):
            yield families[name]


class Registry:
    """The counters and the histogram of one process (or of one test)."""

    def __init__(self, *, process: bool = True):
        self.registry = CollectorRegistry(auto_describe=True)
        if process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        r = self.registry
        self.polls = Counter("collector_polls", "Polls of a source, by result.",
                             ["source", "result"], registry=r)
        self.poll_errors = Counter("collector_poll_errors",
                                   "Failed polls of a source, by error kind.",
                                   ["source", "kind"], registry=r)
        self.poll_duration = Histogram("collector_poll_duration_seconds",
                                       "Time one poll of a source took.", ["source"],
                                       buckets=POLL_BUCKETS_S, registry=r)
        self.documents_collected = Counter(
            "collector_documents_collected",
            "New documents stored by polls of this process, by source.", ["source"], registry=r)
        self.quarantines = Counter("collector_source_quarantines",
                                   "Times a source was quarantined for crashing the parser.",
                                   ["source"], registry=r)
        self.digest_runs = Counter("collector_digest_runs", "Digest runs, by result.",
                                   ["digest", "result"], registry=r)
        self.digest_sent = Counter("collector_digest_statements_sent",
                                   "Statements delivered by a digest.", ["digest"], registry=r)

    def value(self, name: str, labels: Labels = ()) -> float:
        """The current value of a series (0 when it was never touched)."""
        got = self.registry.get_sample_value(name, dict(labels))
        return float(got) if got is not None else 0.0

    # -- what the service reports --------------------------------------------------------------

    def record_poll(self, source_id: str, ok: bool, error_kind: str | None, seconds: float,
                    new_documents: int) -> None:
        """One poll of one source finished (successfully or not) after `seconds`."""
        self.polls.labels(source_id, "ok" if ok else "error").inc()
        if not ok:
            self.poll_errors.labels(source_id, error_kind or "error").inc()
        self.poll_duration.labels(source_id).observe(max(0.0, seconds))
        if new_documents > 0:
            self.documents_collected.labels(source_id).inc(new_documents)

    def record_quarantine(self, source_id: str) -> None:
        """A source was quarantined (its listing crashed the parser poll after poll); the
        current state is the `collector_source_health` gauge read from the store, this counts
        the events, so an alert fires even when a release follows soon after."""
        self.quarantines.labels(source_id).inc()

    def record_digest(self, digest_id: str, sent: int, ok: bool) -> None:
        """One digest run finished; `sent` statements went out (0 when nothing was due)."""
        self.digest_runs.labels(digest_id, "ok" if ok else "error").inc()
        if sent > 0:
            self.digest_sent.labels(digest_id).inc(sent)

    # -- exposition ----------------------------------------------------------------------------

    def render(self, extra: Iterable[Sample] = ()) -> str:
        """The Prometheus text exposition of everything recorded, plus `extra` gauges."""
        return generate_latest(_Exposition(self.registry, extra)).decode("utf-8")


#: The registry of this process; the module functions below report to it.
REGISTRY = Registry()


def record_poll(source_id: str, ok: bool, error_kind: str | None, seconds: float,
                new_documents: int) -> None:
    """Report one finished poll to the process registry."""
    REGISTRY.record_poll(source_id, ok, error_kind, seconds, new_documents)


def record_quarantine(source_id: str) -> None:
    """Report a source quarantined to the process registry."""
    REGISTRY.record_quarantine(source_id)


def record_digest(digest_id: str, sent: int, ok: bool) -> None:
    """Report one finished digest run to the process registry."""
    REGISTRY.record_digest(digest_id, sent, ok)
