"""Daily set-based refresh, rule edits recomputing due dates, and the cylinder filling check."""
import datetime as dt

from equipment.core.actor import SYSTEM, acting_as
from equipment.inspections import jobs, schedule, service
from equipment.inspections.models import Obligation
from equipment.registry import service as registry


def _inspect(unit, date, conclusion="pass", **kw):
    with acting_as(SYSTEM):
        return service.record_inspection(actor=SYSTEM, equipment_id=unit.id, date=date, conclusion=conclusion, **kw)


def _public(client, unit):
    return client.get(f"/api/v1/public/{registry.active_tag(unit.id).tag}").get_json()


def test_refresh_marks_overdue_and_back_set_based(client, f, db, today):
    late = f.elevator()
    fine = f.elevator()
    _inspect(late, schedule.add_months(today, -13))
    _inspect(fine, today)
    counts = jobs.refresh(today)
    assert counts["units_overdue"] >= 1
    db.session.expire_all()
    assert registry.load_equipment(late.id).status == "overdue"
    assert registry.load_equipment(fine.id).status == "in_service"
    assert _public(client, late)["status"] == "overdue"
    ob = db.session.query(Obligation).filter_by(equipment_id=late.id, kind="inspection").one()
    assert ob.status == "overdue"
    # a day before the due date counts as due soon; run again: idempotent, nothing changes
    assert jobs.refresh(today)["units_overdue"] == 0
    soon = db.session.query(Obligation).filter_by(equipment_id=fine.id, kind="inspection").one()
    assert soon.status == "ok"
    jobs.refresh(schedule.add_months(today, 12))
    db.session.expire_all()
    assert db.session.get(Obligation, soon.id).status == "due_soon"  # the due day itself is still in time
    jobs.refresh(schedule.add_months(today, 12) + dt.timedelta(days=1))
    db.session.expire_all()
    assert db.session.get(Obligation, soon.id).status == "overdue"
    assert registry.load_equipment(fine.id).status == "overdue"
    jobs.refresh(today)
    db.session.expire_all()
    assert registry.load_equipment(fine.id).status == "in_service"
    # suspended and scrapped units are never touched by the refresh
    with acting_as(SYSTEM):
        registry.set_status(equipment_id=late.id, status="suspended", reason="test")
    jobs.refresh(today)
    db.session.expire_all()
    assert registry.load_equipment(late.id).status == "suspended"


def test_rule_edit_is_a_new_version_and_recomputes_due_dates(client, f, db, today):
    unit = f.elevator()
    last = schedule.add_months(today, -13)
    _inspect(unit, last)
    jobs.refresh(today)
    admin = f.token(client, f.user("admin"))
    rule = client.get("/api/v1/inspection-rules", headers=admin).get_json()
    assert rule["rules"]["elevator.inspection"]["interval_months"] == 12
    before = rule["version"]
    value = {**rule["rules"]["elevator.inspection"], "interval_months": 24}
    regulator = f.token(client, f.user("regulator"))
    assert client.put("/api/v1/inspection-rules/elevator.inspection", headers=regulator,
                      json={"value": value}).status_code == 403
    bad = client.put("/api/v1/inspection-rules/elevator.inspection", headers=admin,
                     json={"value": {**value, "interval_months": "two years"}})
    assert bad.status_code == 422
    resp = client.put("/api/v1/inspection-rules/elevator.inspection", headers=admin, json={"value": value})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["version"] == before + 1
    db.session.expire_all()
    ob = db.session.query(Obligation).filter_by(equipment_id=unit.id, kind="inspection").one()
    assert ob.next_due == schedule.add_months(last, 24) and ob.rule_version == before + 1
    assert ob.status == "ok"
    assert _public(client, unit) ["status"] == "in_service"
    assert _public(client, unit)["next_inspection_due"] == schedule.add_months(last, 24).isoformat()
    versions = client.get("/api/v1/inspection-rules/versions", headers=admin).get_json()
    assert [v["version"] for v in versions][:2] == [before + 1, before]


def test_cylinder_rule_edit_per_gas_class_matches_python(f, db, today):
    a = f.cylinder(attributes={"gas_medium": "Cl2", "gas_class": "corrosive", "manufacture_date": "2024-01-31"})
    b = f.cylinder(attributes={"gas_medium": "N2", "gas_class": "inert", "manufacture_date": "2024-02-29"})
    jobs.new_units()
    with acting_as(SYSTEM):
        service.set_rule(actor=SYSTEM, key="gas_cylinder.inspection",
                         value={"class_interval_months": {"corrosive": 13, "general": 36, "inert": 49}})
    db.session.expire_all()
    assert registry.load_equipment(a.id).next_inspection_due == dt.date(2025, 2, 28)
    assert registry.load_equipment(b.id).next_inspection_due == dt.date(2028, 3, 29)
    assert registry.load_equipment(b.id).next_inspection_due == schedule.add_months(dt.date(2024, 2, 29), 49)


def _filler(f, client):
    return f.token(client, f.user("crew", f.org("user_unit", name="充装站")))


def _check(client, headers, tag):
    resp = client.post("/api/v1/filling/check", headers=headers, json={"tag": tag})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_filling_control(client, f, db, today):
    headers = _filler(f, client)
    overdue = f.cylinder()  # LPG made 2020-05-01: first inspection was due 2024-05-01
    made = schedule.add_years(today, -9)
    extended = f.cylinder(attributes={"gas_medium": "LPG", "gas_class": "lpg", "manufacture_date": made.isoformat()})
    _inspect(extended, schedule.add_years(today, -2))
    old = schedule.add_years(today, -13)
    past = f.cylinder(attributes={"gas_medium": "LPG", "gas_class": "lpg", "manufacture_date": old.isoformat()})
    _inspect(past, schedule.add_years(old, 8))
    scrapped = f.cylinder(attributes={"gas_medium": "N2", "gas_class": "inert",
                                      "manufacture_date": today.isoformat()})
    with acting_as(SYSTEM):
        registry.set_status(equipment_id=scrapped.id, status="scrapped", reason="test", kind="scrapped")

    tag = registry.active_tag(overdue.id).tag
    verdict = _check(client, headers, tag)
    assert verdict == {**verdict, "allow": False, "reason": "inspection_overdue", "reason_zh": "超期未检"}
    refused = client.post("/api/v1/filling", headers=headers, json={"tag": tag, "gas": "LPG", "mass_kg": 14.5})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "fill_refused"
    assert _check(client, headers, registry.active_tag(past.id).tag)["reason"] == "past_design_life"
    assert _check(client, headers, registry.active_tag(scrapped.id).tag)["reason"] == "scrapped"
    assert _check(client, headers, "NO-SUCH-TAG-123")["reason"] == "unknown_tag"
    good_tag = registry.active_tag(extended.id).tag
    assert _check(client, headers, good_tag)["allow"] is True
    assert _check(client, headers, extended.cylinder_code)["allow"] is True  # RFID carries the cylinder code
    filled = client.post("/api/v1/filling", headers=headers, json={"tag": good_tag, "gas": "LPG", "mass_kg": 14.5})
    assert filled.status_code == 201, filled.get_json()
    kinds = [e.kind for e in registry.trace_of(actor=SYSTEM, equipment_id=extended.id)["items"]]
    assert kinds[-1] == "filled"
    inspector = f.token(client, f.user("inspector", f.org("inspection_agency")))
    assert client.post("/api/v1/filling/check", headers=inspector, json={"tag": good_tag}).status_code == 403


def test_sql_month_arithmetic_matches_python_at_month_ends(f, db):
    """The set-based recompute and the pure functions must agree on every backend (clamping, leap years)."""
    from sqlalchemy import select

    from equipment.inspections import obligations
    days = [dt.date(2023, 1, 28) + dt.timedelta(days=i) for i in range(40)]
    days += [dt.date(2024, 2, 29), dt.date(2023, 8, 31), dt.date(2023, 12, 31), dt.date(2024, 10, 31)]
    from equipment.core.db import is_sqlite

    def lit(day):
        return f"'{day.isoformat()}'" if is_sqlite() else f"DATE '{day.isoformat()}'"

    for months in (1, 12, 13, 36, 49, 72):
        for day in days:
            got = db.session.execute(select(obligations.sql_add_months(lit(day), months))).scalar()
            got = got if isinstance(got, dt.date) else dt.date.fromisoformat(got)
            assert got == schedule.add_months(day, months), (day, months)
    got = db.session.execute(select(obligations.sql_add_days(lit(dt.date(2024, 2, 20)), 15))).scalar()
    assert str(got)[:10] == "2024-03-06"
