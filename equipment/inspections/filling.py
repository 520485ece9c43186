"""Gas cylinder filling control (一瓶一码): a scan answers allow/deny with a reason; fills enter the history."""
from __future__ import annotations

from sqlalchemy import select

from equipment.core.actor import Actor
from equipment.core.db import atomic
from equipment.core.errors import Forbidden, Gone, InvalidState, NotFound
from equipment.extensions import db
from equipment.inspections import obligations, schedule
from equipment.inspections.models import FillingRecord, Obligation
from equipment.registry import service as registry

FILLING_ROLES = ("owner", "crew", "admin")
REASONS_ZH = {
    "ok": "可以充装", "unknown_tag": "未知标签", "tag_revoked": "标签已作废", "not_a_cylinder": "不是气瓶",
    "scrapped": "已报废", "suspended": "已停用", "inspection_overdue": "超期未检",
    "past_design_life": "超过设计使用年限", "not_allowed": "检验结论不允许使用", "no_inspection_data": "无检验数据",
}


def _require(actor: Actor) -> None:
    if actor.role not in FILLING_ROLES or (actor.role != "admin" and actor.org_id is None):
        raise Forbidden("Only filling stations check cylinders")


def normalize_tag(scanned: str) -> str:
    """What a scanner reads: the tag's full public URL (…/q/<tag>?…), the tag, or an RFID cylinder code."""
    text = (scanned or "").strip()
    if "/q/" in text:
        text = text.rsplit("/q/", 1)[1]
    return text.split("?", 1)[0].split("#", 1)[0].strip("/ ")


def _resolve(tag: str):
    tag = normalize_tag(tag)
    try:
        return registry.resolve_tag(tag), None
    except Gone:
        return None, "tag_revoked"
    except NotFound:
        pass
    unit = registry.find_by_cylinder_code(tag)
    return unit, None if unit else "unknown_tag"


def _verdict(unit) -> str:
    if unit.family != "gas_cylinder":
        return "not_a_cylinder"
    if unit.status == "scrapped":
        return "scrapped"
    if unit.status == "suspended":
        return "suspended"
    ob = db.session.scalar(select(Obligation).where(Obligation.equipment_id == unit.id,
                                                    Obligation.kind == "inspection"))
    if ob is None:
        obligations.sync_inspection(unit)
        ob = db.session.scalar(select(Obligation).where(Obligation.equipment_id == unit.id,
                                                        Obligation.kind == "inspection"))
    today = obligations.today_local()
    if ob is None:
        return "no_inspection_data"
    if schedule.past_life(ob.life_end, today):
        return "past_design_life"
    if not ob.allowed:
        return "not_allowed"
    if ob.next_due is None:
        return "no_inspection_data"
    if ob.next_due < today:
        return "inspection_overdue"
    return "ok"


@atomic  # commits an obligation created on the fly for a cylinder registered before the last refresh
def check(*, actor: Actor, tag: str) -> dict:
    return _check(actor, tag)


def _check(actor: Actor, tag: str) -> dict:
    _require(actor)
    unit, reason = _resolve(tag)
    if unit is not None:
        reason = _verdict(unit)
    return {"allow": reason == "ok", "reason": reason, "reason_zh": REASONS_ZH[reason],
            "equipment_id": unit.id if unit is not None and reason != "unknown_tag" else None,
            "cylinder_code": unit.cylinder_code if unit is not None else None,
            "next_inspection_due": unit.next_inspection_due if unit is not None else None,
            "details": _details(unit) if unit is not None and unit.family == "gas_cylinder" else None}


def _details(unit) -> dict:
    """What the station checks beside the verdict: the cylinder itself, its life and its last fill."""
    attrs = unit.attributes or {}
    ob = db.session.scalar(select(Obligation).where(Obligation.equipment_id == unit.id,
                                                    Obligation.kind == "inspection"))
    last = db.session.scalar(select(FillingRecord).where(FillingRecord.equipment_id == unit.id)
                             .order_by(FillingRecord.at.desc(), FillingRecord.id.desc()).limit(1))
    return {"gas_medium": attrs.get("gas_medium"), "manufacture_date": attrs.get("manufacture_date"),
            "design_life_years": attrs.get("design_life_years"), "life_end": ob.life_end if ob else None,
            "status": unit.status, "last_fill_at": last.at if last else None}


@atomic
def record_fill(*, actor: Actor, tag: str, gas: str | None = None, mass_kg: float | None = None) -> FillingRecord:
    verdict = _check(actor, tag)
    if not verdict["allow"]:
        raise InvalidState(f"Filling refused: {verdict['reason']} / 禁止充装：{verdict['reason_zh']}",
                           code="fill_refused", details={"reason": [verdict["reason"]]})
    fill = FillingRecord(equipment_id=verdict["equipment_id"], station_org_id=actor.org_id, user_id=actor.user_id,
                         gas=gas, mass_kg=mass_kg)
    db.session.add(fill)
    db.session.flush()
    registry.append_history(equipment_id=fill.equipment_id, kind="filled",
                            data={"fill_id": fill.id, "station_org_id": actor.org_id, "gas": gas, "mass_kg": mass_kg})
    return fill
