"""Maintenance records by crews, with proof of presence and fake-maintenance flags for the regulator."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from equipment.core.actor import Actor
from equipment.core.db import atomic, paginate
from equipment.core.errors import Forbidden, Gone, Invalid, InvalidState, NotFound
from equipment.core.geo import haversine_m, lat_lon
from equipment.core.models import utcnow
from equipment.extensions import db
from equipment.inspections import checklists, obligations
from equipment.inspections import rules as rules_mod
from equipment.inspections.models import MaintenanceRecord
from equipment.registry import service as registry

CREW_ROLES = ("crew", "admin")


def _tz_date(when: dt.datetime) -> dt.date:
    from zoneinfo import ZoneInfo

    from flask import current_app
    return when.astimezone(ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))).date()


def _may_maintain(actor: Actor, unit) -> None:
    if actor.role not in CREW_ROLES:
        raise Forbidden("Only maintenance crews record maintenance")
    if actor.role != "admin" and actor.org_id != unit.maintenance_org_id:
        raise Forbidden("Your organisation does not maintain this unit")


def _item_sets() -> dict:
    return rules_mod.current_rules()["elevator.maintenance"]["item_sets"]


def _check_item_set(item_set: str) -> None:
    if item_set not in _item_sets():
        raise Invalid("Unknown item set", details={"item_set": [f"one of {', '.join(_item_sets())}"]})


def _distance(unit, lat, lon) -> float | None:
    where = lat_lon(unit.location)
    if where is None or lat is None or lon is None:
        return None
    return round(haversine_m(where["lat"], where["lon"], lat, lon), 1)


def _unit_by_tag(tag: str):
    try:
        return registry.resolve_tag(tag)
    except Gone:
        raise Invalid("Tag void", details={"tag": ["this tag is void / 标签已作废"]}) from None
    except NotFound:
        raise Invalid("Unknown tag", details={"tag": ["unknown tag / 未知标签"]}) from None


@atomic
def start(*, actor: Actor, tag: str, item_set: str, lat: float | None = None, lon: float | None = None,
          now: dt.datetime | None = None) -> MaintenanceRecord:
    """A visit starts from scanning the unit's tag on site, with the phone's position."""
    unit = _unit_by_tag(tag)
    _may_maintain(actor, unit)
    _check_item_set(item_set)
    rec = MaintenanceRecord(equipment_id=unit.id, crew_user_id=actor.user_id, org_id=actor.org_id,
                            item_set=item_set, status="open", started_at=now or utcnow(), scan_tag=tag,
                            scan_lat=lat, scan_lon=lon, scan_distance_m=_distance(unit, lat, lon),
                            items=[], photos=[], flags=[])
    db.session.add(rec)
    db.session.flush()
    return rec


@atomic
def finish(*, actor: Actor, record_id: int, items: list | None = None, notes: str | None = None,
           photos: list | None = None, now: dt.datetime | None = None) -> MaintenanceRecord:
    rec = db.session.get(MaintenanceRecord, record_id)
    if rec is None or not (actor.role == "admin" or rec.crew_user_id == actor.user_id):
        raise NotFound("No such maintenance record")
    if rec.status != "open":
        raise InvalidState("Record already finished")
    rec.items, rec.notes, rec.photos = items or [], notes, photos or []
    rec.ended_at = now or utcnow()
    if rec.ended_at < rec.started_at:
        raise Invalid("End before start", details={"ended_at": ["must be after the start"]})
    return _complete(rec)


@atomic
def record(*, actor: Actor, equipment_id: int, item_set: str, started_at: dt.datetime, ended_at: dt.datetime,
           scan: dict | None = None, items: list | None = None, notes: str | None = None,
           photos: list | None = None) -> MaintenanceRecord:
    """A record entered after the fact (offline phone, paper): kept, but flagged when the scan is missing."""
    unit = registry.get_equipment(actor=actor, equipment_id=equipment_id)  # another org's unit: 404, like none
    _may_maintain(actor, unit)
    _check_item_set(item_set)
    if ended_at < started_at:
        raise Invalid("End before start", details={"ended_at": ["must be after the start"]})
    now = utcnow()
    if ended_at > now + dt.timedelta(hours=1) or started_at < now - dt.timedelta(days=366):
        raise Invalid("Implausible times", details={"started_at": ["within the last year, not in the future"]})
    scan = scan or {}
    rec = MaintenanceRecord(equipment_id=unit.id, crew_user_id=actor.user_id, org_id=actor.org_id,
                            item_set=item_set, status="open", started_at=started_at, ended_at=ended_at,
                            scan_tag=scan.get("tag"), scan_lat=scan.get("lat"), scan_lon=scan.get("lon"),
                            scan_distance_m=_distance(unit, scan.get("lat"), scan.get("lon")),
                            items=items or [], notes=notes, photos=photos or [], flags=[])
    if rec.scan_tag:
        scanned = _unit_by_tag(rec.scan_tag)
        if scanned.id != unit.id:
            rec.flags = ["tag_mismatch"]
    db.session.add(rec)
    db.session.flush()
    return _complete(rec)


def _complete(rec: MaintenanceRecord) -> MaintenanceRecord:
    unit = registry.load_equipment(rec.equipment_id)
    rec.flags = sorted(set(rec.flags or []) | set(plausibility_flags(rec, category_code=unit.category_code)))
    rec.flagged = bool(rec.flags)
    rec.status = "done"
    if unit.last_maintenance_at is None or rec.ended_at > unit.last_maintenance_at:
        unit.last_maintenance_at = rec.ended_at
        obligations.sync_maintenance(unit, last_done=_tz_date(rec.ended_at))
    registry.append_history(equipment_id=unit.id, kind="maintained", data={
        "record_id": rec.id, "item_set": rec.item_set, "started_at": rec.started_at.isoformat(),
        "ended_at": rec.ended_at.isoformat(), "flags": rec.flags})
    return rec


def missing_items(rec: MaintenanceRecord, category_code: str | None) -> list[str]:
    """Keys of the item set (TSG T5002, with the shorter periods' items) that the record does not answer."""
    answered = {i.get("item") for i in rec.items or [] if i.get("result") in ("pass", "fail", "na")}
    return [i["key"] for i in checklists.maintenance_items(category_code, rec.item_set) if i["key"] not in answered]


def plausibility_flags(rec: MaintenanceRecord, *, category_code: str | None) -> list[str]:
    """Fake maintenance is a known problem: too short, items skipped, no scan, far from the unit, or two
    places at once."""
    cfg = rules_mod.current_rules()["maintenance.plausibility"]
    flags = []
    if not rec.scan_tag:
        flags.append("no_scan")
    elif rec.scan_distance_m is None:
        flags.append("no_position")
    elif rec.scan_distance_m > cfg["max_distance_m"]:
        flags.append("far_from_unit")
    minimum = _item_sets().get(rec.item_set, {}).get("min_minutes", 0)
    if rec.ended_at - rec.started_at < dt.timedelta(minutes=minimum):
        flags.append("too_short")
    if missing_items(rec, category_code):
        flags.append("items_missing")
    if _impossible_travel(rec, cfg):
        flags.append("impossible_travel")
    return flags


def _impossible_travel(rec: MaintenanceRecord, cfg: dict) -> bool:
    if rec.crew_user_id is None or rec.scan_lat is None or rec.scan_lon is None:
        return False
    window = dt.timedelta(minutes=cfg["travel_minutes"])
    others = db.session.scalars(select(MaintenanceRecord).where(
        MaintenanceRecord.crew_user_id == rec.crew_user_id, MaintenanceRecord.id != rec.id,
        MaintenanceRecord.started_at >= rec.started_at - window, MaintenanceRecord.started_at <= rec.started_at + window,
        MaintenanceRecord.scan_lat.isnot(None)))
    found = False
    for other in others:
        if haversine_m(rec.scan_lat, rec.scan_lon, other.scan_lat, other.scan_lon) > cfg["travel_km"] * 1000:
            found = True
            if "impossible_travel" not in (other.flags or []):  # both records of the pair are suspicious
                other.flags = sorted({*(other.flags or []), "impossible_travel"})
                other.flagged = True
    return found


def list_records(*, actor: Actor, equipment_id: int | None = None, flagged: bool | None = None,
                 page: int = 1, per_page: int = 50, also=None) -> dict:
    """`also`: a select of further unit ids the caller may see (the dossier's agency links)."""
    stmt = (select(MaintenanceRecord).where(registry.scope(actor, MaintenanceRecord.equipment_id, also=also))
            .order_by(MaintenanceRecord.started_at.desc()))
    if equipment_id:
        stmt = stmt.where(MaintenanceRecord.equipment_id == equipment_id)
    if flagged is not None:
        stmt = stmt.where(MaintenanceRecord.flagged.is_(flagged))
    return paginate(stmt, page=page, per_page=per_page)
