"""Process metrics and their Prometheus text exposition (format 0.0.4).

What the process counts as it runs lives here in memory: polls, poll errors and poll latency
per source, documents collected, sources quarantined, digest runs and statements sent. The
scheduler and pipeline report through `record_poll`, `record_quarantine` and `record_digest`.
Figures the database already knows (documents stored, statements pending per digest, sources
per health state) are not counted here: the HTTP server reads them from the store at scrape
time and passes them to `render` as `Sample`s, so they are right even after a restart or with
several workers.

The exposition format is small enough to write directly, which keeps the process free of a
global registry shared between tests and lets the database gauges join one scrape without a
custom collector class.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Poll latency histogram bounds in seconds: a feed answers in well under a second, a page
#: source with new items fetches several pages, and the request deadline is 30 s per request.
POLL_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Sample:
    """One gauge value read at scrape time (e.g. from the database)."""

    name: str
    help: str
    labels: Labels
    value: float


def escape_label(value: str) -> str:
    """A label value as the exposition format wants it (backslash, quote, newline escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in labels) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Histogram:
    __slots__ = ("buckets", "count", "sum")

    def __init__(self, n: int):
        self.buckets = [0] * n
        self.count = 0
        self.sum = 0.0


class Registry:
    """Counters, gauges and one histogram family, safe to update from any thread."""

    def __init__(self, buckets: Sequence[float] = POLL_BUCKETS_S):
        self._lock = threading.Lock()
        self._bounds = tuple(sorted(buckets))
        self._counters: dict[str, dict[Labels, float]] = {}
        self._gauges: dict[str, dict[Labels, float]] = {}
        self._histograms: dict[str, dict[Labels, _Histogram]] = {}
        self._help: dict[str, str] = {}

    # -- primitives ----------------------------------------------------------------------------

    def inc(self, name: str, help: str, labels: Labels = (), amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError(f"counter {name} cannot decrease")
        with self._lock:
            self._help.setdefault(name, help)
            series = self._counters.setdefault(name, {})
            series[labels] = series.get(labels, 0.0) + amount

    def set(self, name: str, help: str, labels: Labels, value: float) -> None:
        with self._lock:
            self._help.setdefault(name, help)
            self._gauges.setdefault(name, {})[labels] = float(value)

    def observe(self, name: str, help: str, labels: Labels, value: float) -> None:
        with self._lock:
            self._help.setdefault(name, help)
            series = self._histograms.setdefault(name, {})
            h = series.get(labels)
            if h is None:
                h = series[labels] = _Histogram(len(self._bounds))
            for i, bound in enumerate(self._bounds):
                if value <= bound:
                    h.buckets[i] += 1
            h.count += 1
            h.sum += value

    def value(self, name: str, labels: Labels = ()) -> float:
        """The current value of a counter or gauge series (0 when never set)."""
        with self._lock:
            for family in (self._counters, self._gauges):
                if name in family:
                    return family[name].get(labels, 0.0)
        return 0.0

    def reset(self) -> None:
        with self._lock:
            self._counters.clear()
            self._gauges.clear()
            self._histograms.clear()
            self._help.clear()

    # -- what the service reports --------------------------------------------------------------

    def record_poll(self, source_id: str, ok: bool, error_kind: str | None, seconds: float,
                    new_documents: int) -> None:
        """One poll of one source finished (successfully or not) after `seconds`."""
        src = (("source", source_id),)
        self.inc("collector_polls_total", "Polls of a source, by result.",
                 (*src, ("result", "ok" if ok else "error")))
        if not ok:
            self.inc("collector_poll_errors_total", "Failed polls of a source, by error kind.",
                     (*src, ("kind", error_kind or "error")))
        self.observe("collector_poll_duration_seconds", "Time one poll of a source took.",
                     src, max(0.0, seconds))
        if new_documents > 0:
            self.inc("collector_documents_collected_total",
                     "New documents stored by polls of this process, by source.", src,
                     new_documents)

    def record_quarantine(self, source_id: str) -> None:
        """A source was quarantined (its listing crashed the parser poll after poll); the
        current state is the `collector_source_health` gauge read from the store, this counts
        the events, so an alert fires even when a release follows soon after."""
        self.inc("collector_source_quarantines_total",
                 "Times a source was quarantined for crashing the parser.",
                 (("source", source_id),))

    def record_digest(self, digest_id: str, sent: int, ok: bool) -> None:
        """One digest run finished; `sent` statements went out (0 when nothing was due)."""
        dig = (("digest", digest_id),)
        self.inc("collector_digest_runs_total", "Digest runs, by result.",
                 (*dig, ("result", "ok" if ok else "error")))
        if sent > 0:
            self.inc("collector_digest_statements_sent_total",
                     "Statements delivered by a digest.", dig, sent)

    # -- exposition ----------------------------------------------------------------------------

    def render(self, extra: Iterable[Sample] = ()) -> str:
        """The Prometheus text exposition of everything recorded, plus `extra` gauges."""
        lines: list[str] = []
        with self._lock:
            for name in sorted(self._counters):
                lines += [f"# HELP {name} {_escape_help(self._help[name])}",
                          f"# TYPE {name} counter"]
                for labels, v in sorted(self._counters[name].items()):
                    lines.append(f"{name}{_labels(labels)} {_number(v)}")
            for name in sorted(self._histograms):
                lines += [f"# HELP {name} {_escape_help(self._help[name])}",
                          f"# TYPE {name} histogram"]
                for labels, h in sorted(self._histograms[name].items()):
                    for bound, n in zip(self._bounds, h.buckets, strict=True):
                        lines.append(f"{name}_bucket{_labels((*labels, ('le', _number(bound))))}"
                                     f" {n}")
                    lines.append(f"{name}_bucket{_labels((*labels, ('le', '+Inf')))} {h.count}")
                    lines.append(f"{name}_sum{_labels(labels)} {_number(h.sum)}")
                    lines.append(f"{name}_count{_labels(labels)} {h.count}")
            gauges = {name: dict(series) for name, series in self._gauges.items()}
            helps = dict(self._help)
        for s in extra:
            helps.setdefault(s.name, s.help)
            gauges.setdefault(s.name, {})[s.labels] = s.value
        for name in sorted(gauges):
            lines += [f"# HELP {name} {_escape_help(helps[name])}", f"# TYPE {name} gauge"]
            for labels, v in sorted(gauges[name].items()):
                lines.append(f"{name}{_labels(labels)} {_number(v)}")
        return "\n".join(lines) + "\n"


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
