"""The server's Prometheus metrics (prometheus_client), one registry per application.

Labels are bounded: a request is counted under its route's template (`/v1/catalog/{kind}`),
never its raw path, so that memory stays flat however many different paths are asked for.
Each worker process reports its own figures (the `pid` of `advisor_worker_info`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from .server import Engine

# seconds: an assessment takes about a millisecond; what-if and documents up to a second or more
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Requests by route, method and status; their durations; the rule base in use; reloads."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "advisor_http_requests",
            "HTTP requests answered, by route template, method and status",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.seconds = Histogram(
            "advisor_http_request_duration_seconds",
            "Time from the request's arrival to the last byte of the answer, by route template",
            ("route",),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge("advisor_http_requests_in_flight", "Requests being answered", registry=self.registry)
        self.rulebase = Gauge(
            "advisor_rulebase_info", "The rule base in use (value 1), by digest", ("digest",), registry=self.registry
        )
        self.rules = Gauge("advisor_rulebase_rules", "Rules in the rule base in use", registry=self.registry)
        self.reloads = Counter(
            "advisor_rulebase_reloads", "Reloads asked for since start, by result", ("result",), registry=self.registry
        )
        self.counted: dict[str, int] = {}
        Gauge("advisor_worker_info", "This worker process (value 1)", ("pid",), registry=self.registry).labels(
            str(os.getpid())
        ).set(1)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.seconds.labels(route).observe(seconds)

    def exposition(self, engine: Engine) -> tuple[Any, str]:
        """The text format, with the rule base's gauges read now."""
        rb = engine.rulebase
        self.rulebase.clear()
        self.rulebase.labels(rb.digest).set(1)
        self.rules.set(len(rb.rules))
        for result, count in engine.reloads.items():  # the engine counts; the counter catches up
            self.reloads.labels(result).inc(count - self.counted.get(result, 0))
            self.counted[result] = count
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
