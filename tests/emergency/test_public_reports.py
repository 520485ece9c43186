"""Scan-page reports by family (service level): 困人 is not 故障, a cylinder is not a lift; the desk's gate."""
from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from sqlalchemy import func, select

from equipment.core.actor import SYSTEM, acting_as
from equipment.core.errors import Forbidden, Invalid
from equipment.emergency import dispatch, public, service
from equipment.emergency.models import Dispatch, Incident, IncidentEvent, Notification, PublicReport
from equipment.registry.service import active_tag
from tests.emergency.helpers import crew, dispatcher, world
from tests.factories import device_code

_n = itertools.count(1)


def escalator(f, maint):
    n = next(_n)
    return f.elevator(maint_org=maint, category="3310", device_code=device_code(70000 + n, "3310"),
                      rescue_code=f"{80000 + n}", attributes={"drive": "escalator"})


def vessel(f, owner=None, district="350102"):
    from equipment.registry import service as registry
    n = next(_n)
    owner = owner or f.org("user_unit")
    with acting_as(SYSTEM):
        return registry.create_equipment(
            actor=SYSTEM, category="2100", registration_code=f"2100350100201605{n:04d}", address="福州市工业路1号",
            user_org_id=owner.id, district_code=district, attributes={"vessel_type": "fixed"})


def tag_of(unit) -> str:
    return active_tag(unit.id).tag


def _offers(db, incident_id):
    return db.session.scalars(select(Dispatch).where(Dispatch.incident_id == incident_id)
                              .order_by(Dispatch.id)).all()


def _kinds(db, incident_id):
    return [e.kind for e in db.session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                               .order_by(IncidentEvent.id))]


def test_actions_offered_per_family(db, f):
    maint, _, lift = world(f)
    esc, cyl, ves = escalator(f, maint), f.cylinder(), vessel(f)
    got = {public.family_of(u): public.actions_for(u) for u in (lift, esc, cyl, ves)}
    assert got == {"lift": ("trapped", "fault"), "escalator": ("trapped", "fault"),
                   "cylinder": ("problem",), "vessel": ("problem",)}
    for unit in (cyl, ves):  # "I am trapped" and a lift fault are refused on a cylinder or vessel
        for kind in ("trapped", "fault"):
            with pytest.raises(Invalid) as err:
                public.submit(tag=tag_of(unit), kind=kind)
            assert "kind" in err.value.details
    with pytest.raises(Invalid) as err:  # a problem needs its type
        public.submit(tag=tag_of(cyl), kind="problem")
    assert "problem" in err.value.details
    assert db.session.scalar(select(func.count()).select_from(PublicReport)) == 0
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_lift_trapped_is_unverified_and_stays_with_the_own_crew(db, f):
    maint, [(_, own)], lift = world(f)
    other = f.org("maintenance_unit")
    crew(f, other, lat=lift_lat(lift) + 0.002, lon=119.30)  # a closer crew of another company
    report = public.submit(tag=tag_of(lift), kind="trapped", reply_phone="13800001111", client_addr="10.0.0.1")
    assert re.fullmatch(r"R\d{8}-[A-HJ-NP-Z2-9]{6}", report.tracking_no)
    inc = db.session.get(Incident, report.incident_id)
    assert report.status == "rescue" and report.family == "lift" and not report.verified
    assert inc.verified is False and inc.source == "public" and inc.caller_phone == "13800001111"
    assert [(o.crew_id, o.level) for o in _offers(db, inc.id)] == [(own.id, 1)]
    # the own crew lets the offer lapse: no other company, no 119, the desk is waiting
    later = inc.reported_at + dt.timedelta(hours=1)
    dispatch.escalate_due(later)
    assert [o.level for o in _offers(db, inc.id)] == [1]
    assert inc.fire_notified_at is None and inc.arrival_overdue is True
    assert "awaiting_verification" in _kinds(db, inc.id)
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.kind == "fire_brigade")) == 0
    # the dispatcher calls back: the ladder resumes (overdue already, so 119 now; level 2 next)
    desk = f.actor(dispatcher(f))
    public.verify_incident(actor=desk, incident_id=inc.id, method="callback", notes="回拨确认被困")
    assert inc.verified and inc.verify_method == "callback" and report.verified
    assert "verified" in _kinds(db, inc.id)
    assert [o.level for o in _offers(db, inc.id)][1:] == [2, 3] and inc.fire_notified_at is not None


def lift_lat(unit):
    from equipment.core.geo import lat_lon
    return lat_lon(unit.location)["lat"]


def test_unverified_reaches_nobody_else_until_confirmed(db, f, app, monkeypatch):
    from equipment.emergency.service import Unverified
    monkeypatch.setitem(app.config, "PUBLIC_UNVERIFIED_TO_OWN_CREW", False)  # the rules-table switch
    maint, _, lift = world(f)
    _, stranger = crew(f, f.org("maintenance_unit"), lat=26.081, lon=119.30)
    inc = db.session.get(Incident, public.submit(tag=tag_of(lift), kind="trapped").incident_id)
    assert inc.status == "reported" and _offers(db, inc.id) == []
    desk = f.actor(dispatcher(f))
    with pytest.raises(Unverified):
        service.escalate_incident(actor=desk, incident_id=inc.id)
    with pytest.raises(Unverified):
        service.dispatch_incident(actor=desk, incident_id=inc.id, crew_id=stranger.id)
    assert _offers(db, inc.id) == [] and inc.fire_notified_at is None
    public.verify_incident(actor=desk, incident_id=inc.id, method="intercom")
    assert [o.level for o in _offers(db, inc.id)] == [1] and inc.status == "dispatched"


def test_lift_fault_goes_to_the_maintenance_unit_without_a_rescue(db, f):
    """The scan page's 故障 takes the path a critical fault code takes (service.report_fault): one 故障
    notice to the maintenance unit and its on-duty crews, quoting the tracking number; no ladder, no 119."""
    maint, [(_, own)], lift = world(f)
    report = public.submit(tag=tag_of(lift), kind="fault", description="按钮失灵", reply_phone="13900002222")
    inc = db.session.get(Incident, report.incident_id)
    assert inc.kind == "fault" and inc.source == "public" and report.status == "fault"
    assert report.route_org_id == maint.id and inc.maintenance_org_id == maint.id
    assert db.session.scalar(select(func.count()).select_from(Incident).where(Incident.kind == "rescue")) == 0
    notes = db.session.scalars(select(Notification).where(Notification.incident_id == inc.id)).all()
    assert {n.kind for n in notes} == {"fault_notice"}
    assert {n.recipient.get("org_id") for n in notes} >= {maint.id}
    assert own.id in {n.recipient.get("crew_id") for n in notes}
    text = notes[0].payload["text"]
    assert report.tracking_no in text and "故障 按钮失灵" in text and "public" not in text
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.kind.in_(("fire_brigade", "crew_dispatch")))) == 0
    again = public.submit(tag=tag_of(lift), kind="fault")  # a second report joins the open notice
    assert again.incident_id == inc.id and inc.signals == 2
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.incident_id == inc.id)) == len(notes)


def test_escalator_trapped_is_a_rescue_and_its_fault_is_not(db, f):
    maint, [(_, own)], _ = world(f)
    esc = escalator(f, maint)
    fault = public.submit(tag=tag_of(esc), kind="fault")
    assert fault.family == "escalator" and fault.route_org_id == maint.id
    assert db.session.get(Incident, fault.incident_id).kind == "fault"
    trapped = public.submit(tag=tag_of(esc), kind="trapped")
    assert trapped.incident_id not in (None, fault.incident_id) and trapped.family == "escalator"
    assert db.session.get(Incident, trapped.incident_id).kind == "rescue"


def test_cylinder_and_vessel_problems_go_to_user_unit_and_district(db, f):
    owner = f.org("user_unit")
    cyl, ves = f.cylinder(user_org=owner), vessel(f, owner=owner, district="350102")
    leak = public.submit(tag=tag_of(cyl), kind="problem", problem="leak", reply_phone="13700003333")
    dent = public.submit(tag=tag_of(ves), kind="problem", problem="damage", description="罐体凹陷")
    for report in (leak, dent):
        assert report.route_org_id == owner.id and report.incident_id is None and report.status == "received"
    assert dent.district_code == "350102" and dent.family == "vessel" and leak.family == "cylinder"
    notes = db.session.scalars(select(Notification).where(Notification.kind == "problem_report")).all()
    assert {n.recipient["org_id"] for n in notes} == {owner.id} and len(notes) == 2
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_report_on_a_unit_in_rescue_joins_the_incident(db, f):
    _, _, lift = world(f)
    inc, _ = service.open_incident(equipment_id=lift.id, source="sensor")
    report = public.submit(tag=tag_of(lift), kind="fault")
    assert report.incident_id == inc.id and report.status == "rescue" and inc.signals == 2
    assert inc.verified  # a sensor incident stays verified when a public report joins it
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 1


def test_desk_turns_a_cylinder_report_into_a_rescue(db, f):
    cyl = f.cylinder()
    report = public.submit(tag=tag_of(cyl), kind="problem", problem="leak")
    desk = f.actor(dispatcher(f))
    with pytest.raises(Forbidden):
        public.report_to_rescue(actor=f.actor(f.user("owner", f.org("user_unit"))), report_id=report.id)
    _, inc = public.report_to_rescue(actor=desk, report_id=report.id)
    assert inc.verified and report.status == "rescue" and report.incident_id == inc.id


@pytest.mark.parametrize("policy", ["pool", "eta"])
def test_unverified_goes_to_the_own_crew_even_when_a_stranger_is_nearer(db, f, app, monkeypatch, policy):
    """The rule chooses among the crews it may tell: under a nearest-first policy a nearer crew of another
    company must not swallow the offer of an unverified report (leaving nobody told)."""
    monkeypatch.setitem(app.config, "DISPATCH_POLICY", policy)
    maint, [(_, own)], lift = world(f)  # own crew about 1 km away
    _, stranger = crew(f, f.org("maintenance_unit"), lat=26.0805, lon=119.30)  # about 50 m away
    inc = db.session.get(Incident, public.submit(tag=tag_of(lift), kind="trapped").incident_id)
    assert [(o.crew_id, o.level) for o in _offers(db, inc.id)] == [(own.id, 1)]
    assert stranger.id not in {o.crew_id for o in _offers(db, inc.id)}
