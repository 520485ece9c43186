"""The live stream against a real threaded server and real commits: a new page gets a snapshot and no
replay, a resuming page only what it missed, closed incidents stay closed; 200 concurrent streams, most of
them never read, do not starve a new client; slots come back when clients leave; a full server says 503."""
from __future__ import annotations

import re
import time

import pytest
import requests

from equipment.core.actor import SYSTEM, acting_as
from tests.emergency.helpers import run_service
from tests.emergency.sse import SseClient
from tests.factories import PASSWORD
from tests.support.live import LiveServer, until

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests


@pytest.fixture()
def live(committed_app):
    from equipment.emergency import stream
    stream.SHUTDOWN.clear()
    with LiveServer(committed_app) as server:
        yield committed_app, server
        stream.SHUTDOWN.set()  # end the streams before the server stops


def _seed(app, units=3):
    from tests.emergency.helpers import dispatcher, world
    from tests.factories import Factory
    from equipment.extensions import db
    with app.app_context(), acting_as(SYSTEM):
        f = Factory(db)
        ids = [world(f)[2].id for _ in range(units)]
        desk = dispatcher(f)
        db.session.commit()
        out = ids, desk.username
        db.session.remove()
        return out


def _auth(base, username):
    resp = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=10)
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _open(app, unit_id):
    return run_service(app, "open_incident", equipment_id=unit_id, source="sensor")


def _false_alarm(app, incident_id):
    return run_service(app, "transition", actor=SYSTEM, incident_id=incident_id, action="false_alarm")


def _gauge(base) -> int:
    text = requests.get(f"{base}/metrics", timeout=10).text
    return int(float(re.search(r"^equipment_sse_streams (\S+)$", text, re.M).group(1)))


def test_fresh_page_gets_a_snapshot_and_a_resuming_page_only_what_it_missed(live):
    app, server = live
    (u1, u2, u3), desk = _seed(app)
    auth = _auth(server.url, desk)
    closed = _open(app, u1)
    _false_alarm(app, closed)

    page = SseClient(server.url, auth).start_and_wait()
    first = page.next()
    assert first["event"] == "snapshot" and first["data"] == []
    assert page.drain(1.5) == []  # the closed incident's history is not replayed

    opened = _open(app, u2)
    event = page.next("incident", lambda d: d["id"] == opened)
    assert event is not None and "reported" in event["data"]["changes"]
    seen = int(event["id"])
    page.close()

    _false_alarm(app, opened)  # while the page is away
    third = _open(app, u3)
    for how in ({"headers": {**auth, "Last-Event-ID": str(seen)}}, {"headers": auth, "params": {"last_event_id": seen}}):
        back = SseClient(server.url, how["headers"], how.get("params")).start_and_wait()
        got = back.drain(1.5)
        back.close()
        assert [e["event"] for e in got] == ["incident", "incident"], got  # no snapshot, nothing seen before
        assert {e["data"]["id"]: e["data"]["status"] for e in got} == {opened: "false_alarm", third: "dispatched"}
        assert all(int(e["id"]) > seen for e in got)


def test_resuming_far_behind_gets_a_snapshot(live, monkeypatch):
    from equipment.emergency import stream
    app, server = live
    (u1, u2, _), desk = _seed(app)
    auth = _auth(server.url, desk)
    for unit in (u1, u2):
        _open(app, unit)
    monkeypatch.setattr(stream, "REPLAY_MAX", 2)  # the two incidents wrote more events than that
    back = SseClient(server.url, {**auth, "Last-Event-ID": "1"}).start_and_wait()
    first = back.next()
    back.close()
    assert first["event"] == "snapshot" and len(first["data"]) == 2


@pytest.mark.timeout(240)
def test_200_streams_most_never_read_a_new_client_still_served_and_slots_return(live):
    app, server = live
    (unit, _, _), desk = _seed(app)
    auth = _auth(server.url, desk)
    app.config["STREAM_MAX"] = 202
    readers = [SseClient(server.url, auth).start_and_wait() for _ in range(40)]
    for r in readers:
        assert r.next("snapshot", timeout=15) is not None
    idle = [SseClient(server.url, auth, read=False).start_and_wait() for _ in range(160)]  # never read a byte
    assert all(c.status == 200 for c in idle)
    assert until(lambda: _gauge(server.url) == 200, 10), _gauge(server.url)

    started = time.monotonic()
    newcomer = SseClient(server.url, auth).start_and_wait()
    assert newcomer.next("snapshot", timeout=10) is not None
    assert time.monotonic() - started < 10

    incident = _open(app, unit)  # every reading client hears of it although 160 others never read
    for r in [*readers, newcomer]:
        assert r.next("incident", lambda d: d["id"] == incident, timeout=10) is not None

    extra = SseClient(server.url, auth).start_and_wait()  # 202 open: the server is full
    full = SseClient(server.url, auth).start_and_wait()
    assert full.status == 503
    assert full.resp.headers["Retry-After"] == "5"
    assert full.resp.json()["error"]["code"] == "too_many_streams"

    for c in idle[:100]:  # clients leave: their slots come back within a few seconds
        c.close()
    assert until(lambda: _gauge(server.url) == 102, 15), _gauge(server.url)
    again = SseClient(server.url, auth).start_and_wait()
    assert again.status == 200 and again.next("snapshot", timeout=10) is not None

    for c in [*readers, *idle[100:], newcomer, extra, full, again]:
        c.close()
    assert until(lambda: _gauge(server.url) == 0, 15), _gauge(server.url)
