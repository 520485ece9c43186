"""QR tags: issue, revoke, resolve, and the public view of a tagged unit."""
from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased

from equipment.core.db import read_first
from equipment.core.errors import Gone, NotFound
from equipment.core.models import utcnow
from equipment.extensions import db
from equipment.registry import history, qr
from equipment.registry.models import Category, Equipment, Organization, QrTag


def issue_tag(*, equipment_id: int) -> QrTag:
    """A new random tag; any active one is revoked (a damaged label is replaced, never reused)."""
    for old in db.session.scalars(select(QrTag).where(QrTag.equipment_id == equipment_id,
                                                      QrTag.active.is_(True))):
        _revoke(old, "reissued")
    tag = QrTag(tag=qr.new_tag(), equipment_id=equipment_id, active=True)
    db.session.add(tag)
    history.append(equipment_id=equipment_id, kind="tag_issued", data={"tag_id_prefix": tag.tag[:4]})
    return tag


def _revoke(tag: QrTag, reason: str) -> None:
    tag.active = False
    tag.revoked_at = utcnow()
    tag.revoke_reason = reason
    history.append(equipment_id=tag.equipment_id, kind="tag_revoked",
                   data={"tag_id_prefix": tag.tag[:4], "reason": reason})


def revoke_tag(*, equipment_id: int, reason: str) -> QrTag | None:
    tag = active_tag(equipment_id)
    if tag is None:
        raise NotFound("This unit has no active tag")
    _revoke(tag, reason)
    return tag


def active_tag(equipment_id: int) -> QrTag | None:
    return db.session.scalar(select(QrTag).where(QrTag.equipment_id == equipment_id, QrTag.active.is_(True)))


def tags_for(equipment_ids: list[int]) -> dict[int, QrTag]:
    stmt = select(QrTag).where(QrTag.equipment_id.in_(equipment_ids), QrTag.active.is_(True))
    return {t.equipment_id: t for t in db.session.scalars(stmt)}


def tag_url(tag: str) -> str:
    return qr.tag_url(current_app.config["PUBLIC_BASE_URL"], tag)


def resolve_tag(tag: str) -> Equipment:
    """Unknown and malformed tags answer alike (404); a revoked tag is void (410)."""
    if not qr.is_well_formed_tag(tag):
        raise NotFound("Unknown tag / 未找到该标签")
    row = db.session.execute(select(QrTag, Equipment).join(Equipment, Equipment.id == QrTag.equipment_id)
                             .where(QrTag.tag == tag)).first()
    if row is None:
        raise NotFound("Unknown tag / 未找到该标签")
    if not row.QrTag.active:
        raise Gone("This tag is void / 此标签已作废", code="tag_revoked")
    return row.Equipment


def today_local() -> dt.date:
    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def effective_status(unit: Equipment) -> str:
    """Overdue shows the moment the due date passes, before the daily refresh job runs."""
    return status_shown(unit.status, unit.next_inspection_due, today_local())


def status_shown(status: str, next_due: dt.date | None, today: dt.date) -> str:
    """effective_status for a row of a list (the same rule on the dossier, the public page and /units)."""
    return "overdue" if status == "in_service" and next_due and next_due < today else status


PUBLIC_COLUMNS = ("family", "device_code", "registration_code", "rescue_code", "cylinder_code", "address",
                  "status", "last_inspection_date", "last_inspection_conclusion", "next_inspection_due",
                  "last_maintenance_at", "use_certificate_no")


@functools.cache
def _public_stmt():
    # Built once: constructing the aliased join costs more than running it.
    user_org, maint_org = aliased(Organization), aliased(Organization)
    unit_columns = [getattr(Equipment, c) for c in PUBLIC_COLUMNS]
    return (select(QrTag.active, *unit_columns, Category.name_zh, Category.name_en, user_org.name.label("user_name"),
                   maint_org.name.label("maint_name"), maint_org.phone.label("maint_phone"))
            .join(Equipment, Equipment.id == QrTag.equipment_id)
            .join(Category, Category.code == Equipment.category_code)
            .outerjoin(user_org, user_org.id == Equipment.user_org_id)
            .outerjoin(maint_org, maint_org.id == Equipment.maintenance_org_id)
            .where(QrTag.tag == bindparam("tag")))


def public_lookup(tag: str) -> dict:
    """The public view of a tag in one round trip (the hottest read of the platform)."""
    if not qr.is_well_formed_tag(tag):
        raise NotFound("Unknown tag / 未找到该标签")
    row = read_first(_public_stmt(), {"tag": tag})
    if row is None:
        raise NotFound("Unknown tag / 未找到该标签")
    if not row.active:
        raise Gone("This tag is void / 此标签已作废", code="tag_revoked")
    # Plain columns, not an ORM entity: the hottest read skips identity-map and attribute instrumentation.
    return _view(row, (row.name_zh, row.name_en), row.user_name,
                 {"name": row.maint_name, "phone": row.maint_phone} if row.maint_name else None)


def public_view(unit: Equipment) -> dict:
    """Only what a passer-by may see: no personal data, no internal ids."""
    cat = db.session.get(Category, unit.category_code)
    user_org = db.session.get(Organization, unit.user_org_id) if unit.user_org_id else None
    maint = db.session.get(Organization, unit.maintenance_org_id) if unit.maintenance_org_id else None
    return _view(unit, (cat.name_zh, cat.name_en) if cat else (unit.family, unit.family),
                 user_org.name if user_org else None,
                 {"name": maint.name, "phone": maint.phone} if maint else None)


def _view(unit: Equipment, cat_names: tuple, user_name: str | None, maint: dict | None) -> dict:
    last = None
    if unit.last_inspection_date:
        last = {"date": unit.last_inspection_date.isoformat(), "conclusion": unit.last_inspection_conclusion}
    return {
        "category": unit.family, "category_name": cat_names[0], "category_name_en": cat_names[1],
        "device_code": unit.device_code, "registration_code": unit.registration_code,
        "rescue_code": unit.rescue_code, "cylinder_code": unit.cylinder_code, "address": unit.address,
        "use_certificate_no": unit.use_certificate_no,
        "status": effective_status(unit), "last_inspection": last,
        "next_inspection_due": unit.next_inspection_due, "last_maintenance": unit.last_maintenance_at,
        "maintenance_unit": maint, "user_unit": {"name": user_name} if user_name else None,
        "hotline": current_app.config["HOTLINE"],
    }
