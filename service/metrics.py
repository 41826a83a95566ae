"""Prometheus metrics of one node, on registries of its own (no module-level globals).

Two kinds (docs/decisions/0023-metrics-and-logs.md):

* counted by the serving process as things happen: HTTP requests and their latency, notice
  entries written, the screening engine's time per application (`Metrics`). With several
  `denex serve` workers, prometheus_client's multiprocess mode is on (`denex serve` sets
  PROMETHEUS_MULTIPROC_DIR to a fresh directory for its workers): each worker's counts live
  in files there and a scrape sums them, so whichever worker answers shows the node's totals;
* read from the database at scrape time (service.gauges): the same from every worker.

The in-memory screening index's size is the answering worker's own (each holds a copy).
"""

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from service.gauges import NodeGauges
from service.sync.own_log import STOP_KINDS

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable
# the screening engine answers in milliseconds on a large index; seconds would be a fault
SCREENING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_DIR))
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "denex_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "denex_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.notices_published = Counter(
            "denex_notices_written",
            "Notice entries written by this node",
            ["kind"],
            registry=self.registry,
        )
        self.screening = Histogram(
            "denex_screening_duration_seconds",
            "Time the screening engine took to match one application against the index",
            buckets=SCREENING_BUCKETS,
            registry=self.registry,
        )

    def exposition(self, gauges: NodeGauges, *, index_notices: int) -> bytes:
        """The Prometheus text of one scrape: the counts (of every worker) and `gauges`."""
        counted = self.registry
        if self.multiprocess:
            counted = CollectorRegistry()
            MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
        read = CollectorRegistry()
        read.register(_Read(gauges, index_notices))
        return generate_latest(counted) + generate_latest(read)


class _Read(Collector):
    """The values read at scrape time, as metric families."""

    def __init__(self, gauges: NodeGauges, index_notices: int) -> None:
        self.gauges = gauges
        self.index_notices = index_notices

    def collect(self) -> Iterator[Metric]:
        g = self.gauges
        yield _gauge("denex_log_entries", "Entries held per origin", "origin", g.entries)
        yield _gauge(
            "denex_sync_lag_entries",
            "Entries of an origin's log that the best active peer listed beyond this node's "
            "copy (0 once synced; only origins some peer listed)",
            "origin",
            g.lag,
        )
        yield _gauge(
            "denex_log_staleness_seconds",
            "Seconds since a partner origin's log was last seen current (+Inf: never)",
            "origin",
            g.staleness,
        )
        yield _gauge(
            "denex_log_frozen",
            "1 if a partner origin's log is frozen on proven equivocation (no new entries)",
            "origin",
            {origin: int(frozen) for origin, frozen in g.frozen.items()},
        )
        yield _gauge(
            "denex_appends_stopped",
            "1 on the reason appends to this node's own log are stopped (all 0: appending)",
            "reason",
            {kind: int(kind == g.appends_stopped) for kind in STOP_KINDS},
        )
        yield _gauge(
            "denex_peer_last_success_age_seconds",
            "Seconds since the last successful sync from an active peer (+Inf: never)",
            "peer",
            g.last_success_age,
        )
        yield _gauge(
            "denex_quarantine_stored",
            "Answers of a peer that failed verification, kept in quarantine now (bounded)",
            "peer",
            g.quarantine_stored,
        )
        dropped = CounterMetricFamily(
            "denex_quarantine_dropped",
            "Answers of a peer that failed verification and were only counted (over the "
            "quarantine's rate limit)",
            labels=["peer"],
        )
        for peer, count in sorted(g.quarantine_dropped.items()):
            dropped.add_metric([peer], count)
        yield dropped
        yield _gauge(
            "denex_quarantine_newest_age_seconds",
            "Seconds since the newest answer of a peer was quarantined (+Inf: none kept)",
            "peer",
            g.quarantine_age,
        )
        yield _gauge(
            "denex_consultations_overdue",
            "Consultations unanswered past their reply date: asked of this node (in) or by it "
            "(out)",
            "direction",
            g.overdue,
        )
        yield GaugeMetricFamily(
            "denex_screening_index_notices",
            "Notices in the in-memory screening index of the worker that answered",
            value=self.index_notices,
        )


def _gauge(
    name: str, documentation: str, label: str, values: dict[str, int] | dict[str, float]
) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family
