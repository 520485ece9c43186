"""The consumer's batch function on the real databases (no broker): storage, dedupe, rules, alarms, hand-off."""
from __future__ import annotations

import time

import orjson
import pytest
from sqlalchemy import func, select

from equipment.core.actor import SYSTEM, acting_as
from equipment.telemetry import ingest, jobs, service
from equipment.telemetry.models import Alarm, LatestState, RejectCount, TelemetryEvent, TelemetryState


def _now_ms() -> int:
    return int(time.time() * 1000)


class Rig:
    """A provisioned terminal and an Ingestor committing like the consumer does."""

    def __init__(self, db, f, trapped_after_s=2.0):
        self.db = db
        self.unit = f.elevator()
        with acting_as(SYSTEM):
            creds = service.provision_terminal(actor=SYSTEM, equipment_id=self.unit.id)
        self.tid = creds["terminal_id"]
        self.ingestor = ingest.Ingestor(cfg=ingest.rules.RuleConfig(trapped_after_s=trapped_after_s,
                                                                    stop_outside_zone_after_s=trapped_after_s))
        self.seq = 0

    def msg(self, kind: str, at: float | None = None, topic_tid: str | None = None, **body):
        at = time.time() if at is None else at
        if kind != "online":
            if "seq" not in body:
                self.seq += 1
                body["seq"] = self.seq
            body.setdefault("ts", _now_ms())
            payload = orjson.dumps(body)
        else:
            payload = b"1" if body.get("online", True) else b"0"
        return ingest.Incoming(f"equipment/{topic_tid or self.tid}/{kind}", payload, at)

    def run(self, *items):
        with acting_as(SYSTEM):
            result = self.ingestor.process(list(items))
            self.db.session.commit()
        return result

    def count(self, model) -> int:
        return self.db.session.scalar(select(func.count()).select_from(model)
                                      .where(model.equipment_id == self.unit.id))

    def alarms(self, code=None, status=None):
        stmt = select(Alarm).where(Alarm.equipment_id == self.unit.id)
        if code:
            stmt = stmt.where(Alarm.code == code)
        if status:
            stmt = stmt.where(Alarm.status == status)
        return list(self.db.session.scalars(stmt))

    def incidents(self):
        from equipment.emergency.models import Incident
        return list(self.db.session.scalars(select(Incident).where(Incident.equipment_id == self.unit.id)))


@pytest.fixture()
def rig(db, f):
    return Rig(db, f)


IDLE = {"mode": "normal", "moving": False, "direction": "none", "floor": 3, "door_zone": True,
        "door_closed": True, "occupied": False, "speed": 0}


def test_state_lands_and_latest_follows(rig):
    rig.run(rig.msg("state", **IDLE))
    assert rig.count(TelemetryState) == 1
    latest = rig.db.session.get(LatestState, rig.unit.id)
    assert latest.body["floor"] == 3 and latest.online and latest.seq == 1


def test_duplicates_and_redeliveries_stored_once(rig):
    first = rig.msg("state", **IDLE)
    event = rig.msg("event", code="02")
    rig.run(first, first, event)  # a duplicate inside one batch
    rig.run(first, event)  # a redelivery in a later batch
    assert rig.count(TelemetryState) == 1
    assert rig.count(TelemetryEvent) == 1
    (alarm,) = rig.alarms("02")
    assert alarm.count == 1  # the redelivered event did not count as a repeat


def test_older_state_never_overwrites_newer(rig):
    newer = rig.msg("state", seq=10, **{**IDLE, "floor": 9})
    older = rig.msg("state", seq=5, **{**IDLE, "floor": 2})
    rig.run(newer)
    rig.run(older)
    latest = rig.db.session.get(LatestState, rig.unit.id)
    assert latest.body["floor"] == 9 and latest.seq == 10
    assert rig.count(TelemetryState) == 2  # history keeps the late one
    rig.run(rig.msg("state", seq=3, boot=1, **{**IDLE, "floor": 4}))  # a new boot restarts seq
    assert rig.db.session.get(LatestState, rig.unit.id).body["floor"] == 4


def test_event_11_opens_one_incident_at_once(rig):
    rig.run(rig.msg("event", code="11"))
    rig.run(rig.msg("event", code="11"))
    assert len(rig.incidents()) == 1
    (alarm,) = rig.alarms("11")
    assert alarm.status == "open" and alarm.count == 2
    from equipment.registry.service import history
    faults = [e for e in history.events_of(rig.unit.id) if e.kind == "fault"]
    assert len(faults) == 1  # one chain record per fault episode, not per repeat


def test_trapped_condition_fires_from_tick_after_debounce(rig, app):
    start = time.time() - 10
    trapped = {**IDLE, "occupied": True, "door_zone": False}
    rig.run(rig.msg("state", at=start, **trapped))
    assert rig.incidents() == []
    assert rig.db.session.get(LatestState, rig.unit.id).timers_armed
    app.config["TRAPPED_AFTER_S"] = 2.0
    try:
        assert jobs.tick_rules(now=start + 1) == 0
        assert jobs.tick_rules(now=start + 3) == 1
    finally:
        app.config["TRAPPED_AFTER_S"] = 45.0
    assert len(rig.incidents()) == 1
    latest = rig.db.session.get(LatestState, rig.unit.id, populate_existing=True)
    assert latest.rule_state["trapped"] is True
    assert jobs.tick_rules(now=start + 4) == 0  # once per episode


def test_fault_repeats_count_and_active_false_clears(rig):
    rig.run(rig.msg("event", code="02"))
    rig.run(rig.msg("event", code="02"))
    (alarm,) = rig.alarms("02")
    assert (alarm.status, alarm.count) == ("open", 2)
    rig.run(rig.msg("event", code="02", active=False))
    rig.db.session.refresh(alarm)
    assert alarm.status == "cleared" and alarm.cleared_by == "system"
    rig.run(rig.msg("event", code="02"))
    assert len(rig.alarms("02")) == 2 and len(rig.alarms("02", "open")) == 1


def test_unknown_and_revoked_terminals_rejected_nothing_stored(rig):
    res = rig.run(rig.msg("state", topic_tid="NOPE-1", **IDLE))
    assert res.rejects == {"unknown_terminal": 1}
    with acting_as(SYSTEM):
        service.revoke_terminal(actor=SYSTEM, terminal_id=rig.tid)
    rig.ingestor.cache.invalidate()
    res = rig.run(rig.msg("state", **IDLE))
    assert res.rejects == {"revoked_terminal": 1}
    assert rig.count(TelemetryState) == 0
    counts = {r.reason: r.count for r in rig.db.session.scalars(select(RejectCount))}
    assert counts["unknown_terminal"] >= 1 and counts["revoked_terminal"] >= 1


def test_offline_by_will_and_back_online(rig):
    rig.run(rig.msg("state", **IDLE))
    rig.run(rig.msg("online", online=False))
    (alarm,) = rig.alarms("offline", "open")
    assert not rig.db.session.get(LatestState, rig.unit.id).online
    rig.run(rig.msg("state", **IDLE))
    rig.db.session.refresh(alarm)
    assert alarm.status == "cleared"
    assert rig.db.session.get(LatestState, rig.unit.id).online


def test_heartbeat_timeout_job_is_set_based_and_idempotent(rig, app):
    import datetime as dt
    rig.run(rig.msg("state", at=time.time() - 1000, **IDLE))
    now = dt.datetime.now(dt.timezone.utc)
    assert rig.unit.id in jobs.mark_offline(now=now)
    assert rig.unit.id not in jobs.mark_offline(now=now)
    assert len(rig.alarms("offline", "open")) == 1


def test_mains_power_lost_and_recovered(rig):
    rig.run(rig.msg("state", **{**IDLE, "mains_power": False}))
    rig.run(rig.msg("state", **{**IDLE, "mains_power": False}))
    (alarm,) = rig.alarms("41")
    assert alarm.count == 1  # heartbeats do not inflate it
    rig.run(rig.msg("state", **{**IDLE, "mains_power": True}))
    rig.db.session.refresh(alarm)
    assert alarm.status == "cleared"
