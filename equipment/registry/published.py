"""What other domains may read of the registry's units, and the registry's set-based writes they trigger.

Other domains never import registry.models (docs/architecture.md): they join the read-only `unit_view()`,
scope their own rows by unit with `scope(actor, column)`, hand id sets to `unit_id_in()` for the registry's
listings, and change a unit's due date or due-driven status only through the functions at the end, which the
registry runs as single set-based UPDATEs of its own table and records in the audit trail.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import false, insert, or_, select, true, update

from equipment.core.actor import current_actor
from equipment.core.audit import AuditLog
from equipment.core.models import utcnow
from equipment.extensions import db
from equipment.registry.models import STATUSES, Equipment  # noqa: F401  (STATUSES: for other domains' schemas)

# The columns other domains may read; a column not listed here is the registry's own business.
UNIT_COLUMNS = ("id", "family", "category_code", "status", "user_org_id", "maintenance_org_id", "maker_org_id",
                "district_code", "address", "device_code", "registration_code", "rescue_code", "cylinder_code",
                "use_certificate_no", "next_inspection_due", "last_inspection_date", "last_maintenance_at")
WIDE_READ_ROLES = frozenset({"admin", "regulator", "dispatcher"})  # the 96333 centre must locate any unit


def unit_view():
    """A read-only selectable of the units (alias `units`), to join or select from."""
    return select(*(getattr(Equipment, name) for name in UNIT_COLUMNS)).subquery("units")


def visible_clause(actor, *, also=None):
    """The caller's units, as a clause on the registry's table (for the registry's own queries and listings);
    `also`: a select of further unit ids the caller may see (an inspector's agency links)."""
    if actor.role in WIDE_READ_ROLES:
        return true()
    own = false() if actor.org_id is None else or_(
        Equipment.user_org_id == actor.org_id, Equipment.maintenance_org_id == actor.org_id,
        Equipment.maker_org_id == actor.org_id)
    return own if also is None else or_(own, Equipment.id.in_(also))


def scope(actor, column, *, also=None):
    """Another domain's rows whose unit id (`column`) the caller may see; `also`, a select of further unit ids
    (an inspector's agency links), widens it."""
    if actor.role in WIDE_READ_ROLES:
        return true()
    visible = column.in_(select(Equipment.id).where(visible_clause(actor)))
    return or_(visible, column.in_(also)) if also is not None else visible


def unit_id_in(ids, *, negate: bool = False):
    """A filter on the registry's units from another domain's select of unit ids (has a terminal, online...)."""
    return Equipment.id.not_in(ids) if negate else Equipment.id.in_(ids)


def lock_unit(equipment_id: int) -> None:
    """Row-lock the unit for the caller's transaction (PostgreSQL; SQLite has one writer): serialises another
    domain's per-unit decisions, e.g. how many terminals a unit has."""
    db.session.execute(select(Equipment.id).where(Equipment.id == equipment_id).with_for_update())


def mirror_inspection_due(*, due) -> int:
    """equipment.next_inspection_due (what the public page reads) from `due`, another domain's select of
    (equipment_id, next_due) rows, in one UPDATE. Returns the units updated."""
    source = due.subquery("due")
    value = select(source.c.next_due).where(source.c.equipment_id == Equipment.id).scalar_subquery()
    stmt = update(Equipment).where(Equipment.id.in_(select(source.c.equipment_id))).values(next_inspection_due=value)
    count = db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount
    _audit("due_mirror", {"units": count})
    return count


def refresh_due_status(*, today: dt.date) -> dict:
    """The daily flip between in_service and overdue by due date (two indexed UPDATEs touching only the units
    whose status changes). Due-driven, so not a chain record (docs/trace.md); the audit trail has the counts."""
    overdue = (update(Equipment).where(Equipment.status == "in_service", Equipment.next_inspection_due < today)
               .values(status="overdue"))
    back = (update(Equipment).where(Equipment.status == "overdue",
                                    or_(Equipment.next_inspection_due.is_(None),
                                        Equipment.next_inspection_due >= today))
            .values(status="in_service"))
    counts = {"units_overdue": db.session.execute(overdue.execution_options(synchronize_session=False)).rowcount,
              "units_back": db.session.execute(back.execution_options(synchronize_session=False)).rowcount}
    if any(counts.values()):
        _audit("due_status", {"today": today.isoformat(), **counts})
    return counts


def _audit(action: str, changes: dict) -> None:
    """One audit row for a set-based change (the ORM hooks see only per-object flushes)."""
    actor = current_actor()
    db.session.execute(insert(AuditLog).values(
        at=utcnow(), actor_user_id=actor.user_id if actor else None,
        actor_name=actor.username if actor else "system", actor_org_id=actor.org_id if actor else None,
        actor_ip=actor.ip if actor else None, action=action[:16], entity="equipment", entity_id=None,
        changes=changes))
