"""Prometheus metrics: process-local counters plus gauges read from the database at scrape time."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("equipment_http_requests", "HTTP requests", ["method", "status"], registry=REGISTRY)
_GAUGE_SOURCES: list = []  # callables returning {(name, help, ((label, value), ...)): number}


def gauge_source(fn):
    """Domains register callables that read current figures (open alarms, open incidents...)."""
    _GAUGE_SOURCES.append(fn)
    return fn


def render() -> tuple[bytes, str]:
    reg = CollectorRegistry()
    gauges: dict[str, Gauge] = {}
    for source in _GAUGE_SOURCES:
        for key, value in source().items():
            name, help_text, labels = key if len(key) == 3 else (*key, ())
            labels = dict(labels or ())
            if name not in gauges:  # one metric, many label sets
                gauges[name] = Gauge(name, help_text, sorted(labels), registry=reg)
            gauge = gauges[name]
            (gauge.labels(**labels) if labels else gauge).set(value)
    return generate_latest(REGISTRY) + generate_latest(reg), CONTENT_TYPE_LATEST
