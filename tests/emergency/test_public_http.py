"""Over HTTP: the scan page's report, abuse limits in the shared store (never a bare 429), arrival proof."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from equipment.core import ratelimit, shared_limit
from equipment.emergency import service
from equipment.emergency.models import Incident, IncidentEvent, PublicReport
from equipment.registry.service import active_tag
from tests.emergency.helpers import UNIT_LAT, UNIT_LON, dispatcher, world


@pytest.fixture()
def clean_limits():
    ratelimit.limiter._windows.clear()
    yield
    ratelimit.limiter._windows.clear()


def _csrf(client, tag):
    page = client.get(f"/q/{tag}")
    assert page.status_code == 200
    with client.session_transaction() as sess:
        return sess["csrf"]


def _report(client, tag, token, addr="10.1.1.1", **form):
    return client.post(f"/q/{tag}/report", data={"csrf_token": token, **form}, environ_base={"REMOTE_ADDR": addr})


def test_trapped_then_over_the_limit_is_held_with_the_hotline_never_429(client, f, db, app, monkeypatch,
                                                                         clean_limits):
    monkeypatch.setitem(app.config, "PUBLIC_REPORT_RATE_LIMIT", "2/600")
    _, _, unit = world(f)
    tag = active_tag(unit.id).tag
    token = _csrf(client, tag)
    first = _report(client, tag, token, kind="trapped", caller_phone="13800001111")
    assert first.status_code == 201 and b'id="tracking-no"' in first.data and b'href="tel:96333"' in first.data
    second = _report(client, tag, token, kind="fault", description="门关不上")
    third = _report(client, tag, token, kind="fault")
    assert second.status_code == 201 and third.status_code == 202
    assert b'id="held"' in third.data and b'href="tel:96333"' in third.data
    reports = db.session.scalars(select(PublicReport).order_by(PublicReport.id)).all()
    assert [r.over_limit for r in reports] == [False, False, True]
    assert len({r.incident_id for r in reports}) == 1  # the later reports joined the open rescue
    assert all(len(r.client_hash) == 64 and "10.1.1.1" not in r.client_hash for r in reports)
    h = f.token(client, dispatcher(f))
    items = client.get(f"/api/v1/incidents?equipment_id={unit.id}", headers=h).get_json()["items"]
    assert len(items) == 1 and items[0]["verified"] is False and items[0]["signals"] == 3
    assert [r["tracking_no"] for r in items[0]["reports"]] == [r.tracking_no for r in reports]


def test_over_the_limit_trapped_opens_a_held_incident_offered_to_nobody(client, f, db, app, monkeypatch,
                                                                        clean_limits):
    monkeypatch.setitem(app.config, "PUBLIC_REPORT_RATE_LIMIT", "1/600")
    _, _, lift_a = world(f)
    _, _, lift_b = world(f)
    token = _csrf(client, active_tag(lift_a.id).tag)
    assert _report(client, active_tag(lift_a.id).tag, token, kind="fault").status_code == 201
    r = _report(client, active_tag(lift_b.id).tag, token, kind="trapped")
    assert r.status_code == 202
    inc = db.session.scalar(select(Incident).where(Incident.equipment_id == lift_b.id))
    assert inc.status == "reported" and inc.crew_id is None and not inc.verified
    kinds = db.session.scalars(select(IncidentEvent.kind).where(IncidentEvent.incident_id == inc.id)).all()
    assert "held" in kinds


def test_ipv6_clients_count_by_64_and_tags_have_their_own_limit(client, f, db, app, monkeypatch, clean_limits):
    assert shared_limit.client_key("2001:db8:0:0:1::1") == shared_limit.client_key("2001:db8::ffff") \
        == "2001:db8::/64"
    assert shared_limit.client_key("2001:db8:0:1::1") == "2001:db8:0:1::/64"
    assert shared_limit.client_key("::ffff:10.0.0.7") == "10.0.0.7" and shared_limit.client_key("junk") == "-"
    monkeypatch.setitem(app.config, "PUBLIC_REPORT_RATE_LIMIT", "2/600")
    monkeypatch.setitem(app.config, "PUBLIC_REPORT_TAG_LIMIT", "3/600")
    _, _, unit = world(f)
    tag = active_tag(unit.id).tag
    token = _csrf(client, tag)
    codes = [_report(client, tag, token, addr=a, kind="fault").status_code
             for a in ("2001:db8::1", "2001:db8::2", "2001:db8::3")]  # one /64: the third is over
    assert codes == [201, 201, 202]
    other = [_report(client, tag, token, addr=a, kind="fault").status_code
             for a in ("2001:db8:0:1::1", "2001:db8:0:2::1")]  # new /64s, but the tag's 3 are used up
    assert other == [202, 202]


def test_the_count_is_shared_by_separate_app_processes(committed_url):
    from equipment.extensions import db
    from tests.conftest import make_app
    apps = [make_app(committed_url), make_app(committed_url)]
    counts = []
    for application in apps + apps:  # each has its own engine and connection pool, like a process
        with application.app_context():
            counts.append(shared_limit.hit("report_client", "k", limit=3, window_s=600))
            db.session.commit()
    assert counts == [(True, 1), (True, 2), (True, 3), (False, 4)]
    for application in apps:
        with application.app_context():
            db.engine.dispose()


def test_scan_page_over_the_general_limit_still_offers_the_hotline(client, f, app, monkeypatch, clean_limits):
    monkeypatch.setitem(app.config, "PUBLIC_RATE_LIMIT", "1/60")
    _, _, unit = world(f)
    tag = active_tag(unit.id).tag
    assert client.get(f"/q/{tag}").status_code == 200
    busy = client.get(f"/q/{tag}")
    assert busy.status_code == 429 and b'href="tel:96333"' in busy.data and b'id="report-trapped"' in busy.data


def test_bad_report_input_is_a_422_and_writes_nothing(client, f, db, clean_limits):
    cyl = f.cylinder()
    tag = active_tag(cyl.id).tag
    token = _csrf(client, tag)
    page = client.get(f"/q/{tag}")
    assert b'id="report-problem"' in page.data and b'id="report-trapped"' not in page.data
    json = {"Accept": "application/json"}
    for form in ({"kind": "trapped"}, {"kind": "problem"}, {"kind": "problem", "problem": "fire"},
                 {"kind": "problem", "problem": "leak", "caller_phone": "x"},
                 {"kind": "problem", "problem": "leak", "description": "长" * 501}):
        r = client.post(f"/q/{tag}/report", data={"csrf_token": token, **form}, headers=json)
        assert r.status_code == 422 and r.get_json()["error"]["details"], form
    assert db.session.scalar(select(func.count()).select_from(PublicReport)) == 0


def test_reports_are_listed_to_whom_they_are_routed(client, f, db, clean_limits):
    owner_org = f.org("user_unit")
    cyl = f.cylinder(user_org=owner_org, district_code="350104")
    tag = active_tag(cyl.id).tag
    token = _csrf(client, tag)
    r = _report(client, tag, token, kind="problem", problem="overdue", caller_phone="13700001234")
    tracking = r.data.decode().split('data-tracking="')[1].split('"')[0]
    owner = f.token(client, f.user("owner", owner_org))
    mine = client.get("/api/v1/public-reports", headers=owner).get_json()
    assert [i["tracking_no"] for i in mine["items"]] == [tracking] and mine["items"][0]["reply_phone"]
    stranger = f.token(client, f.user("owner", f.org("user_unit")))
    assert client.get("/api/v1/public-reports", headers=stranger).get_json()["total"] == 0
    regulator = f.token(client, f.user("regulator", f.org("user_unit")))
    district = client.get("/api/v1/public-reports?district=3501", headers=regulator).get_json()
    assert district["total"] == 1 and district["items"][0]["reply_phone"] is None
    assert client.get("/api/v1/public-reports?district=3201", headers=regulator).get_json()["total"] == 0
    assert client.get("/api/v1/public-reports?district=x", headers=regulator).status_code == 422
    public_view = client.get(f"/api/v1/public/reports/{tracking}").get_json()
    assert public_view["status"] == "received" and "reply_phone" not in public_view
    assert client.get(f"/r/{tracking}").status_code == 200
    desk = f.token(client, dispatcher(f))
    rescue = client.post(f"/api/v1/public-reports/{mine['items'][0]['id']}/rescue", headers=desk)
    assert rescue.status_code == 200 and rescue.get_json()["verified"] is True
    assert client.post(f"/api/v1/public-reports/{mine['items'][0]['id']}/rescue", headers=owner).status_code == 403


# --- arrival proof and the false-alarm claim ---------------------------------------------------------

def _accepted(client, f):
    _, [(user, member)], unit = world(f)
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor")
    h = f.token(client, user)
    assert client.post(f"/api/v1/incidents/{inc.id}/accept", json={}, headers=h).status_code == 200
    return inc, user, h, unit


def test_arrival_far_away_is_refused_and_near_is_accepted(client, f, db):
    inc, _, h, _ = _accepted(client, f)
    r = client.post(f"/api/v1/incidents/{inc.id}/arrive", json={}, headers=h)
    assert r.status_code == 422 and "二维码" in r.get_json()["error"]["details"]["arrival"][0]
    beijing = {"lat": 39.9, "lon": 116.4}  # about 1,500 km from the unit in Fuzhou
    r = client.post(f"/api/v1/incidents/{inc.id}/arrive", json=beijing, headers=h)
    assert r.status_code == 422 and "公里" in r.get_json()["error"]["details"]["arrival"][0]
    blurry = {"lat": UNIT_LAT, "lon": UNIT_LON, "accuracy_m": 5000}
    assert client.post(f"/api/v1/incidents/{inc.id}/arrive", json=blurry, headers=h).status_code == 422
    assert db.session.get(Incident, inc.id).status == "accepted"
    near = {"lat": UNIT_LAT + 0.001, "lon": UNIT_LON, "accuracy_m": 20}  # about 110 m
    r = client.post(f"/api/v1/incidents/{inc.id}/arrive", json=near, headers=h)
    assert r.status_code == 200 and r.get_json()["status"] == "on_site"
    event = client.get(f"/api/v1/incidents/{inc.id}", headers=h).get_json()["events"][-1]
    assert event["kind"] == "on_site" and event["data"]["proof"]["method"] == "geofence"
    assert 90 < event["data"]["proof"]["distance_m"] < 130


def test_arrival_by_a_scan_of_the_units_tag(client, f, db):
    inc, user, _, unit = _accepted(client, f)
    f.session(client, user.id, csrf="t")  # the crew's phone, signed in
    assert client.get(f"/q/{active_tag(unit.id).tag}").status_code == 200  # the crew scans on site
    r = client.post(f"/crew/jobs/{inc.id}/arrive", data={"csrf_token": "t"})
    assert r.status_code == 302 and db.session.get(Incident, inc.id).status == "on_site"
    last = db.session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == inc.id)
                              .order_by(IncidentEvent.id.desc())).first()
    assert last.data["proof"]["method"] == "scan"


def test_desk_may_record_arrival_for_a_crew(client, f, db):
    inc, _, _, _ = _accepted(client, f)
    desk = f.token(client, dispatcher(f))
    r = client.post(f"/api/v1/incidents/{inc.id}/arrive", json={}, headers=desk)
    assert r.status_code == 200 and r.get_json()["status"] == "on_site"


def test_crew_false_alarm_is_a_claim_the_desk_confirms(client, f, db):
    from equipment.emergency import dispatch
    inc, _, h, _ = _accepted(client, f)
    r = client.post(f"/api/v1/incidents/{inc.id}/false_alarm", json={"notes": "无人被困"}, headers=h)
    assert r.status_code == 200 and r.get_json()["status"] == "accepted"
    assert r.get_json()["false_alarm_claimed_at"] is not None
    # the timers still run: the arrival deadline passes and is flagged as usual
    assert dispatch.escalate_due(inc.arrival_deadline)["overdue"] == 1
    desk = f.token(client, dispatcher(f))
    r = client.post(f"/api/v1/incidents/{inc.id}/false_alarm", json={}, headers=desk)
    assert r.status_code == 200 and r.get_json()["status"] == "false_alarm"
