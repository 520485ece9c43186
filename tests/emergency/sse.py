"""A plain HTTP client of the live stream for tests: reads events on a thread, can be closed at any time."""
from __future__ import annotations

import json
import queue
import socket
import threading
import time

import requests


class SseClient(threading.Thread):
    def __init__(self, base: str, headers: dict, params: dict | None = None, read: bool = True):
        super().__init__(daemon=True)
        self.url, self.headers, self.params, self.read = f"{base}/api/v1/incidents/stream", headers, params, read
        self.events: queue.Queue = queue.Queue()
        self.status: int | None = None
        self.resp = None
        self.opened = threading.Event()

    def run(self) -> None:
        try:
            self.resp = requests.get(self.url, headers=self.headers, params=self.params, stream=True, timeout=(5, 60))
            self.status = self.resp.status_code
            self.opened.set()
            if self.read and self.status == 200:
                self._parse()
        except (requests.RequestException, AttributeError, ValueError):
            pass  # closed by the test, or the server went away
        finally:
            self.opened.set()

    def _parse(self) -> None:
        event: dict = {}
        for line in self.resp.iter_lines(decode_unicode=True):
            if not line:
                if "event" in event:
                    self.events.put(event)
                event = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                event[field] = json.loads(value) if field == "data" else value.strip()

    def start_and_wait(self, timeout: float = 15.0) -> "SseClient":
        self.start()
        assert self.opened.wait(timeout), "no answer from the stream"
        return self

    def next(self, kind: str | None = None, match=lambda data: True, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if (kind is None or event["event"] == kind) and match(event.get("data")):
                return event
        return None

    def drain(self, quiet_s: float) -> list[dict]:
        """Every event that arrives until none came for `quiet_s`."""
        out = []
        while (event := self.next(timeout=quiet_s)) is not None:
            out.append(event)
        return out

    def close(self) -> None:
        """Hang up: shut the socket down first (closing the response would wait for the reading thread)."""
        if self.resp is None:
            return
        fp = getattr(getattr(self.resp.raw, "_fp", None), "fp", None)  # http.client keeps the socket here
        sock = getattr(getattr(fp, "raw", None), "_sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if not self.read:
            self.resp.close()
