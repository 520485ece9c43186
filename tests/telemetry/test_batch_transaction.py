"""One consumer batch = one transaction, on real commits (both databases, real Mosquitto).

A trapped event is never lost: the incident insert failing N times, or the consumer SIGKILLed at any commit
boundary of the batch, still ends with exactly one incident (and one alarm, counted once).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from sqlalchemy import event, func, select, text

from equipment.telemetry.models import Alarm
from tests.telemetry.conftest import wait_until

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

ROOT = Path(__file__).resolve().parents[2]
FAILS = 3


def _payload(seq: int, **body) -> bytes:
    return orjson.dumps({"seq": seq, "ts": int(time.time() * 1000), **body})


def _publish_event(live, creds: dict, code: str, seq: int = 1, active: bool = True) -> None:
    client, _ = live.connect(creds["terminal_id"], creds["mqtt_password"])
    topic = f"equipment/{creds['terminal_id']}/event"
    client.publish(topic, _payload(seq, code=code, active=active), qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def _incidents(live, unit_id: int) -> int:
    from equipment.emergency.models import Incident
    return live.scalar(select(func.count()).select_from(Incident).where(Incident.equipment_id == unit_id))


def _alarm_counts(live, unit_id: int, code: str) -> list[int]:
    from equipment.extensions import db
    with live.app.app_context():
        try:
            return list(db.session.scalars(select(Alarm.count).where(Alarm.equipment_id == unit_id,
                                                                      Alarm.code == code)))
        finally:
            db.session.remove()


# --- the incident insert fails N times, then works -------------------------------------------------

class FailingIncidentInsert:
    """A real failing statement: a BEFORE INSERT trigger on incidents that raises for the first N inserts.

    The count lives outside the transaction (a PostgreSQL sequence; on SQLite a function of this process's
    connections), so the rollback of the failed batch does not reset it."""

    def __init__(self, live, fails: int):
        self.live, self.fails, self.calls = live, fails, 0

    def _gate(self) -> int:
        self.calls += 1
        return 1 if self.calls <= self.fails else 0

    def _on_connect(self, dbapi_conn, _record):
        dbapi_conn.create_function("inject_fail", 0, self._gate)

    def __enter__(self):
        from equipment.extensions import db
        with self.live.app.app_context():
            if self.live.backend == "sqlite":
                event.listen(db.engine, "connect", self._on_connect)
                db.engine.dispose()  # pooled connections predate the function
                ddl = ["CREATE TRIGGER inject_fail BEFORE INSERT ON incidents WHEN inject_fail() "
                       "BEGIN SELECT RAISE(ABORT, 'injected: incident insert fails'); END"]
            else:
                ddl = ["CREATE SEQUENCE inject_fail_seq",
                       "CREATE FUNCTION inject_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                       f"IF nextval('inject_fail_seq') <= {self.fails} THEN "
                       "RAISE EXCEPTION 'injected: incident insert fails'; END IF; RETURN NEW; END $$",
                       "CREATE TRIGGER inject_fail BEFORE INSERT ON incidents "
                       "FOR EACH ROW EXECUTE FUNCTION inject_fail()"]
            with db.engine.begin() as conn:
                for stmt in ddl:
                    conn.exec_driver_sql(stmt)
        return self

    def attempts(self) -> int:
        if self.live.backend == "sqlite":
            return self.calls
        return self.live.scalar(text("SELECT last_value FROM inject_fail_seq"))

    def __exit__(self, *exc):
        from equipment.extensions import db
        with self.live.app.app_context():
            with db.engine.begin() as conn:
                if self.live.backend == "sqlite":
                    conn.exec_driver_sql("DROP TRIGGER inject_fail")
                else:
                    conn.exec_driver_sql("DROP TRIGGER inject_fail ON incidents")
                    conn.exec_driver_sql("DROP FUNCTION inject_fail()")
                    conn.exec_driver_sql("DROP SEQUENCE inject_fail_seq")
            if self.live.backend == "sqlite":
                event.remove(db.engine, "connect", self._on_connect)


def test_incident_insert_failing_n_times_still_opens_exactly_one_incident(live):
    unit = live.unit()
    creds = live.provision(unit)
    with FailingIncidentInsert(live, FAILS) as failing:
        _publish_event(live, creds, "11")
        assert wait_until(lambda: _incidents(live, unit) == 1, 30), "the trapped event was lost"
        assert failing.attempts() == FAILS + 1  # it did fail N times before the insert that worked
    time.sleep(0.5)  # a late extra incident or alarm repeat would show up now
    assert _incidents(live, unit) == 1
    # the failed batches left nothing behind: the retries counted the event once
    assert _alarm_counts(live, unit, "11") == [1]


# --- SIGKILL at each commit boundary ---------------------------------------------------------------

def _start_probe(live, tmp_path, kill_at: str, code: str) -> subprocess.Popen:
    from equipment.telemetry.mqtt import brokerctl
    user, pwd = brokerctl.service_credentials(live.app)
    env = {**os.environ, "EQUIPMENT_DATABASE_URL": live.url, "PYTHONPATH": str(ROOT),
           "EQUIPMENT_MQTT_URL": f"mqtt://{user}:{pwd}@{live.broker.host}:{live.broker.port}",
           "EQUIPMENT_INSTANCE_DIR": str(tmp_path), "PROBE_KILL_AT": kill_at, "PROBE_CODE": code,
           "PROBE_CLIENT_ID": live.client_id}
    return subprocess.Popen([sys.executable, "-m", "tests.telemetry.consumer_probe"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "probe.log", "ab"))


def _kill_and_restart(live, tmp_path, kill_at: str, code: str, unit: int, look):
    """Run the probe consumer (same client id: it takes over the rig's persistent session) until it kills
    itself at `kill_at`, `look()` at what it left committed, then let the rig's consumer take over again."""
    creds = live.provision(unit)
    live.stop_consumer()
    connects = lambda: live.broker.log_tail(100000).count(f" as {live.client_id} ")  # noqa: E731
    before = connects()
    probe = _start_probe(live, tmp_path, kill_at, code)
    try:
        assert wait_until(lambda: connects() > before, 30), (tmp_path / "probe.log").read_text()[-3000:]
        time.sleep(0.3)  # the SUBACK follows the CONNACK
        _publish_event(live, creds, code)
        assert probe.wait(30) == -9, (tmp_path / "probe.log").read_text()[-3000:]
        left = look()
    finally:
        if probe.poll() is None:
            probe.kill()
        live.start_consumer()
    return left


@pytest.mark.parametrize("kill_at", ["alarm_flushed", "before_commit", "after_commit"])
def test_sigkill_at_each_commit_boundary_of_a_trapped_batch_opens_one_incident(live, tmp_path, kill_at):
    unit = live.unit()
    incidents, alarm_counts = _kill_and_restart(
        live, tmp_path, kill_at, "11", unit, lambda: (_incidents(live, unit), _alarm_counts(live, unit, "11")))
    # one commit per batch: before it nothing of the batch is in the database, after it all of it is
    assert (incidents, alarm_counts) == ((1, [1]) if kill_at == "after_commit" else (0, []))
    assert wait_until(lambda: _incidents(live, unit) == 1, 30), "the trapped event was lost"
    time.sleep(0.5)
    assert _incidents(live, unit) == 1
    assert _alarm_counts(live, unit, "11") == [1]  # the redelivery is a duplicate, not a repeat


def _maintained_unit(live) -> int:
    from equipment.core.actor import SYSTEM, acting_as
    from equipment.extensions import db
    from tests.emergency.helpers import world
    from tests.factories import Factory
    with live.app.app_context(), acting_as(SYSTEM):
        _maint, _team, unit = world(Factory(db), crews_near=1)
        db.session.commit()
        return unit.id


def _fault_notices(live, unit_id: int) -> tuple[int, int]:
    """(fault notices of the unit, their outbox rows)."""
    from equipment.emergency.models import Incident, Notification
    notices = live.scalar(select(func.count()).select_from(Incident).where(
        Incident.equipment_id == unit_id, Incident.kind == "fault"))
    notes = live.scalar(select(func.count()).select_from(Notification).join(
        Incident, Incident.id == Notification.incident_id).where(Incident.equipment_id == unit_id))
    return notices, notes


@pytest.mark.parametrize("kill_at", ["alarm_flushed", "before_commit", "after_commit"])
def test_sigkill_at_each_commit_boundary_of_a_critical_fault_keeps_one_alarm_and_one_notice(live, tmp_path,
                                                                                             kill_at):
    unit = _maintained_unit(live)
    alarm_counts, notices = _kill_and_restart(
        live, tmp_path, kill_at, "01", unit, lambda: (_alarm_counts(live, unit, "01"), _fault_notices(live, unit)))
    committed = kill_at == "after_commit"
    assert alarm_counts == ([1] if committed else [])
    assert notices == ((1, 2) if committed else (0, 0))
    assert wait_until(lambda: _alarm_counts(live, unit, "01") == [1], 30), "the alarm was lost"
    assert wait_until(lambda: _fault_notices(live, unit) == (1, 2), 30), _fault_notices(live, unit)
    time.sleep(0.5)
    # one alarm counted once, one notice, the maintenance unit and its crew notified once each
    assert _alarm_counts(live, unit, "01") == [1] and _fault_notices(live, unit) == (1, 2)


# --- TrappedCleared reaches the incident's timeline ------------------------------------------------

@pytest.fixture()
def rig(db, f):
    from tests.telemetry.test_ingest import Rig
    return Rig(db, f)


def _timeline(rig, kind: str) -> list[dict]:
    from equipment.emergency.models import IncidentEvent
    incident = rig.incidents()[0]
    return [e.data for e in rig.db.session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == incident.id, IncidentEvent.kind == kind).order_by(IncidentEvent.id))]


def test_car_levelled_with_doors_open_goes_on_the_incident_timeline(rig):
    from tests.telemetry.test_ingest import IDLE
    rig.run(rig.msg("state", **{**IDLE, "occupied": True}))
    rig.run(rig.msg("event", code="11", active=True))
    assert _timeline(rig, "sensor_released") == []
    rig.run(rig.msg("state", **{**IDLE, "occupied": True, "door_closed": False}))
    assert _timeline(rig, "sensor_released") == [{"source": "sensor", "reason": "levelled_doors_open"}]
    incident = rig.incidents()[0]
    assert incident.is_open  # the sensors say it is over; the people on site still close it


def test_terminal_clearing_11_goes_on_the_incident_timeline(rig):
    rig.run(rig.msg("event", code="11", active=True))
    rig.run(rig.msg("event", code="11", active=False))
    assert _timeline(rig, "sensor_released") == [{"source": "sensor", "reason": "event_11_cleared"}]


def test_release_without_an_open_incident_writes_nothing(rig):
    from equipment.emergency import service as emergency
    assert emergency.sensor_released(equipment_id=rig.unit.id, reason="car_empty") is None
    assert rig.incidents() == []
