"""Random spot checks re-run from their seed; maintenance proof of presence and fake-maintenance flags."""
import datetime as dt

from equipment.core.actor import SYSTEM, acting_as
from equipment.inspections import checklists, draws, maintenance
from equipment.inspections.models import SpotCheckDraw
from equipment.registry import service as registry

UTC = dt.timezone.utc


def _world(f):
    """Units with user/maintenance/maker orgs; inspectors in agencies, some of which are also a unit's org."""
    agencies = [f.org("inspection_agency") for _ in range(3)]
    inspectors = [f.user("inspector", a) for a in agencies for _ in range(2)]
    units = []
    for i in range(12):
        # the first agencies double as the maintenance/maker org of some units: a conflict to avoid
        maint = agencies[i % 2] if i % 3 == 0 else f.org("maintenance_unit")
        units.append(f.elevator(maint_org=maint, district_code="350102" if i % 4 else "350103"))
    return agencies, inspectors, units


def test_draw_is_reproducible_and_never_conflicted(client, f, db):
    _, inspectors, units = _world(f)
    headers = f.token(client, f.user("regulator"))
    body = {"filters": {"category": "elevator", "district_code": "350102"}, "sample_size": 5, "seed": 20240601,
            "inspector_ids": [u.id for u in inspectors]}
    resp = client.post("/api/v1/spot-checks", headers=headers, json=body)
    assert resp.status_code == 201, resp.get_json()
    draw = resp.get_json()
    assert draw["seed"] == 20240601 and len(draw["result"]) == 5
    by_id = {u.id: u for u in units}
    org_of = {u.id: u.org_id for u in inspectors}
    for row in draw["result"]:
        unit = by_id[row["equipment_id"]]
        assert unit.district_code == "350102"
        assert row["inspector_user_id"] is not None
        assert org_of[row["inspector_user_id"]] not in {unit.user_org_id, unit.maintenance_org_id, unit.maker_org_id}
    verify = client.get(f"/api/v1/spot-checks/{draw['id']}/verify", headers=headers).get_json()
    assert verify["matches"] is True and verify["candidates_unchanged"] is True
    assert verify["result"] == draw["result"]
    # the same inputs give the same draw; another seed (almost surely) another one
    again = client.post("/api/v1/spot-checks", headers=headers, json=body).get_json()
    assert again["result"] == draw["result"]
    other = client.post("/api/v1/spot-checks", headers=headers, json={**body, "seed": 7}).get_json()
    assert other["result"] != draw["result"]
    # a tampered stored result no longer matches its re-run
    row = db.session.get(SpotCheckDraw, draw["id"])
    row.result = list(reversed(row.result))
    db.session.commit()
    assert client.get(f"/api/v1/spot-checks/{draw['id']}/verify", headers=headers).get_json()["matches"] is False


def test_conflict_rule_over_many_seeds(f, db):
    _, inspectors, units = _world(f)
    conflicts = {u.id: {u.user_org_id, u.maintenance_org_id, u.maker_org_id} - {None} for u in units}
    pool = [(u.id, u.org_id) for u in inspectors]
    ids = sorted(conflicts)
    for seed in range(300):
        result = draws.compute(seed, ids, conflicts, pool, 6)
        assert result == draws.compute(seed, ids, conflicts, pool, 6)
        for row in result:
            assert row["agency_org_id"] not in conflicts[row["equipment_id"]]


def test_assigned_inspector_may_record(client, f, db, today):
    agency = f.org("inspection_agency")
    inspector = f.user("inspector", agency)
    unit = f.elevator()
    headers = f.token(client, inspector)
    body = {"equipment_id": unit.id, "kind": "spot", "date": today.isoformat(), "conclusion": "pass"}
    assert client.post("/api/v1/inspections", headers=headers, json=body).status_code == 404
    with acting_as(SYSTEM):
        draws.create_draw(actor=SYSTEM, filters={}, sample_size=50, seed=1, inspector_ids=[inspector.id])
    mine = client.get("/api/v1/spot-checks/assignments?status=open", headers=headers).get_json()
    assert unit.id in {a["equipment_id"] for a in mine}
    assert client.post("/api/v1/inspections", headers=headers, json=body).status_code == 201
    done = client.get("/api/v1/spot-checks/assignments?status=done", headers=headers).get_json()
    assert unit.id in {a["equipment_id"] for a in done}


def _crew_and_unit(f):
    maint = f.org("maintenance_unit")
    crew = f.user("crew", maint)
    unit = f.elevator(maint_org=maint, lat=26.08, lon=119.30)
    return crew, unit, registry.active_tag(unit.id).tag


def test_maintenance_from_scan_updates_unit_and_obligation(client, f, db):
    crew, unit, tag = _crew_and_unit(f)
    headers = f.token(client, crew)
    started = client.post("/api/v1/maintenance/start", headers=headers,
                          json={"tag": tag, "lat": 26.0801, "lon": 119.3001, "item_set": "half_monthly"})
    assert started.status_code == 201, started.get_json()
    rec = started.get_json()
    assert rec["scan_distance_m"] < 50
    other = f.token(client, f.user("crew", f.org("maintenance_unit")))
    assert client.post("/api/v1/maintenance/start", headers=other, json={"tag": tag}).status_code == 403
    # the visit takes 40 minutes (server time is injected through the service for the test)
    with acting_as(f.actor(crew)):
        done = maintenance.finish(actor=f.actor(crew), record_id=rec["id"], items=[
                                      {"item": i["key"], "result": "pass"}
                                      for i in checklists.maintenance_items("3110", "half_monthly")],
                                  now=db.session.get(maintenance.MaintenanceRecord, rec["id"]).started_at
                                  + dt.timedelta(minutes=40))
    assert done.flags == [] and done.flagged is False
    db.session.expire_all()
    assert registry.load_equipment(unit.id).last_maintenance_at == done.ended_at
    obs = client.get(f"/api/v1/obligations/equipment/{unit.id}", headers=headers).get_json()
    maint = next(o for o in obs if o["kind"] == "maintenance")
    assert maint["last_done"] is not None
    assert dt.date.fromisoformat(maint["next_due"]) - dt.date.fromisoformat(maint["last_done"]) == dt.timedelta(15)
    kinds = [e.kind for e in registry.trace_of(actor=SYSTEM, equipment_id=unit.id)["items"]]
    assert kinds[-1] == "maintained"


def test_fake_maintenance_flags(client, f, db):
    crew, unit, tag = _crew_and_unit(f)
    far_unit = f.elevator(maint_org=db.session.get(registry.Organization, unit.maintenance_org_id),
                          lat=26.40, lon=119.30)  # about 35 km north
    headers = f.token(client, crew)
    t0 = (dt.datetime.now(UTC) - dt.timedelta(days=30)).replace(microsecond=0)

    def post(equipment_id, start, minutes, scan=None, item_set="half_monthly"):
        items = [{"item": i["key"], "result": "pass"} for i in checklists.maintenance_items("3110", item_set)]
        body = {"equipment_id": equipment_id, "item_set": item_set, "started_at": start.isoformat(),
                "ended_at": (start + dt.timedelta(minutes=minutes)).isoformat(), "items": items}
        if scan:
            body["scan"] = scan
        resp = client.post("/api/v1/maintenance", headers=headers, json=body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    quick = post(unit.id, t0, 2, {"tag": tag, "lat": 26.08, "lon": 119.30})
    assert quick["flags"] == ["too_short"]
    ok = post(unit.id, t0 + dt.timedelta(days=1), 12, {"tag": tag, "lat": 26.08, "lon": 119.30})
    assert ok["flags"] == []
    assert post(unit.id, t0 + dt.timedelta(days=2), 45)["flags"] == ["no_scan"]
    far = post(unit.id, t0 + dt.timedelta(days=3), 45, {"tag": tag, "lat": 26.10, "lon": 119.30})
    assert far["flags"] == ["far_from_unit"]
    # one crew at two units 35 km apart within 10 minutes: both records are flagged
    a = post(unit.id, t0 + dt.timedelta(days=4), 45, {"tag": tag, "lat": 26.08, "lon": 119.30})
    far_tag = registry.active_tag(far_unit.id).tag
    b = post(far_unit.id, t0 + dt.timedelta(days=4, minutes=8), 45, {"tag": far_tag, "lat": 26.40, "lon": 119.30})
    assert "impossible_travel" in b["flags"]
    flagged = client.get(f"/api/v1/maintenance?flagged=true&equipment_id={unit.id}",
                         headers=f.token(client, f.user("regulator"))).get_json()
    flagged_ids = {r["id"] for r in flagged["items"]}
    assert {quick["id"], far["id"], a["id"]} <= flagged_ids and ok["id"] not in flagged_ids
    quarterly = post(unit.id, t0 + dt.timedelta(days=5), 15, {"tag": tag, "lat": 26.08, "lon": 119.30},
                     item_set="quarterly")
    assert quarterly["flags"] == ["too_short"]  # quarterly items need 20 minutes
    wrong = post(unit.id, t0 + dt.timedelta(days=6), 45, {"tag": far_tag, "lat": 26.08, "lon": 119.30})
    assert "tag_mismatch" in wrong["flags"]


def test_maintenance_times_must_be_plausible(client, f, db):
    crew, unit, _ = _crew_and_unit(f)
    headers = f.token(client, crew)
    future = dt.datetime.now(UTC) + dt.timedelta(days=3)
    resp = client.post("/api/v1/maintenance", headers=headers, json={
        "equipment_id": unit.id, "started_at": future.isoformat(),
        "ended_at": (future + dt.timedelta(hours=1)).isoformat()})
    assert resp.status_code == 422
    ancient = client.post("/api/v1/maintenance", headers=headers, json={
        "equipment_id": unit.id, "started_at": "0001-01-01T00:00:00Z", "ended_at": "9999-12-31T23:00:00Z"})
    assert ancient.status_code == 422
