"""Fault notices (kind 'fault', 故障): the maintenance unit is told at once; no ladder, no 119, no timers."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from equipment.core.actor import SYSTEM, acting_as
from equipment.core.errors import Forbidden, InvalidState
from equipment.core.models import utcnow
from equipment.emergency import dispatch, service
from equipment.emergency.models import Dispatch, Incident, IncidentEvent, Notification
from tests.emergency.helpers import crew, dispatcher, world


def _notes(db, incident_id):
    return list(db.session.scalars(select(Notification).where(Notification.incident_id == incident_id)
                                   .order_by(Notification.id)))


def _events(db, incident_id):
    return [e.kind for e in db.session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                               .order_by(IncidentEvent.id))]


def _fault(unit, **kw):
    with acting_as(SYSTEM):
        return service.report_fault(equipment_id=unit.id, source="sensor", code="01", reason="运行中安全回路断路", **kw)


def test_fault_notice_goes_to_the_maintenance_unit_at_once_without_a_ladder(db, f):
    maint, [(_, member)], unit = world(f, crews_near=1)
    incident, created = _fault(unit)
    assert created and incident.kind == "fault" and incident.fault_code == "01" and incident.status == "reported"
    assert incident.arrival_deadline is None and incident.fire_notified_at is None
    notes = _notes(db, incident.id)
    assert [(n.kind, n.status) for n in notes] == [("fault_notice", "pending")] * 2
    assert notes[0].recipient["org_id"] == maint.id and notes[0].recipient["phone"] == maint.phone
    assert notes[1].recipient["crew_id"] == member.id  # its on-duty crew too
    assert notes[0].payload["text"].startswith("【96333 电梯故障通知】") and "01 运行中安全回路断路" in notes[0].payload["text"]
    assert db.session.scalars(select(Dispatch).where(Dispatch.incident_id == incident.id)).all() == []
    assert _events(db, incident.id) == ["reported", "fault_notice"]


def test_a_second_fault_signal_attaches_and_notifies_nobody_again(db, f):
    _, _, unit = world(f)
    first, _ = _fault(unit)
    again, created = _fault(unit)
    assert not created and again.id == first.id and again.signals == 2
    assert len(_notes(db, first.id)) == 2  # the maintenance unit and its crew, once


def test_rescue_and_fault_notice_open_side_by_side_one_of_each(db, f):
    _, _, unit = world(f)
    fault, _ = _fault(unit)
    with acting_as(SYSTEM):
        rescue, created = service.open_incident(equipment_id=unit.id, source="sensor", reason="event_11")
        again, created_again = service.open_incident(equipment_id=unit.id, source="phone")
    assert created and rescue.kind == "rescue" and rescue.id != fault.id
    assert not created_again and again.id == rescue.id
    kinds = db.session.execute(select(Incident.kind).where(Incident.equipment_id == unit.id)).scalars().all()
    assert sorted(kinds) == ["fault", "rescue"]


def test_fault_notice_without_a_maintenance_unit_stays_on_the_console(db, f):
    unit = f.elevator()
    incident, _ = _fault(unit)
    assert _notes(db, incident.id) == [] and _events(db, incident.id) == ["reported", "no_maintenance_unit"]


def test_escalation_never_touches_a_fault_notice(db, f):
    _, _, unit = world(f)
    incident, _ = _fault(unit)
    counts = dispatch.escalate_due(utcnow() + dt.timedelta(days=2))
    db.session.refresh(incident)
    assert set(counts.values()) == {0} and incident.level == 1
    assert incident.fire_notified_at is None and not incident.arrival_overdue


def test_the_maintenance_unit_closes_it_without_a_cause_others_may_not(db, f):
    maint, [(crew_user, _)], unit = world(f)
    incident, _ = _fault(unit)
    other_user, _ = crew(f, f.org("maintenance_unit"))
    with pytest.raises(Forbidden):
        service.transition(actor=f.actor(other_user), incident_id=incident.id, action="close")
    with pytest.raises(InvalidState):
        service.transition(actor=f.actor(crew_user), incident_id=incident.id, action="accept")
    closed = service.transition(actor=f.actor(crew_user), incident_id=incident.id, action="close",
                                notes="安全回路已复位")
    assert closed.status == "closed" and closed.closed_at is not None and closed.cause is None


def test_the_desk_cannot_dispatch_or_escalate_a_fault_notice_but_may_close_it(db, f):
    _, _, unit = world(f)
    incident, _ = _fault(unit)
    desk = f.actor(dispatcher(f))
    for call in (service.dispatch_incident, service.escalate_incident):
        with pytest.raises(InvalidState):
            call(actor=desk, incident_id=incident.id)
    assert service.transition(actor=desk, incident_id=incident.id, action="false_alarm").status == "false_alarm"


def test_api_lists_kind_and_filters_by_it(client, f):
    maint, [(crew_user, _)], unit = world(f)
    fault, _ = _fault(unit)
    h = f.token(client, dispatcher(f))
    client.post("/api/v1/incidents", json={"equipment_id": unit.id, "source": "phone"}, headers=h)
    listed = client.get(f"/api/v1/incidents?equipment_id={unit.id}&kind=fault", headers=h).get_json()
    assert [(i["id"], i["kind"], i["fault_code"]) for i in listed["items"]] == [(fault.id, "fault", "01")]
    assert listed["items"][0]["allowed_actions"] == ["close", "false_alarm", "cancel"]
    both = client.get(f"/api/v1/incidents?equipment_id={unit.id}", headers=h).get_json()
    assert sorted(i["kind"] for i in both["items"]) == ["fault", "rescue"]
    bad = client.get("/api/v1/incidents?kind=fire", headers=h)
    assert bad.status_code == 422 and "kind" in bad.get_json()["error"]["details"]
    # the maintenance unit's crew sees its fault notice and closes it over the API
    ch = f.token(client, crew_user)
    seen = client.get("/api/v1/incidents?kind=fault&status=open", headers=ch).get_json()
    assert [i["id"] for i in seen["items"]] == [fault.id]
    r = client.post(f"/api/v1/incidents/{fault.id}/close", json={}, headers=ch)
    assert r.status_code == 200 and r.get_json()["status"] == "closed"


def test_the_crew_page_lists_its_units_fault_notices_after_its_rescue_jobs(db, f):
    from equipment.emergency import queries
    maint, [(crew_user, _)], unit = world(f)
    other_unit = f.elevator(maint_org=f.org("maintenance_unit"))
    fault, _ = _fault(unit)
    _fault(other_unit)  # another maintenance unit's notice: not this crew's business
    with acting_as(SYSTEM):
        rescue, _ = service.open_incident(equipment_id=unit.id, source="sensor")
    assert rescue.crew_id is not None  # offered to this crew (the only one)
    jobs = queries.crew_jobs(actor=f.actor(crew_user))
    assert [(j["id"], j["kind"]) for j in jobs] == [(rescue.id, "rescue"), (fault.id, "fault")]
