"""Server-sent events for the dispatcher console (and crew pages): incident changes without reload.

Works under the threaded dev server and gunicorn (gthread or gevent workers): the generator polls the
timeline table for events after its cursor every POLL_S, so any process's commit shows up in every
stream. Connections are bounded per process and each stream ends after MAX_AGE_S; EventSource then
reconnects by itself with Last-Event-ID, so nothing is missed.
"""
from __future__ import annotations

import collections
import json
import threading
import time

from flask import Response, current_app, request

from equipment.core.actor import Actor
from equipment.core.errors import AppError, NotFound
from equipment.emergency import queries, schemas
from equipment.extensions import db

POLL_S = 0.5
HEARTBEAT_S = 15.0
MAX_AGE_S = 300.0
MAX_STREAMS = 64  # per process; each open stream holds one server thread
LOOKBACK = 64  # ids committed out of order by concurrent transactions are caught within this window
_slots = threading.BoundedSemaphore(MAX_STREAMS)
SHUTDOWN = threading.Event()  # set on server shutdown (and by tests): every stream ends at its next poll


class TooManyStreams(AppError):
    status, code = 503, "too_many_streams"


def _sse(event: str, data, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def _dump(actor: Actor, incident_id: int) -> dict | None:
    try:
        incident = queries.get_incident(actor=actor, incident_id=incident_id)
    except NotFound:  # outside this viewer's scope
        return None
    return schemas.IncidentOut().dump(queries.view(incident))


def snapshot(actor: Actor) -> list[dict]:
    page = queries.list_incidents(actor=actor, status="open", per_page=200)
    return [schemas.IncidentOut().dump(queries.view(i)) for i in page["items"]]


class Cursor:
    """Event ids already sent, so the lookback window never sends one twice."""

    def __init__(self, start: int):
        self.position = start
        self.seen: collections.deque = collections.deque(maxlen=4 * LOOKBACK)
        self._seen_set: set = set()

    def fresh(self, rows):
        out = []
        for event_id, incident_id, kind in rows:
            if event_id in self._seen_set or event_id <= self.position - LOOKBACK:
                continue
            if len(self.seen) == self.seen.maxlen:
                self._seen_set.discard(self.seen[0])
            self.seen.append(event_id)
            self._seen_set.add(event_id)
            self.position = max(self.position, event_id)
            out.append((event_id, incident_id, kind))
        return out


def _changes(actor: Actor, cursor: Cursor):
    rows = cursor.fresh(queries.changes_since(cursor.position, lookback=LOOKBACK))
    by_incident: dict[int, list] = collections.OrderedDict()
    for event_id, incident_id, kind in rows:
        by_incident.setdefault(incident_id, []).append((event_id, kind))
    for incident_id, events in by_incident.items():
        body = _dump(actor, incident_id)
        if body is not None:
            body["changes"] = [k for _, k in events]
            yield _sse("incident", body, events[-1][0])


def _generate(app, actor: Actor, start: int):
    with app.app_context():
        try:
            cursor = Cursor(start)
            yield "retry: 1000\n\n"
            yield _sse("snapshot", snapshot(actor), start)
            db.session.remove()
            opened = last_beat = time.monotonic()
            while time.monotonic() - opened < MAX_AGE_S and not SHUTDOWN.is_set():
                chunks = list(_changes(actor, cursor))
                db.session.remove()  # hand the connection back between polls
                yield from chunks
                if time.monotonic() - last_beat > HEARTBEAT_S:
                    last_beat = time.monotonic()
                    yield ": ping\n\n"
                time.sleep(POLL_S)
        finally:
            db.session.remove()


def _release_once():
    done = threading.Event()

    def release():
        if not done.is_set():
            done.set()
            _slots.release()
    return release


def response(actor: Actor) -> Response:
    if not _slots.acquire(blocking=False):
        raise TooManyStreams("Too many live connections, retry shortly")
    try:
        last = request.headers.get("Last-Event-ID", type=int)
        start = last if last is not None else queries.last_event_id()
        db.session.remove()
    except Exception:
        _slots.release()
        raise
    app = current_app._get_current_object()
    resp = Response(_generate(app, actor, start), mimetype="text/event-stream")
    resp.call_on_close(_release_once())  # runs even if the client left before the first chunk
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return resp
