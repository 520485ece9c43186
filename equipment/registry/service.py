"""Registry public functions: organisations, equipment, components, history, tags, public view.

Other domains call the registry only through this module.
"""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from equipment.core.actor import Actor
from equipment.core.db import atomic, get_or_404, paginate
from equipment.core.errors import Conflict, Forbidden, Invalid, NotFound
from equipment.core.geo import point
from equipment.extensions import db
from equipment.registry import history, identifiers, importer
from equipment.registry.models import Category, Component, Equipment, Organization
from equipment.registry.published import (STATUSES, WIDE_READ_ROLES, lock_unit,  # noqa: F401
                                          mirror_inspection_due, refresh_due_status, scope, unit_id_in,
                                          unit_view, visible_clause)
from equipment.registry.listing import MAX_PER_PAGE as LIST_MAX_PER_PAGE, SORTS as LIST_SORTS  # noqa: F401
from equipment.registry.listing import (districts_in_use, filter_clauses, iter_units, list_units,  # noqa: F401
                                        maintenance_orgs, map_points, units_brief)
from equipment.registry.units import (IDENTIFIERS, build_equipment, check_orgs, ids_of,  # noqa: F401
                                      resolve_category, validate_attributes, validate_identifiers)
from equipment.registry.tags import (active_tag, issue_tag, public_lookup, public_view,  # noqa: F401
                                     resolve_tag, revoke_tag, tags_for)
from equipment.web.i18n import TEXT
from equipment.registry.tags import tag_url

append_history = history.append
verify_history = history.verify


# --- organisations -------------------------------------------------------------------------------

@atomic
def create_organization(*, actor: Actor, kind: str, name: str, code: str, **fields) -> Organization:
    if not actor.is_global:
        raise Forbidden("Only regulators register organisations")
    try:
        code = identifiers.validate_credit_code(code)
    except identifiers.IdentifierError as err:
        raise Invalid("Invalid credit code", details={"code": [str(err), err.zh]}) from None
    if db.session.scalar(select(Organization.id).where(Organization.code == code)):
        raise Conflict("Organisation already registered", details={"code": ["already exists"]})
    org = Organization(kind=kind, name=name, code=code, **fields)
    db.session.add(org)
    db.session.flush()
    return org


def get_organization(org_id: int) -> Organization:
    return get_or_404(Organization, org_id, "No such organisation")


def organization_exists(org_id: int) -> bool:
    return db.session.get(Organization, org_id) is not None


def list_organizations(*, actor: Actor, kind: str | None = None, page: int = 1, per_page: int = 50) -> dict:
    stmt = select(Organization).order_by(Organization.id)
    if kind:
        stmt = stmt.where(Organization.kind == kind)
    if not actor.is_global and actor.role != "dispatcher":
        stmt = stmt.where(Organization.id == actor.org_id)
    return paginate(stmt, page=page, per_page=per_page)


# --- equipment -----------------------------------------------------------------------------------

def get_equipment(*, actor: Actor, equipment_id: int, also=None) -> Equipment:
    """Another organisation's unit answers 404, not 403: ids must not be probeable. `also`: a select of further
    unit ids the caller may see (an inspector's agency links)."""
    unit = db.session.scalar(select(Equipment).where(Equipment.id == equipment_id,
                                                     visible_clause(actor, also=also)))
    if unit is None:
        raise NotFound("No such equipment")
    return unit


def load_equipment(equipment_id: int) -> Equipment | None:
    """Unscoped, for machine callers (telemetry, jobs) that already hold a binding."""
    return db.session.get(Equipment, equipment_id)


def load_units(equipment_ids) -> list[Equipment]:
    """Unscoped, in id order, for machine callers (jobs) working through a batch of ids."""
    return list(db.session.scalars(select(Equipment).where(Equipment.id.in_(list(equipment_ids)))
                                   .order_by(Equipment.id)))


def find_by_cylinder_code(code: str) -> Equipment | None:
    """RFID filling tags carry the cylinder code itself (一瓶一码)."""
    return db.session.scalar(select(Equipment).where(Equipment.cylinder_code == code.strip().upper()))


def find_by_rescue_code(code: str) -> Equipment | None:
    return db.session.scalar(select(Equipment).where(Equipment.rescue_code == code))


def _may_register(actor: Actor, user_org_id: int) -> None:
    if actor.is_global or (actor.role == "owner" and actor.org_id == user_org_id):
        return
    raise Forbidden("You may not register equipment for this organisation")


def _unique_conflict(err: IntegrityError):
    text = str(err.orig).lower()
    field = next((k for k in IDENTIFIERS if k in text), "identifier")
    return Conflict("Identifier already registered", details={field: ["already registered"]})


@atomic
def create_equipment(*, actor: Actor, **data) -> Equipment:
    _may_register(actor, data["user_org_id"])
    components = data.pop("components", [])
    unit = build_equipment(data)
    db.session.add(unit)
    try:
        db.session.flush()
    except IntegrityError as err:
        raise _unique_conflict(err) from None
    for comp in components:
        db.session.add(Component(equipment_id=unit.id, **comp))
    history.append(equipment_id=unit.id, kind="registered",
                   data={"category": unit.category_code, "address": unit.address, "status": unit.status,
                         **ids_of(unit)})
    issue_tag(equipment_id=unit.id)
    return unit


REGULATED_STATUSES = {"suspended", "scrapped"}  # set by inspection results and regulators, not by owners


def may_change(actor: Actor, unit: Equipment) -> bool:
    return actor.is_global or (actor.role == "owner" and actor.org_id == unit.user_org_id)


may_manage_tags = may_change  # the unit page shows the tag actions to whoever may change the unit


def _may_change(actor: Actor, unit: Equipment, status: str | None = None) -> None:
    """Writes to a unit's record (details, components, history, tags): admins, regulators and its user
    unit, which keeps the unit's safety technical file by law; maintenance crews, inspectors and the
    dispatch desk write their own records (maintenance, inspections, incidents), not the unit's."""
    if actor.is_global:
        return
    if not may_change(actor, unit):
        raise Forbidden("You may not change this unit / 无权修改此设备的档案")
    if status is not None and status != unit.status and REGULATED_STATUSES & {status, unit.status}:
        # An owner lifting the suspension of a unit that failed its inspection would put it back in use.
        raise Forbidden("Suspension and scrapping follow inspections and regulators / 停用与报废由检验或监管确定",
                        details={"status": [unit.status]})


@atomic
def update_equipment(*, actor: Actor, equipment_id: int, **changes) -> Equipment:
    unit = get_equipment(actor=actor, equipment_id=equipment_id)
    _may_change(actor, unit, changes.get("status"))
    ids = validate_identifiers(changes)
    check_orgs(changes)
    if "attributes" in changes:
        merged = {**(unit.attributes or {}), **changes.pop("attributes")}
        unit.attributes = validate_attributes(unit.family, merged)
    if "location" in changes:
        loc = changes.pop("location")
        unit.location = point(loc["lat"], loc["lon"]) if loc else None
        history.append(equipment_id=unit.id, kind="relocated", data={"location": loc})
    for key, value in {**changes, **ids}.items():
        setattr(unit, key, value)
    try:
        db.session.flush()
    except IntegrityError as err:
        raise _unique_conflict(err) from None
    history.append(equipment_id=unit.id, kind="updated", data={k: str(v) for k, v in changes.items()})
    return unit


@atomic
def set_status(*, equipment_id: int, status: str, reason: str, kind: str | None = None) -> Equipment:
    """Used by inspections and others; records the change in the unit's history."""
    unit = get_or_404(Equipment, equipment_id, "No such equipment")
    if unit.status != status:
        old, unit.status = unit.status, status
        history.append(equipment_id=unit.id, kind=kind or "updated",
                       data={"status": [old, status], "reason": reason})
    return unit


def search_equipment(*, actor: Actor, q=None, category=None, status=None, district_code=None, org_id=None,
                     component_kind=None, component_maker=None, component_model=None,
                     page=1, per_page=50) -> dict:
    stmt = select(Equipment).where(visible_clause(actor)).order_by(Equipment.id)
    if q:
        q = q.strip().upper()
        stmt = stmt.where(or_(*(getattr(Equipment, k) == q for k in IDENTIFIERS)))
    if category:
        stmt = stmt.where(or_(Equipment.family == category, Equipment.category_code == category))
    if status:
        stmt = stmt.where(Equipment.status == status)
    if district_code:
        stmt = stmt.where(Equipment.district_code == district_code)
    if org_id:
        stmt = stmt.where(or_(Equipment.user_org_id == org_id, Equipment.maintenance_org_id == org_id,
                              Equipment.maker_org_id == org_id))
    if component_kind or component_maker or component_model:
        stmt = stmt.where(Equipment.id.in_(_component_filter(component_kind, component_maker, component_model)))
    return paginate(stmt, page=page, per_page=per_page)


def _component_filter(kind, maker, model):
    # Currently fitted components only: a recall targets what is in the car today.
    sub = select(Component.equipment_id).where(Component.removed_on.is_(None))
    if kind:
        sub = sub.where(Component.kind == kind)
    if maker:
        sub = sub.where(Component.maker == maker)
    if model:
        sub = sub.where(Component.model == model)
    return sub


# --- components ----------------------------------------------------------------------------------

@atomic
def add_component(*, actor: Actor, equipment_id: int, **data) -> Component:
    unit = get_equipment(actor=actor, equipment_id=equipment_id)
    _may_change(actor, unit)
    comp = Component(equipment_id=unit.id, **data)
    db.session.add(comp)
    db.session.flush()
    history.append(equipment_id=unit.id, kind="modified",
                   data={"component": {k: str(v) for k, v in data.items()}})
    return comp


def components_of(*, actor: Actor, equipment_id: int) -> list[Component]:
    get_equipment(actor=actor, equipment_id=equipment_id)
    return components_of_unit(equipment_id)


def components_of_unit(equipment_id: int) -> list[Component]:
    """Unscoped: see trace_of_unit."""
    stmt = select(Component).where(Component.equipment_id == equipment_id).order_by(Component.id)
    return list(db.session.scalars(stmt))


# --- history -------------------------------------------------------------------------------------

def trace_of(*, actor: Actor, equipment_id: int) -> dict:
    get_equipment(actor=actor, equipment_id=equipment_id)
    return trace_of_unit(equipment_id)


def trace_of_unit(equipment_id: int) -> dict:
    """For a caller that has already been allowed to see the unit (the dossier of an agency's inspector)."""
    problem = history.verify(equipment_id)
    return {"equipment_id": equipment_id, "verified": problem is None, "problem": problem,
            "items": history.events_of(equipment_id)}


@atomic
def record_history(*, actor: Actor, equipment_id: int, kind: str, data: dict) -> object:
    unit = get_equipment(actor=actor, equipment_id=equipment_id)
    _may_change(actor, unit)
    return history.append(equipment_id=equipment_id, kind=kind, data=data)


def list_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.code)))


# --- tags ----------------------------------------------------------------------------------------

@atomic
def reissue_tag(*, actor: Actor, equipment_id: int) -> object:
    unit = get_equipment(actor=actor, equipment_id=equipment_id)
    _may_change(actor, unit)
    return issue_tag(equipment_id=unit.id)


@atomic
def void_tag(*, actor: Actor, equipment_id: int, reason: str) -> object:
    unit = get_equipment(actor=actor, equipment_id=equipment_id)
    _may_change(actor, unit)
    return revoke_tag(equipment_id=unit.id, reason=reason)


def tag_of(*, actor: Actor, equipment_id: int):
    unit = get_equipment(actor=actor, equipment_id=equipment_id)
    tag = active_tag(unit.id)
    if tag is None:
        raise NotFound("This unit has no active tag")
    return tag


def label_items(*, actor: Actor, equipment_ids: list[int]) -> list[tuple[Equipment, object]]:
    units = db.session.scalars(select(Equipment).where(Equipment.id.in_(equipment_ids), visible_clause(actor))
                               .order_by(Equipment.id)).all()
    missing = sorted(set(equipment_ids) - {u.id for u in units})
    if missing:
        raise NotFound("Unknown equipment ids", details={"ids": [str(i) for i in missing[:20]]})
    tags = tags_for([u.id for u in units])
    return [(u, tags.get(u.id)) for u in units]


csv_cell = importer.csv_cell  # a spreadsheet cell that cannot run as a formula (for other domains' exports)


def import_registry(*, actor: Actor, rows: list[dict], dry_run: bool = False):
    if not actor.is_global:
        raise Forbidden("Only regulators import registries")
    if dry_run:
        return importer.validate_rows(rows)[0]
    return importer.import_rows(rows=rows)


def _label_code_line(unit) -> str:
    if unit.family == "elevator" and unit.rescue_code:
        return f"救援码 {unit.rescue_code}"
    return unit.device_code or unit.cylinder_code or unit.registration_code or ""


def label_sheet(*, actor: Actor, equipment_ids: list[int], **layout) -> bytes:
    """A printable A4 sheet of tag labels; layout errors come back as field errors."""
    from equipment.registry import labels  # late: reportlab is heavy, and only label sheets need it
    items = [labels.Label(url=tag_url(tag.tag), category=TEXT.get(f"family.{unit.family}", (unit.family,))[0],
                          code_line=_label_code_line(unit), family=unit.family,
                          registration_code=unit.registration_code, address=unit.address)
             for unit, tag in label_items(actor=actor, equipment_ids=equipment_ids) if tag is not None]
    try:
        return labels.label_sheet_pdf(items, **layout)
    except ValueError as err:
        raise Invalid("Labels do not fit the sheet", details={"layout": [str(err)]}) from None
