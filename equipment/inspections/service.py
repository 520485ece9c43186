"""Inspections public functions: results, who may inspect what, agencies, obligations.

How an inspector reaches a unit (registry visibility knows only user/maintenance/maker orgs):
- the unit's inspection obligation names an inspection agency (`responsible_org_id`, set by the user unit or a
  regulator): every inspector of that agency may see and record results for the unit;
- an open spot-check assignment names the inspector (and their agency): same rights for that unit.
Regulators and admins may record for any unit.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from equipment.core import rulesets
from equipment.core.actor import Actor
from equipment.core.db import atomic, get_or_404, paginate
from equipment.core.errors import Conflict, Forbidden, Invalid, NotFound
from equipment.extensions import db
from equipment.inspections import obligations, reminders, schedule
from equipment.inspections import rules as rules_mod
from equipment.inspections.maintenance import list_records as list_maintenance  # noqa: F401  (for other domains)
from equipment.inspections.models import Defect, Inspection, Obligation, RuleSet, SpotCheckAssignment
from equipment.registry import service as registry

INSPECTION_KINDS = ("periodic", "recheck", "spot", "acceptance")
INSPECTOR_ROLES = ("inspector", "regulator", "admin")


# --- who may see / inspect a unit -----------------------------------------------------------------

def agency_unit_ids(actor: Actor):
    """Subquery of the units linked to the actor (inspector) through an agency or a spot-check assignment."""
    by_agency = select(Obligation.equipment_id).where(Obligation.kind == "inspection",
                                                      Obligation.responsible_org_id == actor.org_id)
    by_draw = select(SpotCheckAssignment.equipment_id).where(
        SpotCheckAssignment.status == "open",
        or_(SpotCheckAssignment.inspector_user_id == actor.user_id,
            SpotCheckAssignment.agency_org_id == actor.org_id))
    return by_agency.union(by_draw)


def _links(actor: Actor):
    """The agency/spot-check links that widen an inspector's view, or None."""
    return agency_unit_ids(actor) if actor.role == "inspector" and actor.org_id is not None else None


def linked_units(actor: Actor):
    """A select of the unit ids an inspector sees through agency/spot-check links (None for other roles):
    another domain's per-unit lists take it as `also=` so the dossier's tabs see what its header sees."""
    return _links(actor)


def visible_clause(actor: Actor):
    """Registry visibility (a clause on the registry's units), widened for inspectors by their agency links."""
    return registry.visible_clause(actor, also=_links(actor))


def scope(actor: Actor, column):
    """This domain's rows whose unit (`column`) the caller may see, agency links included."""
    return registry.scope(actor, column, also=_links(actor))


def get_unit(*, actor: Actor, equipment_id: int):
    return registry.get_equipment(actor=actor, equipment_id=equipment_id, also=_links(actor))


def may_inspect(actor: Actor, equipment_id: int) -> bool:
    if actor.is_global:
        return True
    if actor.role != "inspector" or actor.org_id is None:
        return False
    links = agency_unit_ids(actor).subquery()
    return db.session.scalar(select(links.c.equipment_id).where(links.c.equipment_id == equipment_id)) is not None


# --- results -----------------------------------------------------------------------------------------

def _check_conclusion(unit, data: dict) -> bool:
    codes = schedule.CONCLUSIONS.get(unit.family)
    if codes is None:
        raise Invalid("No conclusions for this category", details={"equipment_id": ["category not covered"]})
    if data["conclusion"] not in codes:
        raise Invalid("Invalid conclusion", details={"conclusion": [f"one of {', '.join(codes)}"]})
    if unit.family == "pressure_vessel" and not data.get("safety_grade"):
        raise Invalid("Safety grade required", details={"safety_grade": ["required for pressure vessels (1-5)"]})
    return schedule.conclusion_passed(unit.family, data["conclusion"])


def _check_follows(unit, data: dict) -> None:
    recheck = data["conclusion"] in schedule.RECHECK_CODES or data.get("kind") == "recheck"
    follows_id = data.get("follows_id")
    if recheck and not follows_id:
        raise Invalid("Re-inspection must follow an inspection", details={"follows_id": ["required for a recheck"]})
    if follows_id:
        prior = db.session.get(Inspection, follows_id)
        if prior is None or prior.equipment_id != unit.id:
            raise Invalid("Unknown inspection", details={"follows_id": ["no such inspection of this unit"]})
        if prior.passed:
            raise Invalid("Nothing to re-inspect", details={"follows_id": ["the inspection it follows passed"]})


def _check_date(value: dt.date) -> None:
    if value > obligations.today_local() + dt.timedelta(days=1):
        raise Invalid("Inspection date in the future", details={"date": ["must not be in the future"]})


def _apply_status(unit, passed: bool, due, conclusion: str) -> None:
    if unit.family == "gas_cylinder" and conclusion == "scrap":
        registry.set_status(equipment_id=unit.id, status="scrapped", reason="inspection: scrap", kind="scrapped")
    elif not passed or (due is not None and not due.allowed):
        reason = f"inspection: {conclusion}" + (f" ({due.reason})" if due is not None and due.reason else "")
        registry.set_status(equipment_id=unit.id, status="suspended", reason=reason, kind="suspended")
    elif unit.status == "suspended":
        registry.set_status(equipment_id=unit.id, status="in_service", reason=f"inspection: {conclusion}",
                            kind="reinstated")
    elif unit.status in ("overdue", "registered"):
        registry.set_status(equipment_id=unit.id, status="in_service", reason=f"inspection: {conclusion}")


@atomic
def record_inspection(*, actor: Actor, equipment_id: int, **data) -> Inspection:
    if actor.role not in INSPECTOR_ROLES:
        raise Forbidden("Only inspectors record inspections")
    unit = get_unit(actor=actor, equipment_id=equipment_id)
    if not may_inspect(actor, unit.id):
        raise Forbidden("You are not assigned to this unit")
    if unit.status == "scrapped":
        raise Invalid("Unit scrapped", details={"equipment_id": ["this unit is scrapped"]})
    passed = _check_conclusion(unit, data)
    _check_follows(unit, data)
    _check_date(data["date"])
    defects = data.pop("defects", [])
    insp = Inspection(equipment_id=unit.id, kind=data.get("kind", "periodic"), date=data["date"],
                      conclusion=data["conclusion"], passed=passed, safety_grade=data.get("safety_grade"),
                      grade3_months=data.get("grade3_months"), report_no=data.get("report_no"),
                      follows_id=data.get("follows_id"), spot_assignment_id=data.get("spot_assignment_id"),
                      inspector_user_id=actor.user_id, agency_org_id=actor.org_id, items=data.get("items") or [],
                      notes=data.get("notes"))
    db.session.add(insp)
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict("Report number already used", details={"report_no": ["already exists"]}) from None
    for item in defects:
        db.session.add(Defect(inspection_id=insp.id, equipment_id=unit.id, **item))
    _carry_grade4(unit.id, insp)
    deadlines = [d["deadline"] for d in defects if d.get("deadline")]
    override = (max(deadlines) if deadlines else insp.date) if not passed and unit.family == "elevator" else None
    unit.last_inspection_date, unit.last_inspection_conclusion = insp.date, insp.conclusion
    due = obligations.sync_inspection(unit, override_due=override)
    insp.next_due = unit.next_inspection_due
    registry.append_history(equipment_id=unit.id, kind="inspected", data={
        "inspection_id": insp.id, "kind": insp.kind, "date": insp.date.isoformat(), "conclusion": insp.conclusion,
        "safety_grade": insp.safety_grade, "report_no": insp.report_no, "next_due": insp.next_due,
        "defects": len(defects)})
    _apply_status(unit, passed, due, insp.conclusion)
    _close_assignment(unit.id, actor, data.get("spot_assignment_id"))
    return insp


def _carry_grade4(equipment_id: int, insp: Inspection) -> None:
    """Grade 4 counts its monitored period from the first of a run of grade-4 results."""
    ob = db.session.scalar(select(Obligation).where(Obligation.equipment_id == equipment_id,
                                                    Obligation.kind == "inspection"))
    if ob is None:
        return
    data = dict(ob.data or {})
    if insp.safety_grade == 4 and not data.get("grade4_since"):
        data["grade4_since"] = insp.date.isoformat()
    elif insp.safety_grade != 4:
        data.pop("grade4_since", None)
    ob.data = data


def _close_assignment(equipment_id: int, actor: Actor, assignment_id: int | None) -> None:
    stmt = select(SpotCheckAssignment).where(SpotCheckAssignment.equipment_id == equipment_id,
                                             SpotCheckAssignment.status == "open")
    if assignment_id:
        stmt = stmt.where(SpotCheckAssignment.id == assignment_id)
    else:
        stmt = stmt.where(SpotCheckAssignment.inspector_user_id == actor.user_id)
    for row in db.session.scalars(stmt):
        row.status = "done"


def get_inspection(*, actor: Actor, inspection_id: int) -> Inspection:
    insp = get_or_404(Inspection, inspection_id, "No such inspection")
    try:
        get_unit(actor=actor, equipment_id=insp.equipment_id)
    except NotFound:
        raise NotFound("No such inspection") from None  # outside the caller's scope: exactly like a missing id
    return insp


def defects_of(inspection_id: int) -> list[Defect]:
    return list(db.session.scalars(select(Defect).where(Defect.inspection_id == inspection_id).order_by(Defect.id)))


def list_inspections(*, actor: Actor, equipment_id: int | None = None, page: int = 1, per_page: int = 50) -> dict:
    stmt = (select(Inspection).where(scope(actor, Inspection.equipment_id))
            .order_by(Inspection.date.desc(), Inspection.id.desc()))
    if equipment_id:
        stmt = stmt.where(Inspection.equipment_id == equipment_id)
    return paginate(stmt, page=page, per_page=per_page)


# --- obligations -------------------------------------------------------------------------------------

@atomic
def assign_agency(*, actor: Actor, equipment_id: int, agency_org_id: int | None) -> Obligation:
    """The user unit (or a regulator) names the inspection agency responsible for a unit."""
    unit = registry.get_equipment(actor=actor, equipment_id=equipment_id)
    if not (actor.is_global or (actor.role == "owner" and actor.org_id == unit.user_org_id)):
        raise Forbidden("Only the user unit or a regulator names the inspection agency")
    if agency_org_id is not None and registry.get_organization(agency_org_id).kind != "inspection_agency":
        raise Invalid("Not an inspection agency", details={"agency_org_id": ["must be an inspection_agency"]})
    obligations.sync_inspection(unit)
    ob = db.session.scalar(select(Obligation).where(Obligation.equipment_id == unit.id,
                                                    Obligation.kind == "inspection"))
    if ob is None:
        raise Invalid("No inspection rule for this category", details={"equipment_id": ["no rule"]})
    ob.responsible_org_id = agency_org_id
    return ob


@atomic
def sync_unit(*, equipment_id: int) -> list[Obligation]:
    """(Re)compute one unit's obligations from its record, e.g. after an import or attribute change."""
    unit = registry.load_equipment(equipment_id)
    if unit is None:
        raise NotFound("No such equipment")
    obligations.sync_inspection(unit)
    last = unit.last_maintenance_at
    obligations.sync_maintenance(unit, last_done=last.date() if last else None)
    return obligations.obligations_of(unit.id)


def obligations_for(*, actor: Actor, equipment_id: int) -> list[Obligation]:
    get_unit(actor=actor, equipment_id=equipment_id)
    return obligations.obligations_of(equipment_id)


obligations_of_unit = obligations.obligations_of  # for a caller that already holds the unit (get_unit)


def open_assignments(*, actor: Actor, limit: int = 50) -> list[SpotCheckAssignment]:
    """The calling inspector's open spot-check assignments (their home page's work)."""
    stmt = (select(SpotCheckAssignment).where(SpotCheckAssignment.status == "open",
                                              or_(SpotCheckAssignment.inspector_user_id == actor.user_id,
                                                  SpotCheckAssignment.agency_org_id == actor.org_id))
            .order_by(SpotCheckAssignment.id).limit(limit))
    return list(db.session.scalars(stmt))


def list_obligations(*, actor: Actor, status: str | None = None, kind: str | None = None,
                     page: int = 1, per_page: int = 50) -> dict:
    stmt = (select(Obligation).where(scope(actor, Obligation.equipment_id))
            .order_by(Obligation.next_due, Obligation.id))
    if status:
        stmt = stmt.where(Obligation.status == status)
    if kind:
        stmt = stmt.where(Obligation.kind == kind)
    return paginate(stmt, page=page, per_page=per_page)


# --- the rules table: a new version, then the due dates it governs are recomputed --------------------

@atomic
def load_defaults(*, actor: Actor, path: str | None = None, note: str | None = None):
    """CLI `rules load`: store the file as a new version when it differs from the newest one."""
    rules = json.loads(Path(path).read_text(encoding="utf-8")) if path else rules_mod.default_rules()
    rules_mod.check_shape(rules)
    version, existing = rules_mod.current()
    if version and existing == rules:
        return None
    row = rules_mod.new_version(rules, note=note or f"loaded from {path or 'rules.json'}", by=actor.username)
    _recompute_changed_keys(rules, existing)
    return row


@atomic
def set_rule(*, actor: Actor, key: str, value, note: str | None = None):
    """Admin edit of one entry: a new version, then the due dates governed by it are recomputed."""
    if actor.role != "admin":
        raise Forbidden("Only admins edit the rules table")
    version, rules = rules_mod.current()
    if key not in rules or key == "_comment":
        raise Invalid("Unknown rule", details={"key": [f"unknown rule {key!r}"]})
    rules_mod.check_value(key, rules[key], value)
    _check_channels(key, value)
    updated = copy.deepcopy(rules)
    updated[key] = value
    row = rules_mod.new_version(updated, note=note or f"edit {key}", by=actor.username)
    obligations.recompute_rule(key, updated, row.version)
    return row


REMINDER_CHANNELS = tuple(reminders.CHANNELS)


def _check_channels(key: str, value) -> None:
    """A reminder channel with no sender would drop every reminder meant for it."""
    unknown = sorted(set(value.get("channels", ())) - set(REMINDER_CHANNELS)) if key == "reminders" else []
    if unknown:
        raise Invalid("Invalid rule", details={f"{key}.channels": [f"one of {', '.join(REMINDER_CHANNELS)}"]})


def rules_in_force() -> tuple[int, dict]:
    """(version, rules) in rules.json's order of entries and fields."""
    version, rules = rules_mod.current()
    return version, rules_mod.in_shipped_order(rules)


def rule_history(*, page: int = 1, per_page: int = 20) -> dict:
    """Versions newest first, each with the rules it replaced (none before the shipped defaults)."""
    return rulesets.history(RuleSet, page=page, per_page=per_page)


def _recompute_changed_keys(new: dict, old: dict) -> None:
    version = rules_mod.current()[0]
    for key in new:
        if key != "_comment" and new.get(key) != old.get(key):
            obligations.recompute_rule(key, new, version)


# --- the public scan page's inspection facts --------------------------------------------------------------

def public_facts(unit) -> dict:
    """For the public scan page: who inspects this unit, and a cylinder's design life (with a warning once it
    has passed). Organisation names only: no person."""
    facts, warnings = [], []
    last = db.session.scalar(select(Inspection.agency_org_id).where(Inspection.equipment_id == unit.id,
                                                                    Inspection.agency_org_id.isnot(None))
                             .order_by(Inspection.date.desc(), Inspection.id.desc()).limit(1))
    ob = db.session.scalar(select(Obligation).where(Obligation.equipment_id == unit.id,
                                                    Obligation.kind == "inspection"))
    agency_id = last or (ob.responsible_org_id if ob is not None else None)
    if agency_id is not None:
        facts.append(("label.inspection_agency", registry.get_organization(agency_id).name))
    if unit.family == "gas_cylinder" and ob is not None and ob.life_end is not None:
        facts.append(("label.life_end", ob.life_end.isoformat()))
        if schedule.past_life(ob.life_end, obligations.today_local()):
            warnings.append("warning.past_life")
    return {"facts": facts, "warnings": warnings}
