"""The registry list behind /units and its exports: one set-based query, scoped by the caller, filtered on
indexed columns, counted without the display joins.

Measured at 100,000 units on PostgreSQL (bench/bench_units_list.py): a page picks its ids first (an index scan
that skips `offset` rows without joining them), then joins the names for those 50 rows only; a narrow scope
(an organisation's few hundred units) is materialised before sorting, or the planner walks the whole due-date
index filtering for the organisation; the filter lists of a wide scope read small tables or skip through an
index instead of scanning every unit."""
from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import True_

from equipment.core.errors import Invalid
from equipment.core.geo import lat_lon
from equipment.extensions import db
from equipment.registry.models import Category, Equipment, Organization
from equipment.registry.tags import status_shown

CODES = ("device_code", "registration_code", "rescue_code", "cylinder_code", "use_certificate_no")
SPOKEN_CODES = ("rescue_code", "device_code", "registration_code", "cylinder_code", "use_certificate_no")  # map labels
SORTS = ("id", "next_due", "address", "status")
SORT_COLUMNS = ("id", "next_inspection_due", "address", "status")


def _order(c, sort: str) -> tuple:
    """ORDER BY of a sort on `c` (the equipment table or the narrow scope's rows)."""
    return {"id": (c.id,), "next_due": (c.next_inspection_due.asc().nulls_last(), c.id),
            "address": (c.address, c.id), "status": (c.status, c.id)}[sort]
MAX_PER_PAGE = 200


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def filter_clauses(*, q=None, category=None, status=None, district=None, maintenance_org_id=None,
                   overdue=None) -> list:
    """Each filter is one indexed predicate; `q` is any code exactly or a part of the address."""
    out = []
    if q:
        q = q.strip()
        codes = [getattr(Equipment, k) == q.upper() for k in CODES]
        # A code is ASCII letters and digits (each one unique and indexed); anything else is part of an address,
        # which only a scan can find: a code search does not pay for one.
        out.append(or_(*codes) if q.isascii() and q.isalnum() else
                   or_(*codes, Equipment.address.contains(q, autoescape=True)))
    if category:  # a catalogue code (3110) or a family (elevator): one indexed equality either way
        out.append(Equipment.category_code == category if category.isdigit() else Equipment.family == category)
    if status in ("overdue", "in_service"):  # as shown: in service past its due date counts as overdue
        late = and_(Equipment.status == "in_service", Equipment.next_inspection_due < _today())
        out.append(or_(Equipment.status == "overdue", late) if status == "overdue" else
                   and_(Equipment.status == "in_service", or_(Equipment.next_inspection_due.is_(None),
                                                              Equipment.next_inspection_due >= _today())))
    elif status:
        out.append(Equipment.status == status)
    if district:
        out.append(_district(district))
    if maintenance_org_id:
        out.append(Equipment.maintenance_org_id == maintenance_org_id)
    if overdue is True:
        out.append(or_(Equipment.status == "overdue", Equipment.next_inspection_due < _today()))
    elif overdue is False:
        out.append(and_(Equipment.status != "overdue",
                        or_(Equipment.next_inspection_due.is_(None), Equipment.next_inspection_due >= _today())))
    return out


def _district(prefix: str):
    """A GB/T 2260 prefix as an index range: LIKE 'prefix%' cannot use the index under a non-C collation."""
    if len(prefix) == 6:
        return Equipment.district_code == prefix
    if set(prefix) == {"9"}:
        return Equipment.district_code >= prefix
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return and_(Equipment.district_code >= prefix, Equipment.district_code < upper)


def _display(ids, sort: str):
    """Names and codes for one page of ids, in the page's order."""
    user, maint = aliased(Organization), aliased(Organization)
    return (select(Equipment.id, Equipment.family, Equipment.category_code, Category.name_zh, Category.name_en,
                   *(getattr(Equipment, k) for k in CODES), Equipment.address, Equipment.district_code,
                   Equipment.status, Equipment.next_inspection_due, Equipment.last_inspection_date,
                   Equipment.location, user.name.label("user_org"), maint.name.label("maintenance_org"))
            .join(ids, ids.c.id == Equipment.id)
            .join(Category, Category.code == Equipment.category_code)
            .join(user, user.id == Equipment.user_org_id)
            .outerjoin(maint, maint.id == Equipment.maintenance_org_id)
            .order_by(*_order(Equipment, sort)))


def _page_ids(scope, where: list, sort: str, limit: int, offset: int):
    """One page of ids; a narrow scope's rows are materialised before the sort (see the module's note)."""
    if isinstance(scope, True_):
        stmt = select(Equipment.id).where(*where).order_by(*_order(Equipment, sort))
    else:  # sorted from the materialised rows: no index walk over every unit in sort order
        narrow = (select(*(getattr(Equipment, k) for k in SORT_COLUMNS)).where(scope, *where)
                  .cte("scoped").prefix_with("MATERIALIZED", dialect="postgresql"))
        stmt = select(narrow.c.id).order_by(*_order(narrow.c, sort))
    return stmt.limit(limit).offset(offset).subquery("page")


def _as_dict(row, today: dt.date) -> dict:
    out = dict(row._mapping)
    out["location"] = lat_lon(out.pop("location")) if row.location is not None else None
    out["status"] = status_shown(row.status, row.next_inspection_due, today)  # overdue before the nightly job
    return out


def list_units(*, scope, where: list, sort: str = "id", page: int = 1, per_page: int = 50) -> dict:
    """`scope`: the caller's visibility clause; `where`: filter_clauses() plus other domains' clauses."""
    if sort not in SORTS:
        raise Invalid("Unknown sort", details={"sort": [f"one of {', '.join(SORTS)}"]})
    if not 1 <= page <= 100_000 or not 1 <= per_page <= MAX_PER_PAGE:
        raise Invalid("Invalid pagination", details={"page": ["must be >= 1"],
                                                     "per_page": [f"must be between 1 and {MAX_PER_PAGE}"]})
    total = db.session.scalar(select(func.count(Equipment.id)).where(scope, *where))
    ids = _page_ids(scope, where, sort, per_page, (page - 1) * per_page)
    rows = db.session.execute(_display(ids, sort)).all()
    return {"items": [_as_dict(r, _today()) for r in rows], "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page))}


def iter_units(*, scope, where: list, sort: str = "id", limit: int = 100_000):
    """Every matching row for an export, streamed in batches."""
    ids, today = _page_ids(scope, where, sort, limit, 0), _today()
    for row in db.session.execute(_display(ids, sort).execution_options(yield_per=1000)):
        yield _as_dict(row, today)


def map_points(*, scope, where: list, limit: int = 2000) -> list[dict]:
    stmt = (select(Equipment.id, Equipment.status, Equipment.next_inspection_due, Equipment.address,
                   Equipment.location, *(getattr(Equipment, k) for k in CODES))
            .where(scope, *where, Equipment.location.is_not(None)).order_by(Equipment.id).limit(limit))
    today = _today()
    return [{"id": r.id, "status": status_shown(r.status, r.next_inspection_due, today), "address": r.address,
             "code": next((getattr(r, k) for k in SPOKEN_CODES if getattr(r, k)), None), **(lat_lon(r.location) or {})}
            for r in db.session.execute(stmt)]


def maintenance_orgs(*, scope) -> list[tuple[int, str]]:
    """The maintenance units of the caller's units, for the filter (every one for a wide scope)."""
    stmt = select(Organization.id, Organization.name).order_by(Organization.name)
    if isinstance(scope, True_):
        stmt = stmt.where(Organization.kind == "maintenance_unit")
    else:
        ids = select(Equipment.maintenance_org_id).where(scope, Equipment.maintenance_org_id.is_not(None))
        stmt = stmt.where(Organization.id.in_(ids.distinct()))
    return [(r.id, r.name) for r in db.session.execute(stmt)]


# Distinct district codes by skipping through ix_equipment_district_code: one probe per district, not a scan
# of every unit (the same SQL on PostgreSQL and SQLite).
_LOOSE_DISTRICTS = text("""
WITH RECURSIVE d(code) AS (
  SELECT MIN(district_code) FROM equipment
  UNION ALL
  SELECT (SELECT MIN(district_code) FROM equipment WHERE district_code > d.code) FROM d WHERE d.code IS NOT NULL
) SELECT code FROM d WHERE code IS NOT NULL""")


def districts_in_use(*, scope) -> list[str]:
    if isinstance(scope, True_):
        return [c for (c,) in db.session.execute(_LOOSE_DISTRICTS)]
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
