"""Registry API: create, validate, scope, search, trace, tags, public view."""
import datetime as dt

import pytest

from tests.factories import credit_code, device_code


def test_token_and_create_equipment(client, f):
    admin = f.user("admin")
    h = f.token(client, admin)
    org = client.post("/api/v1/organizations", headers=h, json={
        "kind": "user_unit", "name": "鼓楼物业", "code": credit_code(900001), "phone": "0591-1234567"})
    assert org.status_code == 201, org.get_json()
    maint = client.post("/api/v1/organizations", headers=h, json={
        "kind": "maintenance_unit", "name": "闽电梯维保", "code": credit_code(900002), "phone": "0591-7654321"})
    resp = client.post("/api/v1/equipment", headers=h, json={
        "category": "elevator", "device_code": device_code(77), "rescue_code": "35001",
        "address": "福州市鼓楼区五四路1号", "location": {"lat": 26.09, "lon": 119.30},
        "user_org_id": org.get_json()["id"], "maintenance_org_id": maint.get_json()["id"],
        "attributes": {"rated_load_kg": 1000, "rated_speed_mps": 1.75, "floors": 18, "manufacture_date": "2019-03-01"},
        "components": [{"kind": "brake", "maker": "Y", "model": "X-1", "serial": "B1"}]})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["category"] == "elevator" and body["category_code"] == "3000"
    assert body["location"] == {"lat": pytest.approx(26.09), "lon": pytest.approx(119.30)}
    got = client.get(f"/api/v1/equipment?q=35001", headers=h).get_json()
    assert got["total"] == 1 and got["items"][0]["id"] == body["id"]
    recall = client.get("/api/v1/equipment?component_kind=brake&component_maker=Y&component_model=X-1",
                        headers=h).get_json()
    assert [u["id"] for u in recall["items"]] == [body["id"]]
    trace = client.get(f"/api/v1/equipment/{body['id']}/trace", headers=h).get_json()
    assert trace["verified"] is True
    assert [e["kind"] for e in trace["items"]] == ["registered", "tag_issued"]


def test_bad_body_is_422_envelope_and_writes_nothing(client, f, db):
    from equipment.registry.models import Equipment
    admin = f.user("admin")
    h = f.token(client, admin)
    org = f.org()
    before = db.session.query(Equipment).count()
    resp = client.post("/api/v1/equipment", headers=h, json={
        "category": "3110", "device_code": "BAD", "address": "x", "user_org_id": org.id,
        "location": {"lat": 200, "lon": 0}})
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["code"] == "validation_error"
    assert "location" in err["details"] or "address" in err["details"]
    resp = client.post("/api/v1/equipment", headers=h, json={
        "category": "3110", "device_code": "BAD", "address": "福州某地", "user_org_id": org.id,
        "location": {"lat": 26, "lon": 119}})
    assert resp.status_code == 422 and "device_code" in resp.get_json()["error"]["details"]
    assert db.session.query(Equipment).count() == before


def test_duplicate_identifier_is_409(client, f):
    unit = f.elevator()
    h = f.token(client, f.user("admin"))
    resp = client.post("/api/v1/equipment", headers=h, json={
        "category": "3110", "device_code": unit.device_code, "address": "福州某地",
        "user_org_id": unit.user_org_id, "location": {"lat": 26, "lon": 119}})
    assert resp.status_code == 409
    assert "device_code" in resp.get_json()["error"]["details"]


def test_crew_of_one_unit_cannot_see_or_change_another(client, f):
    m1, m2 = f.org("maintenance_unit"), f.org("maintenance_unit")
    mine, theirs = f.elevator(maint_org=m1), f.elevator(maint_org=m2)
    h = f.token(client, f.user("crew", org=m1))
    assert client.get(f"/api/v1/equipment/{mine.id}", headers=h).status_code == 200
    for path in (f"/api/v1/equipment/{theirs.id}", f"/api/v1/equipment/{theirs.id}/trace",
                 f"/api/v1/equipment/{theirs.id}/qr.png", f"/api/v1/equipment/{theirs.id}/components"):
        assert client.get(path, headers=h).status_code == 404, path
    assert client.patch(f"/api/v1/equipment/{theirs.id}", headers=h, json={"address": "篡改"}).status_code == 404
    assert client.post(f"/api/v1/equipment/{theirs.id}/tag/revoke", headers=h,
                       json={"reason": "x" * 5}).status_code == 404
    listed = client.get("/api/v1/equipment", headers=h).get_json()
    assert [u["id"] for u in listed["items"]] == [mine.id]
    # crew may read its own unit but not rewrite its record: tags, components and history are the user unit's
    assert client.patch(f"/api/v1/equipment/{mine.id}", headers=h, json={"address": "篡改"}).status_code == 403
    for path, body in (("tag", None), ("tag/revoke", {"reason": "label damaged"}),
                       ("components", {"kind": "brake", "maker": "X", "model": "Y"}),
                       ("history", {"kind": "repaired", "data": {}})):
        assert client.post(f"/api/v1/equipment/{mine.id}/{path}", headers=h, json=body).status_code == 403, path


def test_unauthenticated_api_is_401(client, f):
    unit = f.elevator()
    resp = client.get(f"/api/v1/equipment/{unit.id}")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


def test_public_view_and_tag_revocation(client, f, db):
    from equipment.registry.tags import active_tag
    maint = f.org("maintenance_unit", name="维保甲", phone="0591-1111111")
    unit = f.elevator(maint_org=maint)
    tag = active_tag(unit.id).tag
    body = client.get(f"/api/v1/public/{tag}").get_json()
    assert body["category"] == "elevator" and body["rescue_code"] == unit.rescue_code
    assert body["status"] == "in_service" and body["maintenance_unit"] == {"name": "维保甲", "phone": "0591-1111111"}
    assert body["last_inspection"] is None and "user_org_id" not in body
    h = f.token(client, f.user("admin"))
    assert client.post(f"/api/v1/equipment/{unit.id}/tag/revoke", headers=h, json={"reason": "label damaged"}).status_code == 200
    assert client.get(f"/api/v1/public/{tag}").status_code == 410
    assert client.get(f"/q/{tag}").status_code == 410
    new = client.post(f"/api/v1/equipment/{unit.id}/tag", headers=h).get_json()
    assert new["tag"] != tag and client.get(f"/api/v1/public/{new['tag']}").status_code == 200


def test_unknown_and_malformed_tags_answer_alike(client, f):
    for tag in ("A" * 21 + "A", "nope", "x" * 200):
        resp = client.get(f"/api/v1/public/{tag}")
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_overdue_shows_at_once(client, f, db):
    from equipment.registry.tags import active_tag
    unit = f.elevator()
    unit.next_inspection_due = dt.date.today() - dt.timedelta(days=2)
    db.session.commit()
    body = client.get(f"/api/v1/public/{active_tag(unit.id).tag}").get_json()
    assert body["status"] == "overdue"


def test_every_write_is_audited(client, f, db):
    from equipment.core.audit import AuditLog
    admin = f.user("admin")
    h = f.token(client, admin)
    unit = f.elevator()
    resp = client.patch(f"/api/v1/equipment/{unit.id}", headers=h, json={"address": "福州市新地址"})
    assert resp.status_code == 200
    logs = db.session.query(AuditLog).filter_by(entity="equipment", entity_id=str(unit.id), action="update").all()
    assert any(l.actor_name == admin.username and l.changes.get("address", [None, None])[1] == "福州市新地址" for l in logs)


def test_ids_beyond_bigint_are_not_found_or_invalid(client, f):
    h = f.token(client, f.user("admin"))
    huge = 2**70
    assert client.get(f"/api/v1/equipment/{huge}", headers=h).status_code == 404
    assert client.get(f"/api/v1/equipment/labels.pdf?ids=1,{huge}", headers=h).status_code == 422
    resp = client.post("/api/v1/equipment", headers=h, json={
        "category": "3110", "device_code": "311035001201900001", "address": "福州某地",
        "user_org_id": huge, "location": {"lat": 26, "lon": 119}})
    assert resp.status_code == 422 and "user_org_id" in resp.get_json()["error"]["details"]


def test_user_with_unknown_org_is_422(client, f):
    h = f.token(client, f.user("admin"))
    resp = client.post("/api/v1/users", headers=h, json={
        "username": "zhang.san", "password": "long-enough-pw", "role": "crew", "org_id": 987654})
    assert resp.status_code == 422 and "org_id" in resp.get_json()["error"]["details"]
