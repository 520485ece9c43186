"""Two organisations' worlds side by side, for authorisation and enumeration tests.

Side "own" is what the test users belong to; side "other" is an identical set of rows of other
organisations, 200 km away (so no crew of one side is ever offered the other side's incident); "ghost"
holds ids and tags that name no row. A test user of each role belongs to side "own":
owner -> the unit's user unit, crew -> its maintenance unit (with a crew record on duty and the unit's
incident offered to it), inspector -> the inspection agency named on the unit's obligation,
dispatcher -> an emergency centre; admin and regulator have no organisation.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from equipment.core.actor import SYSTEM, Actor, acting_as

ROLES = ("admin", "regulator", "dispatcher", "inspector", "crew", "owner")
GHOST_ID = 2**31 - 7  # a valid id (INTEGER) that names no row
GHOST_TAG = "A" * 21 + "Q"  # well-formed, unknown


PUBLIC_REPLY_PHONE = "13800000000"  # the public report on the unit (it joins the open incident)


@dataclass
class Side:
    orgs: dict
    unit: int
    tag: str
    cylinder_tag: str
    device_code: str
    incident: int
    terminal: str
    alarm: int
    inspection: int
    record: int
    report: int = 0  # a scan-page report on the unit (it joins the open incident)
    tracking: str = ""


@dataclass
class World:
    own: Side
    other: Side
    ghost: Side
    users: dict  # role -> {"id", "username", "org_id"} (plain values: rows expire between requests)
    tokens: dict = field(default_factory=dict)
    draw: int = 0

    def headers(self, role: str) -> dict:
        return {} if role == "anonymous" else dict(self.tokens[role])

    def org_of(self, role: str) -> int | None:
        return self.users[role]["org_id"] if role in self.users else None


def _as(user) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role, org_id=user.org_id)


def _side(f, *, lat: float, lon: float) -> tuple[Side, dict]:
    from equipment.emergency import crews, service as emergency
    from equipment.inspections import maintenance, service as inspections
    from equipment.registry.tags import active_tag
    from equipment.telemetry import alarms, service as telemetry
    orgs = {"owner": f.org("user_unit"), "crew": f.org("maintenance_unit"),
            "inspector": f.org("inspection_agency"), "dispatcher": f.org("emergency_centre")}
    users = {role: f.user(role, org) for role, org in orgs.items()}
    unit = f.elevator(user_org=orgs["owner"], maint_org=orgs["crew"], lat=lat, lon=lon)
    cylinder = f.cylinder(user_org=orgs["owner"])
    tag = active_tag(unit.id).tag
    with acting_as(SYSTEM):
        crews.register_crew(user_id=users["crew"].id, org_id=orgs["crew"].id, on_duty=True,
                            lat=lat + 0.01, lon=lon, phone=f"139{users['crew'].id:08d}")
        inspections.assign_agency(actor=SYSTEM, equipment_id=unit.id, agency_org_id=orgs["inspector"].id)
        incident, _ = emergency.open_incident(equipment_id=unit.id, source="phone", actor=SYSTEM)
        alarm, _ = alarms.raise_alarm(equipment_id=unit.id, code="02")
    terminal = telemetry.provision_terminal(actor=SYSTEM, equipment_id=unit.id)
    inspector = _as(users["inspector"])
    with acting_as(inspector):
        insp = inspections.record_inspection(actor=inspector, equipment_id=unit.id, date=dt.date.today(),
                                             conclusion="pass")
    crew = _as(users["crew"])
    with acting_as(crew):
        record = maintenance.start(actor=crew, tag=tag, item_set="half_monthly", lat=lat, lon=lon)
    _latest(unit.id)
    from equipment.emergency import public
    report = public.submit(tag=tag, kind="fault", reply_phone=PUBLIC_REPLY_PHONE)
    side = Side(report=report.id, tracking=report.tracking_no, orgs={r: o.id for r, o in orgs.items()}, unit=unit.id, tag=tag,
                cylinder_tag=active_tag(cylinder.id).tag, device_code=unit.device_code, incident=incident.id,
                terminal=terminal["terminal_id"], alarm=alarm.id, inspection=insp.id, record=record.id)
    return side, users


def _latest(equipment_id: int) -> None:
    from equipment.core.models import utcnow
    from equipment.extensions import db
    from equipment.telemetry.models import LatestState
    db.session.add(LatestState(equipment_id=equipment_id, body={"floor": 1}, online=True, last_seen_at=utcnow()))
    db.session.commit()


def build(f, client) -> World:
    from equipment.inspections import draws
    own, users = _side(f, lat=26.08, lon=119.30)  # Fuzhou
    other, _ = _side(f, lat=24.48, lon=118.09)  # Xiamen
    ghost = Side(orgs={r: GHOST_ID for r in own.orgs}, unit=GHOST_ID, tag=GHOST_TAG, cylinder_tag=GHOST_TAG,
                 device_code="none", incident=GHOST_ID, terminal="LT-000000000000", alarm=GHOST_ID,
                 inspection=GHOST_ID, record=GHOST_ID, report=GHOST_ID, tracking="R20000101-AAAAAA")
    users["admin"], users["regulator"] = f.user("admin"), f.user("regulator")
    world = World(own=own, other=other, ghost=ghost,
                  users={r: {"id": u.id, "username": u.username, "org_id": u.org_id} for r, u in users.items()})
    world.tokens = {role: f.token(client, user) for role, user in users.items()}
    with acting_as(SYSTEM):
        # A draw with no candidates: a random assignment would link some inspector to some unit and make the
        # visibility the tests expect depend on the seed.
        world.draw = draws.create_draw(actor=SYSTEM, filters={"district_code": "999999"}, sample_size=1, seed=7).id
    return world
