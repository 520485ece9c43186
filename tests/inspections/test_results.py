"""Inspection results through the API: due dates follow, failures suspend, rechecks reinstate."""
import datetime as dt

from equipment.core.actor import SYSTEM, acting_as
from equipment.inspections import schedule
from equipment.registry import service as registry


def _public(client, unit):
    tag = registry.active_tag(unit.id).tag
    return client.get(f"/api/v1/public/{tag}").get_json()


def _regulator(f, client):
    return f.token(client, f.user("regulator"))


def test_pass_sets_next_due_and_public_page(client, f, today):
    unit = f.elevator()
    headers = _regulator(f, client)
    resp = client.post("/api/v1/inspections", headers=headers, json={
        "equipment_id": unit.id, "kind": "periodic", "date": today.isoformat(), "conclusion": "pass",
        "report_no": f"R-{unit.id}-1", "items": [{"item": "brake", "result": "pass", "note": "ok"}]})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["conclusion_zh"] == "合格" and body["next_due"] == schedule.add_months(today, 12).isoformat()
    view = _public(client, unit)
    assert view["status"] == "in_service"
    assert view["next_inspection_due"] == schedule.add_months(today, 12).isoformat()
    assert view["last_inspection"] == {"date": today.isoformat(), "conclusion": "pass"}
    kinds = [e.kind for e in registry.trace_of(actor=SYSTEM, equipment_id=unit.id)["items"]]
    assert "inspected" in kinds


def test_failed_inspection_suspends_until_recheck_passes(client, f, today):
    unit = f.elevator()
    headers = _regulator(f, client)
    deadline = today + dt.timedelta(days=20)
    failed = client.post("/api/v1/inspections", headers=headers, json={
        "equipment_id": unit.id, "date": today.isoformat(), "conclusion": "fail",
        "defects": [{"item": "door_lock", "description": "门锁啮合长度不足", "deadline": deadline.isoformat()}]})
    assert failed.status_code == 201, failed.get_json()
    view = _public(client, unit)
    assert view["status"] == "suspended"
    assert view["next_inspection_due"] == deadline.isoformat()
    # the daily refresh never lifts a suspension, even once the deadline passes
    from equipment.inspections import jobs
    jobs.refresh(today + dt.timedelta(days=30))
    assert _public(client, unit)["status"] == "suspended"
    bad = client.post("/api/v1/inspections", headers=headers, json={
        "equipment_id": unit.id, "kind": "recheck", "date": today.isoformat(), "conclusion": "recheck_pass"})
    assert bad.status_code == 422 and "follows_id" in bad.get_json()["error"]["details"]
    again = client.post("/api/v1/inspections", headers=headers, json={
        "equipment_id": unit.id, "kind": "recheck", "date": today.isoformat(), "conclusion": "recheck_pass",
        "follows_id": failed.get_json()["id"]})
    assert again.status_code == 201, again.get_json()
    view = _public(client, unit)
    assert view["status"] == "in_service"
    assert view["next_inspection_due"] == schedule.add_months(today, 12).isoformat()
    kinds = [e.kind for e in registry.trace_of(actor=SYSTEM, equipment_id=unit.id)["items"]]
    assert kinds.count("inspected") == 2 and "suspended" in kinds and "reinstated" in kinds


def test_vessel_needs_grade_and_grade_5_suspends(client, f, today):
    owner = f.org("user_unit")
    with acting_as(SYSTEM):
        unit = registry.create_equipment(actor=SYSTEM, category="2100", registration_code="21003501002016053337",
                                         address="福州市工业路1号", user_org_id=owner.id,
                                         attributes={"vessel_type": "fixed", "first_use_date": "2020-01-01"})
    headers = _regulator(f, client)
    base = {"equipment_id": unit.id, "date": today.isoformat(), "conclusion": "meets"}
    missing = client.post("/api/v1/inspections", headers=headers, json=base)
    assert missing.status_code == 422 and "safety_grade" in missing.get_json()["error"]["details"]
    ok = client.post("/api/v1/inspections", headers=headers, json={**base, "safety_grade": 2})
    assert ok.get_json()["next_due"] == schedule.add_months(today, 72).isoformat()
    five = client.post("/api/v1/inspections", headers=headers, json={**base, "safety_grade": 5,
                                                                     "conclusion": "basically_meets"})
    assert five.status_code == 201 and five.get_json()["next_due"] is None
    assert _public(client, unit)["status"] == "suspended"


def test_inspector_needs_agency_link_or_assignment(client, f, today, agency):
    owner_org = f.org("user_unit")
    unit = f.elevator(user_org=owner_org)
    inspector = f.user("inspector", agency)
    headers = f.token(client, inspector)
    body = {"equipment_id": unit.id, "date": today.isoformat(), "conclusion": "pass"}
    assert client.post("/api/v1/inspections", headers=headers, json=body).status_code == 404
    owner = f.token(client, f.user("owner", owner_org))
    linked = client.put(f"/api/v1/obligations/equipment/{unit.id}/agency", headers=owner,
                        json={"agency_org_id": agency.id})
    assert linked.status_code == 200, linked.get_json()
    assert client.post("/api/v1/inspections", headers=headers, json=body).status_code == 201
    crew = f.token(client, f.user("crew", f.org("maintenance_unit")))
    assert client.post("/api/v1/inspections", headers=crew, json=body).status_code == 403


def test_bad_conclusion_and_duplicate_report_write_nothing(client, f, today):
    unit = f.elevator()
    headers = _regulator(f, client)
    bad = client.post("/api/v1/inspections", headers=headers, json={
        "equipment_id": unit.id, "date": today.isoformat(), "conclusion": "meets"})
    assert bad.status_code == 422
    body = {"equipment_id": unit.id, "date": today.isoformat(), "conclusion": "pass", "report_no": "DUP-1"}
    assert client.post("/api/v1/inspections", headers=headers, json=body).status_code == 201
    assert client.post("/api/v1/inspections", headers=headers, json=body).status_code == 409
    listed = client.get(f"/api/v1/inspections?equipment_id={unit.id}", headers=headers).get_json()
    assert listed["total"] == 1
