"""Two web processes (gunicorn, 2 gthread workers each, as docs/operations.md deploys them) on one database:
what is written through one is visible through the other, in its API and in its live SSE stream.

Nothing is shared between the processes but PostgreSQL: tokens are database rows, and each stream polls the
incident timeline table, so a commit made by any process reaches every dispatcher's console.
"""
from __future__ import annotations

import json
import os
import queue
import threading
import time

import pytest
import requests

from tests.factories import PASSWORD
from tests.reliability.support import BIN
from tests.support.ports import free_port
from tests.telemetry.conftest import wait_until

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests


class Stream(threading.Thread):
    """Reads /api/v1/incidents/stream and queues each event as {"event", "id", "data"}."""

    def __init__(self, base: str, headers: dict):
        super().__init__(daemon=True)
        self.url, self.headers = f"{base}/api/v1/incidents/stream", headers
        self.events: queue.Queue = queue.Queue()
        self.status: int | None = None

    def run(self) -> None:
        try:
            with requests.get(self.url, headers=self.headers, stream=True, timeout=(5, 30)) as resp:
                self.status = resp.status_code
                event: dict = {}
                for line in resp.iter_lines(decode_unicode=True):
                    if not line:
                        if event:
                            self.events.put(event)
                        event = {}
                    elif not line.startswith(":"):
                        field, _, value = line.partition(":")
                        event[field] = json.loads(value) if field == "data" else value.strip()
        except requests.RequestException:
            pass  # the server went away at the end of the test

    def next(self, kind: str, match=lambda data: True, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            if event.get("event") == kind and match(event.get("data")):
                return event
        return None


def start_web(rig, procs, tmp_path, name: str) -> str:
    port = free_port()
    (tmp_path / name).mkdir()
    env = {"EQUIPMENT_DATABASE_URL": rig.url, "EQUIPMENT_INSTANCE_DIR": str(tmp_path / name),
           "EQUIPMENT_SECRET_KEY": "reliability-test-shared-secret"}
    procs.spawn(name, [str(BIN / "gunicorn"), "-k", "gthread", "-w", "2", "--threads", "4",
                       "-b", f"127.0.0.1:{port}", "--graceful-timeout", "2", "wsgi:app"], env=env)
    return f"http://127.0.0.1:{port}"


def healthy(base: str, timeout: float = 3.0) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def seed(rig) -> tuple[int, str]:
    """A dispatcher and a unit with one on-duty crew; returns (unit id, dispatcher username)."""
    from equipment.core.actor import SYSTEM, acting_as
    from equipment.extensions import db
    from tests.emergency.helpers import dispatcher, world
    from tests.factories import Factory
    with rig.app.app_context(), acting_as(SYSTEM):
        f = Factory(db)
        _, _, unit = world(f, crews_near=1)
        desk = dispatcher(f)
        db.session.commit()
        ids = unit.id, desk.username
        db.session.remove()
    return ids


@pytest.mark.timeout(120)
def test_incident_opened_through_one_web_process_reaches_the_other_and_its_stream(rig, procs, tmp_path):
    unit_id, username = seed(rig)
    web_a, web_b = start_web(rig, procs, tmp_path, "web-a"), start_web(rig, procs, tmp_path, "web-b")
    assert wait_until(lambda: healthy(web_a) and healthy(web_b), 45, 0.25), procs.tails()

    token = requests.post(f"{web_a}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                          timeout=10).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}  # issued by a, used on b: tokens live in the database
    streams = {name: Stream(base, auth) for name, base in (("a", web_a), ("b", web_b))}
    for stream in streams.values():
        stream.start()
        assert stream.next("snapshot") is not None, (stream.status, procs.tails())

    resp = requests.post(f"{web_a}/api/v1/incidents", headers=auth, timeout=10,
                         json={"equipment_id": unit_id, "source": "phone", "caller_phone": "13800138000"})
    assert resp.status_code == 201, resp.text
    incident_id = resp.json()["id"]

    listed = requests.get(f"{web_b}/api/v1/incidents", params={"status": "open"}, headers=auth, timeout=10)
    assert [i["id"] for i in listed.json()["items"]] == [incident_id]
    assert requests.get(f"{web_b}/api/v1/incidents/{incident_id}", headers=auth, timeout=10).status_code == 200
    for name, stream in streams.items():
        event = stream.next("incident", lambda d: d["id"] == incident_id)
        assert event is not None, f"stream on web-{name} never showed incident {incident_id}"
        assert "reported" in event["data"]["changes"]

    # and back: a change made through b shows up in a's stream
    resp = requests.post(f"{web_b}/api/v1/incidents/{incident_id}/escalate", headers=auth, timeout=10)
    assert resp.status_code == 200, resp.text
    event = streams["a"].next("incident", lambda d: d["id"] == incident_id and "escalated" in d["changes"])
    assert event is not None, "web-a's stream missed the escalation made through web-b"
    assert event["data"]["level"] == resp.json()["level"]


def _equipment_web(rig, procs, tmp_path, *args) -> str:
    """`equipment web` (gunicorn) on a free port; returns its base URL once it answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # `equipment web` execs "gunicorn" by name: it must be on PATH (it is not when the venv is not activated)
    env = {"EQUIPMENT_DATABASE_URL": rig.url, "EQUIPMENT_INSTANCE_DIR": str(tmp_path),
           "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    procs.spawn("web", [str(BIN / "equipment"), "web", "--host", "127.0.0.1", "--port", str(port), *args],
                env=env)
    assert wait_until(lambda: healthy(base), 45, 0.25), procs.tails()
    return base


@pytest.mark.timeout(90)
def test_equipment_web_keeps_answering_while_consoles_hold_streams(rig, procs, tmp_path):
    _, username = seed(rig)
    base = _equipment_web(rig, procs, tmp_path, "--workers", "2")
    token = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                          timeout=10).json()["access_token"]
    for _ in range(2):  # two dispatcher consoles, as many as the process has workers
        stream = Stream(base, {"Authorization": f"Bearer {token}"})
        stream.start()
        assert stream.next("snapshot") is not None, procs.tails()
    started = time.monotonic()
    assert healthy(base), f"no answer with two consoles open ({time.monotonic() - started:.1f} s)"


@pytest.mark.timeout(90)
def test_equipment_web_keeps_threads_for_pages_when_streams_fill_up(rig, procs, tmp_path):
    """`equipment web --threads 6`: at most 2 live streams per process, so 4 threads stay for pages and the
    API; a third console gets 503 (it retries later) and the process keeps answering."""
    from tests.emergency.sse import SseClient
    _, username = seed(rig)
    base = _equipment_web(rig, procs, tmp_path, "--workers", "1", "--threads", "6")
    token = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                          timeout=10).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    consoles = [SseClient(base, auth, read=False).start_and_wait() for _ in range(3)]
    try:
        assert [c.status for c in consoles] == [200, 200, 503], procs.tails()
        assert consoles[2].resp.headers["Retry-After"] == "5"
        assert healthy(base) and requests.get(f"{base}/api/v1/incidents", headers=auth, timeout=5).ok
    finally:
        for c in consoles:
            c.close()
