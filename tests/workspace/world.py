"""A small city for the workspace pages: one unit of each kind of work for every role, names in Chinese
(the untranslated-key scan reads every rendered text, so test data must not look like a raw key)."""
from __future__ import annotations

import datetime as dt

from equipment.core.actor import SYSTEM, Actor, acting_as

ROLES = ("admin", "regulator", "dispatcher", "inspector", "crew", "owner")


def _as(user) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role, org_id=user.org_id)


def build(f) -> dict:
    from equipment.emergency import crews, service as emergency
    from equipment.inspections import maintenance, service as inspections
    from equipment.registry import service as registry
    from equipment.telemetry import alarms, service as telemetry
    orgs = {"owner": f.org("user_unit", name="鼓楼区金山物业"), "crew": f.org("maintenance_unit", name="安达电梯维保"),
            "inspector": f.org("inspection_agency", name="福州市特检院"),
            "dispatcher": f.org("emergency_centre", name="福州市96333中心")}
    users = {role: f.user(role, org) for role, org in orgs.items()}
    users["admin"], users["regulator"] = f.user("admin"), f.user("regulator")
    unit = f.elevator(user_org=orgs["owner"], maint_org=orgs["crew"], district_code="350102",
                      address="福州市鼓楼区五四路100号",
                      components=[{"kind": "brake", "maker": "闽江制动", "model": "ZD-100", "serial": "B000001"}])
    second = f.elevator(user_org=orgs["owner"], maint_org=orgs["crew"], district_code="350103",
                        address="福州市台江区江滨大道8号")
    cylinder = f.cylinder(user_org=orgs["owner"], district_code="350104", address="福州市仓山区充装站",
                          attributes={"gas_medium": "液化石油气", "gas_class": "lpg",
                                      "manufacture_date": "2020-05-01", "design_life_years": 8})
    tag = registry.active_tag(unit.id).tag
    with acting_as(SYSTEM):
        crews.register_crew(user_id=users["crew"].id, org_id=orgs["crew"].id, on_duty=True, lat=26.09,
                            lon=119.30, phone="13900000001")
        for u in (unit, second):
            inspections.assign_agency(actor=SYSTEM, equipment_id=u.id, agency_org_id=orgs["inspector"].id)
        incident, _ = emergency.open_incident(equipment_id=unit.id, source="phone", actor=SYSTEM)
        alarm, _ = alarms.raise_alarm(equipment_id=unit.id, code="02")
    telemetry.provision_terminal(actor=SYSTEM, equipment_id=unit.id)
    inspector = _as(users["inspector"])
    with acting_as(inspector):
        inspections.record_inspection(actor=inspector, equipment_id=second.id,
                                      date=dt.date.today() - dt.timedelta(days=400), conclusion="pass",
                                      report_no="FZTJ-2025-00001")
    crew = _as(users["crew"])
    with acting_as(crew):
        record = maintenance.start(actor=crew, tag=tag, item_set="half_monthly", lat=26.08, lon=119.30)
        maintenance.finish(actor=crew, record_id=record.id, items=[{"item": "brake", "result": "pass"}])
    with acting_as(SYSTEM):
        inspections.sync_unit(equipment_id=second.id)
    return {"orgs": orgs, "users": users, "unit": unit.id, "second": second.id, "cylinder": cylinder.id,
            "second_tag": registry.active_tag(second.id).tag,
            "incident": incident.id, "alarm": alarm.id, "tag": tag}
