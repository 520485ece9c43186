"""The registry list behind /units and its exports: one set-based query, scoped by the caller, filtered on
indexed columns, counted without the display joins."""
from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from equipment.core.errors import Invalid
from equipment.core.geo import lat_lon
from equipment.extensions import db
from equipment.registry.models import Category, Equipment, Organization

CODES = ("device_code", "registration_code", "rescue_code", "cylinder_code", "use_certificate_no")
SORTS = {"id": (Equipment.id,), "next_due": (Equipment.next_inspection_due.asc().nulls_last(), Equipment.id),
         "address": (Equipment.address, Equipment.id), "status": (Equipment.status, Equipment.id)}
MAX_PER_PAGE = 200


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def filter_clauses(*, q=None, category=None, status=None, district=None, maintenance_org_id=None,
                   overdue=None) -> list:
    """Each filter is one indexed predicate; `q` is any code exactly or a part of the address."""
    out = []
    if q:
        q = q.strip()
        out.append(or_(*(getattr(Equipment, k) == q.upper() for k in CODES),
                       Equipment.address.contains(q, autoescape=True)))
    if category:
        out.append(or_(Equipment.family == category, Equipment.category_code == category))
    if status:
        out.append(Equipment.status == status)
    if district:
        out.append(Equipment.district_code.startswith(district, autoescape=True))
    if maintenance_org_id:
        out.append(Equipment.maintenance_org_id == maintenance_org_id)
    if overdue is True:
        out.append(or_(Equipment.status == "overdue", Equipment.next_inspection_due < _today()))
    elif overdue is False:
        out.append(and_(Equipment.status != "overdue",
                        or_(Equipment.next_inspection_due.is_(None), Equipment.next_inspection_due >= _today())))
    return out


def _rows_stmt(where: list, sort: str):
    user, maint = aliased(Organization), aliased(Organization)
    return (select(Equipment.id, Equipment.family, Equipment.category_code, Category.name_zh, Category.name_en,
                   *(getattr(Equipment, k) for k in CODES), Equipment.address, Equipment.district_code,
                   Equipment.status, Equipment.next_inspection_due, Equipment.last_inspection_date,
                   Equipment.location, user.name.label("user_org"), maint.name.label("maintenance_org"))
            .join(Category, Category.code == Equipment.category_code)
            .join(user, user.id == Equipment.user_org_id)
            .outerjoin(maint, maint.id == Equipment.maintenance_org_id)
            .where(*where).order_by(*SORTS[sort]))


def _as_dict(row) -> dict:
    out = dict(row._mapping)
    out["location"] = lat_lon(out.pop("location")) if row.location is not None else None
    return out


def list_units(*, scope, where: list, sort: str = "id", page: int = 1, per_page: int = 50) -> dict:
    """`scope`: the caller's visibility clause; `where`: filter_clauses() plus other domains' clauses."""
    if sort not in SORTS:
        raise Invalid("Unknown sort", details={"sort": [f"one of {', '.join(SORTS)}"]})
    if not 1 <= page <= 100_000 or not 1 <= per_page <= MAX_PER_PAGE:
        raise Invalid("Invalid pagination", details={"page": ["must be >= 1"],
                                                     "per_page": [f"must be between 1 and {MAX_PER_PAGE}"]})
    clauses = [scope, *where]
    total = db.session.scalar(select(func.count(Equipment.id)).where(*clauses))
    rows = db.session.execute(_rows_stmt(clauses, sort).limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [_as_dict(r) for r in rows], "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page))}


def iter_units(*, scope, where: list, sort: str = "id", limit: int = 100_000):
    """Every matching row for an export, streamed in batches."""
    stmt = _rows_stmt([scope, *where], sort).limit(limit).execution_options(yield_per=1000)
    for row in db.session.execute(stmt):
        yield _as_dict(row)


def map_points(*, scope, where: list, limit: int = 2000) -> list[dict]:
    stmt = (select(Equipment.id, Equipment.status, Equipment.address, Equipment.location)
            .where(scope, *where, Equipment.location.is_not(None)).order_by(Equipment.id).limit(limit))
    return [{"id": r.id, "status": r.status, "address": r.address, **(lat_lon(r.location) or {})}
            for r in db.session.execute(stmt)]


def maintenance_orgs(*, scope) -> list[tuple[int, str]]:
    """The maintenance units of the caller's units, for the filter."""
    ids = select(Equipment.maintenance_org_id).where(scope, Equipment.maintenance_org_id.is_not(None)).distinct()
    stmt = select(Organization.id, Organization.name).where(Organization.id.in_(ids)).order_by(Organization.name)
    return [(r.id, r.name) for r in db.session.execute(stmt)]


def districts_in_use(*, scope) -> list[str]:
    stmt = select(Equipment.district_code).where(scope, Equipment.district_code.is_not(None)).distinct()
    return sorted(c for (c,) in db.session.execute(stmt))


def units_brief(ids) -> dict[int, dict]:
    """{id: {code, address, family}} for rows of other domains' lists (one query, not one per row)."""
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return {}
    stmt = select(Equipment.id, Equipment.family, Equipment.address, Equipment.district_code,
                  *(getattr(Equipment, k) for k in CODES)).where(Equipment.id.in_(ids))
    out = {}
    for r in db.session.execute(stmt):
        code = r.rescue_code or r.device_code or r.registration_code or r.cylinder_code or r.use_certificate_no
        out[r.id] = {"id": r.id, "family": r.family, "address": r.address, "code": code or f"#{r.id}",
                     "district_code": r.district_code}
    return out
