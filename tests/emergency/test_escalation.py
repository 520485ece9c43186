"""Deadline timers: a crew that does not accept is passed over, then the next level; arrival overdue."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from equipment.core.models import utcnow
from equipment.emergency import jobs, service
from equipment.emergency.models import Dispatch, IncidentEvent, Notification
from tests.emergency.helpers import UNIT_LAT, UNIT_LON, crew, world

S = dt.timedelta(seconds=1)


def _offers(db, incident_id):
    return db.session.scalars(select(Dispatch).where(Dispatch.incident_id == incident_id)
                              .order_by(Dispatch.id)).all()


def _kinds(db, incident_id, model=Notification):
    return [n.kind for n in db.session.scalars(select(model).where(model.incident_id == incident_id)
                                                .order_by(model.id))]


def test_passed_over_then_next_crew_then_next_level_then_brigade(db, f):
    maint, [(_, near), (_, far)], unit = world(f, crews_near=2)
    _, neighbour = crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.005, lon=UNIT_LON)  # nearer, other unit
    t0 = utcnow()
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    assert inc.level == 1 and inc.crew_id == near.id  # the contracted unit first, though the neighbour is nearer

    assert jobs.escalate(now=t0 + 299 * S) == {"passed_over": 0, "overdue": 0}
    assert jobs.escalate(now=t0 + 301 * S)["passed_over"] == 1
    assert (inc.level, inc.crew_id) == (1, far.id)
    assert jobs.escalate(now=t0 + 301 * S)["passed_over"] == 0  # idempotent

    jobs.escalate(now=t0 + 602 * S)
    assert (inc.level, inc.crew_id) == (2, neighbour.id)
    jobs.escalate(now=t0 + 903 * S)
    assert inc.level == 3 and inc.fire_notified_at == t0 + 903 * S and inc.status == "dispatched"
    assert [o.status for o in _offers(db, inc.id)] == ["passed_over"] * 3 + ["notified"]
    assert _kinds(db, inc.id) == ["crew_dispatch"] * 3 + ["fire_brigade"]
    fire = db.session.scalars(select(Notification).where(Notification.kind == "fire_brigade")).one()
    brief = fire.payload["incident"]
    assert brief["address"] == unit.address and brief["rescue_code"] == unit.rescue_code
    assert brief["location"]["lat"] == UNIT_LAT and brief["maintenance_unit"]["name"] == maint.name
    assert "passed_over" in _kinds(db, inc.id, IncidentEvent)
    jobs.escalate(now=t0 + 2000 * S)  # arrival overdue, but the brigade is not called twice
    assert _kinds(db, inc.id).count("fire_brigade") == 1 and inc.arrival_overdue


def test_accepted_in_time_is_not_passed_over(db, f):
    _, [(user, member)], unit = world(f)
    t0 = utcnow()
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    service.transition(actor=f.actor(user), incident_id=inc.id, action="accept", now=t0 + 60 * S)
    assert jobs.escalate(now=t0 + 400 * S)["passed_over"] == 0
    assert inc.status == "accepted" and inc.crew_id == member.id


def test_arrival_overdue_flags_and_calls_brigade(db, f):
    _, [(user, _)], unit = world(f)
    t0 = utcnow()
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    service.transition(actor=f.actor(user), incident_id=inc.id, action="accept", now=t0 + 60 * S)
    assert jobs.escalate(now=t0 + 1799 * S)["overdue"] == 0
    assert jobs.escalate(now=t0 + 1801 * S)["overdue"] == 1
    assert inc.arrival_overdue and inc.level == 3 and inc.status == "accepted"
    assert jobs.escalate(now=t0 + 1900 * S)["overdue"] == 0
    assert _kinds(db, inc.id) == ["crew_dispatch", "fire_brigade"]


def test_crew_cannot_accept_after_being_passed_over(db, f):
    import pytest
    from equipment.core.errors import NotFound
    _, [(user, _)], unit = world(f)
    t0 = utcnow()
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    jobs.escalate(now=t0 + 301 * S)
    with pytest.raises(NotFound):
        service.transition(actor=f.actor(user), incident_id=inc.id, action="accept", now=t0 + 302 * S)


def test_busy_and_off_duty_crews_are_skipped(db, f):
    maint, [(_, busy)], unit = world(f)
    crew(f, maint, lat=UNIT_LAT, lon=UNIT_LON, on_duty=False)  # right there, but off duty
    _, free = crew(f, maint, lat=UNIT_LAT + 0.05, lon=UNIT_LON)
    first, _ = service.open_incident(equipment_id=unit.id, source="sensor")
    assert first.crew_id == busy.id
    other = f.elevator(maint_org=maint, lat=UNIT_LAT, lon=UNIT_LON)
    second, _ = service.open_incident(equipment_id=other.id, source="sensor")
    assert second.crew_id == free.id


def test_late_delivered_signal_still_gets_a_full_accept_window(db, f):
    _, [(_, member)], unit = world(f)
    event_time = utcnow() - 600 * S  # buffered by the terminal while the network was down
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=event_time)
    assert inc.reported_at == event_time and inc.crew_id == member.id
    assert jobs.escalate()["passed_over"] == 0  # the offer is not already expired
