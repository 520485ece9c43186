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


def _config(monkeypatch, **values):
    from flask import current_app
    for key, value in values.items():
        monkeypatch.setitem(current_app.config, key, value)


def test_level_two_by_time_then_brigade(db, f):
    """The contracted unit's crew lets its deadline pass: the next offer is level 2 (not the unit's other
    crew), and when nobody else is able the fire brigade is called with everything it needs."""
    maint, [(_, near), (_, far)], unit = world(f, crews_near=2)
    _, neighbour = crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.005, lon=UNIT_LON)  # nearer, other unit
    t0 = utcnow()
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    assert inc.level == 1 and inc.crew_id == near.id  # the contracted unit first, though the neighbour is nearer

    assert jobs.escalate(now=t0 + 299 * S) == {"passed_over": 0, "level2": 0, "overdue": 0}
    assert jobs.escalate(now=t0 + 301 * S)["passed_over"] == 1
    assert (inc.level, inc.crew_id) == (2, neighbour.id)  # `far` of the same unit is not offered
    assert jobs.escalate(now=t0 + 301 * S) == {"passed_over": 0, "level2": 0, "overdue": 0}  # idempotent

    jobs.escalate(now=t0 + 602 * S)
    assert inc.level == 3 and inc.fire_notified_at == t0 + 602 * S and inc.status == "dispatched"
    assert [(o.crew_id, o.level, o.status) for o in _offers(db, inc.id)] == [
        (near.id, 1, "passed_over"), (neighbour.id, 2, "passed_over"), (None, 3, "notified")]
    assert _kinds(db, inc.id) == ["crew_dispatch"] * 2 + ["fire_brigade"]
    fire = db.session.scalars(select(Notification).where(Notification.kind == "fire_brigade")).one()
    brief = fire.payload["incident"]
    assert brief["address"] == unit.address and brief["rescue_code"] == unit.rescue_code
    assert brief["location"]["lat"] == UNIT_LAT and brief["maintenance_unit"]["name"] == maint.name
    assert "passed_over" in _kinds(db, inc.id, IncidentEvent)
    jobs.escalate(now=t0 + 2000 * S)  # arrival overdue, but the brigade is not called twice
    assert _kinds(db, inc.id).count("fire_brigade") == 1 and inc.arrival_overdue


def test_a_big_unit_does_not_delay_level_two(db, f):
    """Six crews at the contracted unit: the old ladder offered them one by one (30 minutes to level 2)."""
    maint, team, unit = world(f, crews_near=6)
    _, neighbour = crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.02, lon=UNIT_LON)
    t0 = utcnow()
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    assert (inc.level, inc.crew_id) == (1, team[0][1].id)
    jobs.escalate(now=t0 + 301 * S)
    assert (inc.level, inc.crew_id) == (2, neighbour.id)


def test_a_declined_offer_stays_at_level_one_before_the_level_two_time(db, f):
    _, [(first_user, first), (_, second)], unit = world(f, crews_near=2)
    crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.005, lon=UNIT_LON)
    t0 = utcnow()
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    assert inc.crew_id == first.id
    from equipment.emergency import dispatch
    dispatch.offer_next(inc, now=t0 + 60 * S)  # what a decline leads to: the rule picks again at 60 s
    assert (inc.level, inc.crew_id) == (1, second.id)


def test_level_two_timer_joins_the_open_offer_in_parallel(db, f, monkeypatch):
    """Level 2 after 2 minutes while the 5-minute offer still runs; two other units' crews at once; the
    first to accept takes the job and every other offer is withdrawn."""
    _config(monkeypatch, LEVEL2_AFTER_S=120.0, DISPATCH_PARALLEL=2)
    _, [(_, own)], unit = world(f)
    other_user, other = crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.005, lon=UNIT_LON)
    _, third = crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.006, lon=UNIT_LON)
    crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.007, lon=UNIT_LON)  # a third unit's crew: not now
    t0 = utcnow()
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    assert jobs.escalate(now=t0 + 119 * S)["level2"] == 0
    assert jobs.escalate(now=t0 + 121 * S) == {"passed_over": 0, "level2": 1, "overdue": 0}
    assert jobs.escalate(now=t0 + 122 * S)["level2"] == 0  # the timer fires once
    assert [(o.crew_id, o.level, o.status) for o in _offers(db, inc.id)] == [
        (own.id, 1, "offered"), (other.id, 2, "offered"), (third.id, 2, "offered")]
    service.transition(actor=f.actor(other_user), incident_id=inc.id, action="accept", now=t0 + 150 * S)
    assert [o.status for o in _offers(db, inc.id)] == ["cancelled", "accepted", "cancelled"]
    assert (inc.status, inc.level, inc.crew_id) == ("accepted", 2, other.id)
    assert "level2_opened" in _kinds(db, inc.id, IncidentEvent)


def test_contract_policy_never_offers_other_units(db, f, monkeypatch):
    _config(monkeypatch, DISPATCH_POLICY="contract")
    _, [(_, own)], unit = world(f)
    crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.005, lon=UNIT_LON)
    t0 = utcnow()
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    assert jobs.escalate(now=t0 + 301 * S) == {"passed_over": 1, "level2": 0, "overdue": 0}
    assert inc.level == 3 and inc.fire_notified_at == t0 + 301 * S


def test_bad_policy_setting_stops_the_start(monkeypatch):
    import pytest
    from equipment.emergency.domain import _check_policy

    class App:
        config = {"DISPATCH_POLICY": "eta(soon)"}
    with pytest.raises(RuntimeError, match="eta"):
        _check_policy(App)
    App.config = {"DISPATCH_PARALLEL": 0}
    with pytest.raises(RuntimeError, match="parallel"):
        _check_policy(App)


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
