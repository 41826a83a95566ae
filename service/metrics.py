"""Prometheus metrics of one node, on a registry of its own (no module-level globals)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
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
        self.entries = Gauge(
            "denex_log_entries", "Entries held per origin", ["origin"], registry=self.registry
        )
        self.notices_published = Counter(
            "denex_notices_written",
            "Notice entries written by this node",
            ["kind"],
            registry=self.registry,
        )
