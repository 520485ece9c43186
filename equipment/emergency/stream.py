"""Server-sent events for the dispatcher console and the crew page: incident changes without reload.

One poller per process and database (the `Hub`) reads the timeline table every POLL_S and wakes the streams
waiting on it, so a hundred open pages cost one query per poll, not a hundred; any process's commit shows up
in every stream. Each stream then dumps only the incidents that changed, in its viewer's scope.

A new page gets a snapshot of the open incidents. A reconnecting page sends the id of the last event it saw
(`Last-Event-ID`, or `?last_event_id=` when the page itself reconnects after an error) and gets only what
changed since, so nothing is replayed twice and a closed incident never comes back as new. Streams are
bounded per process (STREAM_MAX); a stream whose client left is noticed within CHECK_S, one whose client
stops reading fails its write after WRITE_TIMEOUT_S, and either way its slot is freed at once.
"""
from __future__ import annotations

import collections
import json
import logging
import select
import socket
import ssl
import threading
import time

from flask import Response, current_app, request

from equipment.core.actor import Actor
from equipment.core.db import session_pinned
from equipment.core.errors import NotFound, envelope
from equipment.emergency import queries, schemas
from equipment.extensions import db
from equipment.web.metrics import gauge_source

log = logging.getLogger("equipment.emergency.stream")
POLL_S = 0.25  # one query per process, whatever the number of streams
CHECK_S = 1.0  # a waiting stream looks at its client this often
HEARTBEAT_S = 15.0  # keeps proxies from closing an idle stream
WRITE_TIMEOUT_S = 10.0
MAX_AGE_S = 300.0  # then the page reconnects (resuming), so a process can be drained
IDLE_S = 30.0  # the poller stops this long after its last stream
REPLAY_MAX = 500  # a page further behind than this gets a fresh snapshot instead of the backlog
LOOKBACK = 64  # ids committed out of order by concurrent transactions are caught within this window
BUFFER = 4096  # recent changes kept for the streams to pick up
SHUTDOWN = threading.Event()  # set on server shutdown (and by tests): the poller and every stream end


class Cursor:
    """Event ids already seen, so the lookback window never yields one twice."""

    def __init__(self, start: int, seen=()):
        self.position = start
        self.seen: collections.deque = collections.deque(maxlen=4 * LOOKBACK)
        self._seen_set: set = set()
        for event_id in seen:  # ids that exist at the start are covered by the snapshot or the replay
            self._mark(event_id)

    def _mark(self, event_id: int) -> None:
        if len(self.seen) == self.seen.maxlen:
            self._seen_set.discard(self.seen[0])
        self.seen.append(event_id)
        self._seen_set.add(event_id)

    def fresh(self, rows):
        out = []
        for event_id, incident_id, kind in rows:
            if event_id in self._seen_set or event_id <= self.position - LOOKBACK:
                continue
            self._mark(event_id)
            self.position = max(self.position, event_id)
            out.append((event_id, incident_id, kind))
        return out


class Hub:
    """The process's poller for one app (database) and the count of its open streams."""

    def __init__(self, app):
        self.app = app
        self.cond = threading.Condition()
        self.recent: collections.deque = collections.deque(maxlen=BUFFER)  # (seq, event id, incident, kind)
        self.seq = 0
        self.streams = 0
        self.thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.dumps: collections.OrderedDict = collections.OrderedDict()  # desk view of (incident, event)

    def acquire(self, limit: int) -> bool:
        with self.cond:
            if self.streams >= limit:
                return False
            self.streams += 1
            return True

    def release(self) -> None:
        with self.cond:
            self.streams -= 1
            self.cond.notify_all()

    def _ensure_poller(self) -> None:
        """Start the poller if none runs (first stream, or the last one stopped); call with the lock held."""
        if session_pinned():
            # One connection for the whole test (savepoint fixture): a poller thread would share it with the
            # request and break its savepoints. Streams still open, authorise and send their snapshot.
            self.ready.set()
            return
        if self.thread is None and not SHUTDOWN.is_set():
            self.ready.clear()
            self.thread = threading.Thread(target=self._run, name="sse-hub", daemon=True)
            self.thread.start()

    def subscribe(self) -> int:
        """Make sure the poller runs; returns the sequence number after which this stream reads."""
        with self.cond:
            self._ensure_poller()
        self.ready.wait(10)
        with self.cond:
            return self.seq

    def wait(self, since: int, timeout: float) -> tuple[list, int]:
        with self.cond:
            self._ensure_poller()  # a poller that died on a database error is replaced
            if self.seq == since and not SHUTDOWN.is_set():
                self.cond.wait(timeout)
            rows = [r for r in self.recent if r[0] > since]
            return [r[1:] for r in rows], self.seq

    def _run(self) -> None:
        with self.app.app_context():
            try:
                cursor = self._start_cursor()
                self.ready.set()
                idle_since = None
                while not SHUTDOWN.is_set():
                    if self._idle(idle_since) or session_pinned():  # pinned: see _ensure_poller
                        return
                    idle_since = None if self.streams else (idle_since or time.monotonic())
                    self._publish(self._poll(cursor))
                    SHUTDOWN.wait(POLL_S)
            finally:
                with self.cond:
                    self.thread = None
                    self.cond.notify_all()
                db.session.remove()

    def _start_cursor(self) -> Cursor:
        try:
            head = queries.last_event_id()
            return Cursor(head, queries.event_ids_since(head - LOOKBACK))
        finally:
            db.session.remove()

    def _idle(self, idle_since) -> bool:
        with self.cond:
            if self.streams == 0 and idle_since is not None and time.monotonic() - idle_since > IDLE_S:
                self.thread = None  # under the lock: a new stream now starts a new poller
                return True
        return False

    @staticmethod
    def _poll(cursor: Cursor) -> list:
        try:
            return cursor.fresh(queries.changes_since(cursor.position, lookback=LOOKBACK))
        except Exception:  # a database hiccup: the streams stay open, the next poll catches up
            log.exception("live stream poll failed")
            return []
        finally:
            db.session.remove()  # hand the connection back between polls

    def _publish(self, rows) -> None:
        if not rows:
            return
        with self.cond:
            for row in rows:
                self.seq += 1
                self.recent.append((self.seq, *row))
            self.cond.notify_all()

    def desk_view(self, incident_id: int, event_id: int, build):
        """Every desk viewer sees the same body: build it once per change, not once per open console."""
        key = (incident_id, event_id)
        body = self.dumps.get(key)
        if body is None:
            body = self.dumps[key] = build()
            while len(self.dumps) > 256:
                self.dumps.popitem(last=False)
        return body


_hubs_lock = threading.Lock()


def hub_of(app) -> Hub:
    with _hubs_lock:
        hub = app.extensions.get("sse_hub")
        if hub is None:
            hub = app.extensions["sse_hub"] = Hub(app)
        return hub


@gauge_source
def stream_gauges() -> dict:
    hub = current_app.extensions.get("sse_hub")
    return {("equipment_sse_streams", "Live SSE streams open in this web process", ()): hub.streams if hub else 0}


# --- one stream -----------------------------------------------------------------------------------

def _sse(event: str, data, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def _dump(actor: Actor, incident_id: int) -> dict | None:
    try:
        incident = queries.get_incident(actor=actor, incident_id=incident_id)
    except NotFound:  # outside this viewer's scope
        return None
    return schemas.IncidentOut().dump(queries.view(incident, actor=actor))


def snapshot(actor: Actor) -> list[dict]:
    page = queries.list_incidents(actor=actor, status="open", per_page=200)
    return [schemas.IncidentOut().dump(queries.view(i, actor=actor)) for i in page["items"]]


def _changes(hub: Hub, actor: Actor, rows, skip=frozenset()):
    by_incident: dict[int, list] = collections.OrderedDict()
    for event_id, incident_id, kind in rows:
        if event_id not in skip:
            by_incident.setdefault(incident_id, []).append((event_id, kind))
    for incident_id, events in by_incident.items():
        last = max(e for e, _ in events)
        if actor.role in queries.DESK:
            body = hub.desk_view(incident_id, last, lambda i=incident_id: _dump(actor, i))
        else:
            body = _dump(actor, incident_id)
        if body is not None:
            yield _sse("incident", {**body, "changes": [k for _, k in events]}, last)


def _client_gone(sock) -> bool:
    """The client closed its end: the socket reads as end-of-file (a live SSE client never sends more)."""
    if sock is None or isinstance(sock, ssl.SSLSocket):
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _opening(hub: Hub, actor: Actor, resume: int | None):
    """The first events: the backlog after `resume` when it is short, else a snapshot; and what it covered."""
    head = queries.last_event_id()
    if resume is not None and 0 <= head - resume <= REPLAY_MAX:
        rows = queries.changes_since(resume, limit=REPLAY_MAX)
        return list(_changes(hub, actor, rows)), {r[0] for r in rows}
    return [_sse("snapshot", snapshot(actor), head)], frozenset()


def _generate(app, hub: Hub, actor: Actor, resume: int | None, sock):
    with app.app_context():
        try:
            since = hub.subscribe()
            yield "retry: 2000\n\n"
            chunks, covered = _opening(hub, actor, resume)
            db.session.remove()
            yield from chunks
            opened = last_beat = time.monotonic()
            while time.monotonic() - opened < MAX_AGE_S and not SHUTDOWN.is_set():
                rows, since = hub.wait(since, CHECK_S)
                if rows:
                    chunks = list(_changes(hub, actor, rows, covered))
                    db.session.remove()
                    yield from chunks
                if _client_gone(sock):
                    return
                if time.monotonic() - last_beat > HEARTBEAT_S:
                    last_beat = time.monotonic()
                    yield ": ping\n\n"
        finally:
            db.session.remove()


def _release_once(hub: Hub):
    done = threading.Event()

    def release():
        if not done.is_set():
            done.set()
            hub.release()
    return release


def _resume_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else None


def _client_socket():
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    if sock is not None:
        try:
            sock.settimeout(WRITE_TIMEOUT_S)  # a client that stops reading cannot hold its thread for ever
        except OSError:
            return None
    return sock


def response(actor: Actor) -> Response:
    app = current_app._get_current_object()
    hub = hub_of(app)
    if not hub.acquire(int(app.config.get("STREAM_MAX", 256))):
        resp = envelope(503, "too_many_streams", "Too many live connections, retry shortly / 实时连接已满，请稍后重试")
        resp.headers["Retry-After"] = "5"
        return resp
    resp = Response(_generate(app, hub, actor, _resume_id(), _client_socket()), mimetype="text/event-stream")
    resp.call_on_close(_release_once(hub))  # runs even if the client left before the first chunk
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return resp
