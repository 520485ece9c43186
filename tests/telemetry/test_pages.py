"""Unit page panel, admin reject page, /metrics gauges."""
from equipment.core.actor import SYSTEM, acting_as
from equipment.telemetry import alarms, ingest
from tests.factories import PASSWORD


def _login(client, user):
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "csrf_token": _csrf(client)})
    assert resp.status_code in (200, 302, 303)


def _csrf(client):
    import re
    html = client.get("/login").get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return m.group(1) if m else ""


def test_unit_panel_shows_alarm_timeline(client, f):
    unit = f.elevator()
    with acting_as(SYSTEM):
        alarms.raise_alarm(equipment_id=unit.id, code="02")
    _login(client, f.user("regulator"))
    html = client.get(f"/units/{unit.id}").get_data(as_text=True)
    assert "关门故障" in html and "故障与报警" in html


def test_rejects_page_and_metrics(client, f, db):
    with acting_as(SYSTEM):
        ingest.count_rejects({"bad_json": (3, "x")})
        db.session.commit()
    assert "equipment_telemetry_rejects_stored" in client.get("/metrics").get_data(as_text=True)
    _login(client, f.user("crew", f.org("maintenance_unit")))
    assert client.get("/admin/telemetry/rejects").status_code == 403
    client.get("/logout")
    _login(client, f.user("admin"))
    html = client.get("/admin/telemetry/rejects").get_data(as_text=True)
    assert "不是有效的 JSON" in html and "bad_json" not in html  # reasons in words, not codes
