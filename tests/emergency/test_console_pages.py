"""Console and crew page endpoints: nearest able crews, manual assignment without silent reassignment,
reasons for 误报 / 撤销 / 升级 / 拒单, the notification link through the login, the crew's job cards."""
from __future__ import annotations

import re

from equipment.emergency import queries, service
from equipment.emergency.models import Dispatch, IncidentEvent
from tests.emergency.helpers import crew, dispatcher, world

TOKEN = "known-csrf-token"


def _as(client, user):
    from equipment.extensions import db
    from tests.factories import Factory
    Factory(db).session(client, user.id, csrf=TOKEN)


def _post(client, path, **body):
    return client.post(path, json=body, headers={"X-CSRF-Token": TOKEN})


def _events(db, incident_id):
    return [(e.kind, e.data) for e in db.session.query(IncidentEvent).filter_by(incident_id=incident_id)
            .order_by(IncidentEvent.id)]


def test_nearest_crews_with_distance_eta_and_the_contracted_unit(client, f):
    maint, team, unit = world(f, crews_near=2)  # ~1.1 and ~2.2 km north
    other = f.org("maintenance_unit", name="榕城电梯工程")
    _, near_other = crew(f, other, lat=26.0805, lon=119.30)  # ~55 m, another unit
    inc, _ = service.open_incident(equipment_id=unit.id, source="phone")  # offered to team[0]
    desk = dispatcher(f)
    _as(client, desk)
    items = client.get(f"/console/incidents/{inc.id}/crews").get_json()["items"]
    assert [c["id"] for c in items] == [near_other.id, team[1][1].id]  # team[0] holds the offer: not able
    assert items[0]["contracted"] is False and items[0]["org_name"] == "榕城电梯工程"
    assert items[1]["contracted"] is True and 2000 < items[1]["distance_m"] < 2400
    assert items[0]["eta_min"] == 1 and 5 <= items[1]["eta_min"] <= 8  # 2.2 km x 1.3 at 25 km/h


def test_reassignment_is_never_silent(client, f, db):
    maint, team, unit = world(f, crews_near=2)
    inc, _ = service.open_incident(equipment_id=unit.id, source="phone")
    first, second = team[0][1], team[1][1]
    _as(client, dispatcher(f))
    r = _post(client, f"/console/incidents/{inc.id}/dispatch", crew_id=second.id)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "offer_pending"
    assert first.name in r.get_json()["error"]["message"]
    assert queries.current_offer(inc.id).crew_id == first.id  # nothing changed
    r = _post(client, f"/console/incidents/{inc.id}/dispatch", crew_id=second.id, reassign=True)
    assert r.status_code == 200 and r.get_json()["crew"]["id"] == second.id
    withdrawn = [d for k, d in _events(db, inc.id) if k == "withdrawn"]
    assert withdrawn == [{"crew_id": first.id, "level": 1}]


def test_false_alarm_cancel_and_escalate_need_a_reason(client, f, db):
    _, _, unit = world(f)
    inc, _ = service.open_incident(equipment_id=unit.id, source="phone")
    _as(client, dispatcher(f))
    for action in ("false_alarm", "cancel", "escalate"):
        r = _post(client, f"/console/incidents/{inc.id}/{action}", reason="  ")
        assert r.status_code == 422, action
        assert "reason" in r.get_json()["error"]["details"]
    assert queries.get_incident(actor=f.actor(dispatcher(f)), incident_id=inc.id).status == "dispatched"
    r = _post(client, f"/console/incidents/{inc.id}/escalate", reason="业主来电催促")
    assert r.status_code == 200 and r.get_json()["level"] == 3  # no other unit's crew near: on to 119
    assert ("escalated", {"level": 2, "reason": "业主来电催促"}) in _events(db, inc.id)
    r = _post(client, f"/console/incidents/{inc.id}/false_alarm", reason="乘客已自行离开")
    assert r.status_code == 200 and r.get_json()["status"] == "false_alarm" and r.get_json()["notes"] == "乘客已自行离开"


def test_a_crew_declines_with_a_reason_and_the_next_crew_gets_the_offer(client, f, db):
    maint, team, unit = world(f, crews_near=2)
    (user, first), (_, second) = team
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor")
    _as(client, user)
    r = client.post(f"/crew/jobs/{inc.id}/decline", data={"csrf_token": TOKEN, "reason": ""},
                    headers={"Accept": "application/json"})
    assert r.status_code == 422 and queries.current_offer(inc.id).crew_id == first.id
    r = client.post(f"/crew/jobs/{inc.id}/decline", data={"csrf_token": TOKEN, "reason": "距离太远"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert queries.current_offer(inc.id).crew_id == second.id
    declined = db.session.query(Dispatch).filter_by(incident_id=inc.id, crew_id=first.id).one()
    assert declined.status == "declined"
    assert ("declined", {"crew_id": first.id, "crew_name": first.name, "level": 1, "reason": "距离太远"}) \
        in _events(db, inc.id)
    # the job left this crew's page; declining again is a clear 409, not a second offer
    assert f'id="job-{inc.id}"' not in client.get("/crew/jobs").get_data(as_text=True)
    r = client.post(f"/crew/jobs/{inc.id}/decline", data={"csrf_token": TOKEN, "reason": "x"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 409


def test_notification_link_goes_through_the_login_to_the_job(client, f, db):
    from equipment.emergency.models import Notification
    _, [(user, _)], unit = world(f)
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor")
    note = db.session.query(Notification).filter_by(incident_id=inc.id, kind="crew_dispatch").one()
    assert note.payload["text"].endswith(f"/crew/jobs/{inc.id}")
    r = client.get(f"/crew/jobs/{inc.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/login?next=/crew/jobs/{inc.id}")
    _as(client, user)
    r = client.get(f"/crew/jobs/{inc.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/crew?job={inc.id}#job-{inc.id}")
    page = client.get(f"/crew?job={inc.id}").get_data(as_text=True)
    assert f'id="job-{inc.id}"' in page and "job-gone" not in page
    assert client.get("/crew?job=999999").get_data(as_text=True).count('id="job-gone"') == 1


def test_crew_cards_no_preselected_cause_and_time_to_arrive(client, f):
    import datetime as dt
    _, [(user, _)], unit = world(f)
    at = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.timezone.utc)
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=at)
    actor = f.actor(user)
    service.transition(actor=actor, incident_id=inc.id, action="accept", now=at + dt.timedelta(minutes=1))
    service.transition(actor=actor, incident_id=inc.id, action="arrive", now=at + dt.timedelta(minutes=12, seconds=5),
                       proof={"lat": 26.08, "lon": 119.30})  # the crew's phone at the unit
    service.transition(actor=actor, incident_id=inc.id, action="release", now=at + dt.timedelta(minutes=20))
    _as(client, user)
    page = client.get("/crew/jobs").get_data(as_text=True)
    assert re.search(r'class="arrival-took">12 分钟 5 秒<', page)
    select = re.search(r'<select name="cause" required>(.*?)</select>', page, re.S).group(1)
    first_option = re.search(r"<option[^>]*>", select).group(0)
    assert 'value=""' in first_option and "selected" in first_option and "disabled" in first_option
    assert select.count("selected") == 1
    r = client.post(f"/crew/jobs/{inc.id}/close", data={"csrf_token": TOKEN}, headers={"Accept": "application/json"})
    assert r.status_code == 422  # no cause chosen: nothing closed


def test_page_scripts_take_their_words_from_the_page(client, f):
    """console.js / crew.js / map.js hold no Chinese of their own: ?lang=en gives English to the scripts too."""
    import pathlib
    static = pathlib.Path(__file__).resolve().parents[2] / "equipment/web/static/emergency"
    for name in ("console.js", "crew.js", "map.js"):
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", (static / name).read_text(), flags=re.S)  # comments may
        assert not re.search(r"[\u4e00-\u9fff]", code), name
    maint, team, _ = world(f, crews_near=1)
    _as(client, dispatcher(f))
    import json

    def words(lang):
        html = client.get(f"/console?lang={lang}").get_data(as_text=True)
        return json.loads(re.search(r'<script id="i18n" type="application/json">(.*?)</script>', html, re.S)[1])
    assert words("en")["failed"] == "Action failed" and words("zh")["failed"] == "操作失败"
    _as(client, team[0][0])
    assert 'data-retry="Network problem, try again"' in client.get("/crew?lang=en").get_data(as_text=True)
    assert 'data-retry="网络异常，请重试"' in client.get("/crew?lang=zh").get_data(as_text=True)
