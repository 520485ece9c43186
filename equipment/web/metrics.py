"""Prometheus metrics: process-local counters plus gauges read from the database at scrape time."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("equipment_http_requests", "HTTP requests", ["method", "status"], registry=REGISTRY)
_GAUGE_SOURCES: list = []  # callables returning {(name, help): value}


def gauge_source(fn):
    """Domains register callables that read current figures (open alarms, open incidents...)."""
    _GAUGE_SOURCES.append(fn)
    return fn


def render() -> tuple[bytes, str]:
    reg = CollectorRegistry()
    for source in _GAUGE_SOURCES:
        for (name, help_text, labels), value in source().items():
            g = Gauge(name, help_text, list(labels.keys()), registry=reg) if labels else \
                Gauge(name, help_text, registry=reg)
            (g.labels(**labels) if labels else g).set(value)
    return generate_latest(REGISTRY) + generate_latest(reg), CONTENT_TYPE_LATEST
