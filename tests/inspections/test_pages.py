"""Pages from a scan: the scan page offers the actions, forms carry CSRF, a scan is required to start."""
import re

from equipment.registry import service as registry
from tests.factories import PASSWORD


def _login(client, user):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]


def _csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_crew_starts_maintenance_from_the_scan_page(client, f, db):
    maint = f.org("maintenance_unit")
    crew = f.user("crew", maint)
    unit = f.elevator(maint_org=maint)
    tag = registry.active_tag(unit.id).tag
    _login(client, crew)
    without = client.get(f"/maintain/{unit.id}").get_data(as_text=True)
    assert 'id="scan-missing"' in without
    forged = client.get(f"/maintain/{unit.id}", headers={"Referer": f"https://tags.example.test/q/{tag}"})
    assert 'id="scan-missing"' in forged.get_data(as_text=True)  # a Referer is no proof of presence
    scan = client.get(f"/q/{tag}").get_data(as_text=True)  # the scan is noted in the signed session
    assert f'/maintain/{unit.id}' in scan
    page = client.get(f"/maintain/{unit.id}")
    html = page.get_data(as_text=True)
    assert 'id="maintenance-start"' in html and tag in html
    no_csrf = client.post(f"/maintain/{unit.id}", data={"tag": tag, "item_set": "half_monthly"})
    assert no_csrf.status_code == 403
    started = client.post(f"/maintain/{unit.id}", data={"tag": tag, "item_set": "half_monthly", "lat": "26.08",
                                                        "lon": "119.30", "csrf_token": _csrf(html)})
    assert started.status_code == 302 and "/maintain/record/" in started.headers["Location"]
    finish = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "轿厢平层准确度" in finish  # TSG T5002 half-monthly items of a traction lift
    done = client.post(started.headers["Location"], data={"done": ["a1_05"], "csrf_token": _csrf(finish)})
    assert done.status_code == 302
    db.session.expire_all()
    assert registry.load_equipment(unit.id).last_maintenance_at is not None


def test_inspector_records_from_page_and_filling_page(client, f, db, today):
    unit = f.elevator()
    regulator = f.user("regulator")
    _login(client, regulator)
    form = client.get(f"/inspect/{unit.id}").get_data(as_text=True)
    assert "合格" in form and 'name="csrf_token"' in form
    resp = client.post(f"/inspect/{unit.id}", data={"date": today.isoformat(), "conclusion": "fail",
                                                     "item_t7001_05": "fail", "note_t7001_05": "制动器磨损",
                                                     "csrf_token": _csrf(form)})
    assert resp.status_code == 302
    assert client.get(f"/api/v1/public/{registry.active_tag(unit.id).tag}").get_json()["status"] == "suspended"


def test_filling_page(client, f, db):
    cylinder = f.cylinder()
    station = f.user("crew", f.org("user_unit"))
    _login(client, station)
    page = client.get("/filling").get_data(as_text=True)
    resp = client.post("/filling", data={"tag": registry.active_tag(cylinder.id).tag, "csrf_token": _csrf(page)})
    html = resp.get_data(as_text=True)
    assert 'data-allow="no"' in html and "超期未检" in html
