"""Prometheus metrics: process-local counters plus gauges read from the database at scrape time."""
from __future__ import annotations

import time

from flask import g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("equipment_http_requests", "HTTP requests", ["method", "status"], registry=REGISTRY)
LATENCY = Histogram("equipment_http_request_seconds", "HTTP request latency by route", ["route"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


def start_timer() -> None:
    g._started = time.perf_counter()


def observe(resp):
    started = g.pop("_started", None)
    if started is not None:
        # The route template, not the path: ids and tags must not explode the label set.
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        LATENCY.labels(route=route).observe(time.perf_counter() - started)
        REQUESTS.labels(method=request.method, status=str(resp.status_code)).inc()
    return resp
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
