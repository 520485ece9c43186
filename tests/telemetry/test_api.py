"""Terminals, alarms and latest-state API (scoping, lifecycle, envelopes)."""
from __future__ import annotations

from sqlalchemy import select

from equipment.core.actor import SYSTEM, acting_as
from equipment.telemetry import alarms as alarm_service
from equipment.telemetry.mqtt.broker import verify_mosquitto_hash
from equipment.telemetry.models import Terminal


def test_provision_list_revoke_as_owner(client, f, db):
    user_org = f.org("user_unit")
    owner = f.user("owner", user_org)
    unit = f.elevator(user_org=user_org)
    h = f.token(client, owner)
    resp = client.post("/api/v1/terminals", json={"equipment_id": unit.id}, headers=h)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["mqtt_username"] == body["terminal_id"] and len(body["mqtt_password"]) >= 24
    row = db.session.scalar(select(Terminal).where(Terminal.terminal_id == body["terminal_id"]))
    assert body["mqtt_password"] not in row.mqtt_password_hash
    assert verify_mosquitto_hash(body["mqtt_password"], row.mqtt_password_hash)
    listed = client.get(f"/api/v1/terminals?equipment_id={unit.id}", headers=h).get_json()
    assert [t["terminal_id"] for t in listed["items"]] == [body["terminal_id"]]
    assert "mqtt_password" not in listed["items"][0]
    resp = client.delete(f"/api/v1/terminals/{body['terminal_id']}", headers=h)
    assert resp.status_code == 200 and resp.get_json()["status"] == "revoked"
    assert client.delete(f"/api/v1/terminals/{body['terminal_id']}", headers=h).status_code == 409


def test_provision_refused_outside_scope(client, f):
    unit = f.elevator()
    other_owner = f.user("owner", f.org("user_unit"))
    crew = f.user("crew", f.org("maintenance_unit"))
    for user, status in ((other_owner, 404), (crew, 404)):
        resp = client.post("/api/v1/terminals", json={"equipment_id": unit.id}, headers=f.token(client, user))
        assert resp.status_code == status, resp.get_json()
    regulator = f.user("regulator")
    resp = client.post("/api/v1/terminals", json={"equipment_id": "x"}, headers=f.token(client, regulator))
    assert resp.status_code == 422 and "equipment_id" in str(resp.get_json()["error"]["details"])


def test_alarm_list_ack_clear(client, f, db):
    user_org = f.org("user_unit")
    unit = f.elevator(user_org=user_org)
    with acting_as(SYSTEM):
        alarm, opened = alarm_service.raise_alarm(equipment_id=unit.id, code="02")
    assert opened
    owner = f.user("owner", user_org)
    h = f.token(client, owner)
    page = client.get(f"/api/v1/alarms?equipment_id={unit.id}&status=open", headers=h).get_json()
    assert page["total"] == 1 and page["items"][0]["code"] == "02"
    resp = client.post(f"/api/v1/alarms/{alarm.id}/ack", headers=h)
    assert resp.status_code == 200 and resp.get_json()["acked_by"] == owner.username
    assert client.post(f"/api/v1/alarms/{alarm.id}/ack", headers=h).status_code == 409
    for body in (None, {}, {"reason": ""}, {"reason": "   "}):
        resp = client.post(f"/api/v1/alarms/{alarm.id}/clear", headers=h, json=body)
        assert resp.status_code == 422 and "reason" in str(resp.get_json()["error"]["details"]), body
    resp = client.post(f"/api/v1/alarms/{alarm.id}/clear", headers=h, json={"reason": "门机已修复"})
    assert resp.get_json()["status"] == "cleared" and resp.get_json()["cleared_at"]
    assert resp.get_json()["clear_reason"] == "门机已修复"
    stranger = f.user("owner", f.org("user_unit"))
    hs = f.token(client, stranger)
    assert client.get(f"/api/v1/alarms?equipment_id={unit.id}", headers=hs).get_json()["total"] == 0
    assert client.post(f"/api/v1/alarms/{alarm.id}/clear", headers=hs, json={"reason": "x"}).status_code == 404


def test_latest_requires_auth_and_paginates(client, f):
    assert client.get("/api/v1/telemetry/latest").status_code == 401
    h = f.token(client, f.user("regulator"))
    page = client.get("/api/v1/telemetry/latest?per_page=5", headers=h).get_json()
    assert page["per_page"] == 5 and "items" in page
