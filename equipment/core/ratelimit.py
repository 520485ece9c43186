"""A small fixed-window limiter per client address.

In-process by design: each web process limits on its own (N processes allow N times the rate),
which is enough to blunt scraping and guessing; a shared store is the step for a large cluster.
"""
from __future__ import annotations

import threading
import time

from flask import current_app, request

from equipment.core.errors import RateLimited


class Limiter:
    def __init__(self):
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, bucket: str, key: str, limit: int, window_s: float) -> bool:
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get((bucket, key), (now, 0))
            if now - start >= window_s:
                start, count = now, 0
            count += 1
            self._windows[(bucket, key)] = (start, count)
            if len(self._windows) > 100_000:  # bound memory against address churn
                self._windows.clear()
            return count <= limit


limiter = Limiter()


def parse_rate(text: str) -> tuple[int, float]:
    count, _, seconds = str(text).partition("/")
    return int(count), float(seconds or 60)


def check(bucket: str, setting: str, key: str | None = None) -> None:
    limit, window = parse_rate(current_app.config[setting])
    if limit <= 0:
        return
    if not limiter.hit(bucket, key or request.remote_addr or "-", limit, window):
        raise RateLimited("Too many requests, slow down / 请求过于频繁，请稍后再试")
