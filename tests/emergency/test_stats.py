"""Statistics: response/arrival/rescue times, 3- and 30-minute rates, causes; JSON, CSV and the page."""
from __future__ import annotations

import csv
import datetime as dt
import io

from equipment.emergency import service
from tests.emergency.helpers import dispatcher, world

S = dt.timedelta(seconds=1)


def _rescue(f, desk, *, accept_s, arrive_s, release_s, cause, at):
    _, [(user, _)], unit = world(f)
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=at)
    crew = f.actor(user)
    for action, secs in (("accept", accept_s), ("arrive", arrive_s), ("release", release_s)):
        service.transition(actor=crew, incident_id=inc.id, action=action, now=at + secs * S)
    service.transition(actor=crew, incident_id=inc.id, action="close", cause=cause, now=at + (release_s + 60) * S)
    return inc


def test_stats_json_csv_and_page(client, f):
    desk_user = dispatcher(f)
    desk = f.actor(desk_user)
    t0 = dt.datetime(2031, 3, 10, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai
    _rescue(f, desk, accept_s=120, arrive_s=900, release_s=1200, cause="door_system", at=t0)
    _rescue(f, desk, accept_s=240, arrive_s=2400, release_s=2700, cause="external_power", at=t0 + 3600 * S)
    _, _, unit = world(f)
    fa, _ = service.open_incident(equipment_id=unit.id, source="public", at=t0 + 7200 * S)
    service.transition(actor=desk, incident_id=fa.id, action="false_alarm", now=t0 + 7300 * S)

    h = f.token(client, desk_user)
    r = client.get("/api/v1/incidents/stats?from=2031-03-10&to=2031-03-10&group=day", headers=h)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    [day] = body["items"]
    assert day["group"] == "2031-03-10" and day["count"] == 3 and day["false_alarms"] == 1
    assert day["avg_response_s"] == 180.0 and day["response_3min_rate"] == 0.5
    assert day["avg_arrival_s"] == 1650.0 and day["arrival_30min_rate"] == 0.5
    assert day["avg_rescue_s"] == 300.0 and day["causes"] == {"door_system": 1, "external_power": 1}
    assert client.get("/api/v1/incidents/stats?from=2031-03-11", headers=h).get_json()["total"]["count"] == 0

    r = client.get("/api/v1/incidents/stats?from=2031-03-10&to=2031-03-10&group=cause&format=csv", headers=h)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert {row["group"] for row in rows} == {"door_system", "external_power", "-", "all"}

    with client.session_transaction() as sess:
        sess["uid"] = desk_user.id
    page = client.get("/incidents/stats?from=2031-03-10&to=2031-03-10&group=maintenance_unit")
    assert page.status_code == 200 and b"<svg" in page.data and b'id="csv"' in page.data
