"""Statistics: response/arrival/rescue times, 3- and 30-minute rates, causes; JSON, CSV and the page."""
from __future__ import annotations

import csv
import datetime as dt
import io

from equipment.core.geo import lat_lon
from equipment.emergency import service
from tests.emergency.helpers import UNIT_LAT, UNIT_LON, dispatcher, world

S = dt.timedelta(seconds=1)


def _rescue(f, desk, *, accept_s, arrive_s, release_s, cause, at):
    _, [(user, _)], unit = world(f)
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=at)
    crew = f.actor(user)
    for action, secs in (("accept", accept_s), ("arrive", arrive_s), ("release", release_s)):
        service.transition(actor=crew, incident_id=inc.id, action=action, now=at + secs * S,
                           proof={"lat": UNIT_LAT, "lon": UNIT_LON})  # the crew's phone at the unit
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

    f.session(client, desk_user.id)
    page = client.get("/incidents/stats?from=2031-03-10&to=2031-03-10&group=maintenance_unit")
    assert page.status_code == 200 and b"<svg" in page.data and b'id="csv"' in page.data


def _unit(f, district):
    from tests.emergency.helpers import crew
    maint = f.org("maintenance_unit")
    user, _ = crew(f, maint, lat=26.09, lon=119.30)
    return f.elevator(maint_org=maint, district_code=district), f.actor(user)


def test_rates_count_every_incident_never_accepted_is_a_miss(client, f):
    """8 incidents, 5 never accepted (still open past both limits, one with the brigade called): 3-minute
    rate 3/8, not 3/3; a false alarm is left out; districts by GB/T 2260 name; labels in Chinese."""
    desk_user = dispatcher(f)
    t0 = dt.datetime(2025, 6, 2, 2, 0, tzinfo=dt.timezone.utc)
    for n in range(3):  # accepted in 2 min; two arrive in 20 min, one is still on the way
        unit, crew = _unit(f, "350102")
        inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0 + n * 600 * S)
        service.transition(actor=crew, incident_id=inc.id, action="accept", now=inc.reported_at + 120 * S)
        if n < 2:
            service.transition(actor=crew, incident_id=inc.id, action="arrive", now=inc.reported_at + 1200 * S,
                               proof=lat_lon(unit.location))  # the crew's phone at the unit
    for n in range(5):  # nobody ever accepted
        unit, _ = _unit(f, "350103" if n % 2 else "350102")
        service.open_incident(equipment_id=unit.id, source="phone", at=t0 + (3 + n) * 600 * S)
    unit, _ = _unit(f, "350102")
    fa, _ = service.open_incident(equipment_id=unit.id, source="public", at=t0)
    service.transition(actor=f.actor(desk_user), incident_id=fa.id, action="false_alarm", now=t0 + 60 * S)

    h = f.token(client, desk_user)
    body = client.get("/api/v1/incidents/stats?from=2025-06-02&to=2025-06-02&group=district", headers=h).get_json()
    total = body["total"]
    assert total["count"] == 9 and total["false_alarms"] == 1
    assert total["response_3min_rate"] == round(3 / 8, 4)
    assert total["arrival_30min_rate"] == round(2 / 8, 4)
    assert total["avg_response_s"] == 120.0  # times average over those that happened
    by = {i["group"]: i for i in body["items"]}
    assert by["350102"]["label"] == "福州市鼓楼区" and by["350103"]["label"] == "福州市台江区"
    assert by["350103"]["response_3min_rate"] == 0.0  # two incidents, nobody came

    f.session(client, desk_user.id)
    page = client.get("/incidents/stats?from=2025-06-02&to=2025-06-02&group=district").get_data(as_text=True)
    assert "福州市鼓楼区" in page and "3 分钟响应率" in page and 'id="total-response-rate">38%<' in page
    assert ">350102<" not in page and ">按区县<" in page


def test_an_open_incident_within_its_limit_is_not_yet_a_miss(client, f):
    desk_user = dispatcher(f)
    unit, _ = _unit(f, "350104")
    service.open_incident(equipment_id=unit.id, source="phone")
    h = f.token(client, desk_user)
    total = client.get("/api/v1/incidents/stats?group=day", headers=h).get_json()["total"]
    assert total["count"] == 1 and total["response_3min_rate"] is None and total["arrival_30min_rate"] is None


def test_region_names():
    from equipment.core.regions import region_label, region_name
    assert region_name("350102") == "福州市鼓楼区" and region_name("320106") == "南京市鼓楼区"
    assert region_name("3501") == "福建省福州市" and region_name("35") == "福建省"
    assert region_name("999999") is None and region_label("999999") == "999999" and region_label(None) == "-"


def test_tail_figures_and_rescues_by_another_unit(client, f):
    """p90 arrival and the 15-minute rate (the simulation's tail figures) and the other-unit share."""
    from tests.emergency.helpers import crew
    desk_user = dispatcher(f)
    t0 = dt.datetime(2025, 4, 10, 2, 0, tzinfo=dt.timezone.utc)
    for i, arrive in enumerate((300, 600, 840, 1000, 2000)):
        _rescue(f, None, accept_s=60, arrive_s=arrive, release_s=arrive + 120, cause="other", at=t0 + i * 3600 * S)
    # a sixth unit's contracted crew is off duty: another unit's crew takes the rescue
    maint = f.org("maintenance_unit")
    crew(f, maint, lat=26.09, lon=119.30, on_duty=False)
    unit = f.elevator(maint_org=maint, lat=26.08, lon=119.30)
    helper_user, _ = crew(f, f.org("maintenance_unit"), lat=26.081, lon=119.30)
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0 + 6 * 3600 * S)
    assert inc.level == 2
    service.transition(actor=f.actor(helper_user), incident_id=inc.id, action="accept", now=t0 + 6 * 3600 * S + 30 * S)

    h = f.token(client, desk_user)
    total = client.get("/api/v1/incidents/stats?from=2025-04-10&to=2025-04-10", headers=h).get_json()["total"]
    assert total["p90_arrival_s"] == 2000.0  # nearest rank of the five arrivals
    assert total["arrival_15min_rate"] == round(3 / 6, 4)  # the sixth is not on site, past 15 min: a miss
    assert total["other_unit_share"] == round(1 / 6, 4)
    f.session(client, desk_user.id)
    page = client.get("/incidents/stats?from=2025-04-10&to=2025-04-10").get_data(as_text=True)
    assert 'id="total-p90-arrival">33.3 分钟' in page and 'id="total-other-unit">17%' in page
    assert "法定顺序：维保单位优先" in page and "默认设置" in page  # the policy behind the share, in words
