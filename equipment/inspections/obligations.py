"""Next-due rows per unit and obligation: per-unit sync after a result, set-based refresh and rule recompute."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, literal_column, or_, select, true, update

from equipment.core.db import is_sqlite
from equipment.extensions import db
from equipment.inspections import rules as rules_mod
from equipment.inspections import schedule
from equipment.inspections.models import Inspection, Obligation
from equipment.registry import service as registry

BLOCKED = "blocked"  # no due date: the unit must not be used until something changes (grade 5, failed)
FAMILY_OF_KEY = {"elevator.inspection": "elevator", "pressure_vessel.fixed.inspection": "pressure_vessel",
                 "pressure_vessel.mobile.inspection": "pressure_vessel", "gas_cylinder.inspection": "gas_cylinder",
                 "gas_cylinder.lpg": "gas_cylinder"}


def today_local() -> dt.date:
    return dt.datetime.now(ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))).date()


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# --- facts of one unit -----------------------------------------------------------------------------

def _anchor(unit) -> dt.date:
    attrs = unit.attributes or {}
    for key in ("install_date", "first_use_date", "manufacture_date"):
        if attrs.get(key):
            return _date(attrs[key])
    created = unit.created_at or dt.datetime.now(dt.timezone.utc)
    return created.astimezone(ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))).date()


def last_periodic(equipment_id: int) -> Inspection | None:
    stmt = (select(Inspection).where(Inspection.equipment_id == equipment_id)
            .order_by(Inspection.date.desc(), Inspection.id.desc()).limit(1))
    return db.session.scalar(stmt)


def _variant(unit, last: Inspection | None) -> str | None:
    attrs = unit.attributes or {}
    if unit.family == "gas_cylinder":
        return attrs.get("gas_class") or "general"
    if unit.family == "pressure_vessel" and last is not None and last.safety_grade:
        if last.safety_grade == 3 and last.grade3_months:
            return f"3:{last.grade3_months}"
        return str(last.safety_grade)
    if unit.family == "elevator" and attrs.get("self_testing"):
        return "self_testing"
    return None


def _fill_inspection_row(ob: Obligation, unit, last: Inspection | None) -> None:
    attrs = unit.attributes or {}
    ob.rule_key = schedule.rule_key(unit.family, unit.category_code, attrs.get("vessel_type"),
                                    attrs.get("gas_class"))
    ob.anchor = _anchor(unit)
    ob.variant = _variant(unit, last)
    data = dict(ob.data or {})
    data["manufactured"] = attrs.get("manufacture_date")
    data["design_life_years"] = attrs.get("design_life_years")
    if last is not None:
        ob.last_done = last.date
        data["passed"] = last.passed
        if last.safety_grade != 4:
            data.pop("grade4_since", None)
    elif unit.last_inspection_date:  # imported history without an inspection record
        ob.last_done, data["passed"] = unit.last_inspection_date, True
    ob.data = data


def facts_of(ob: Obligation) -> schedule.Facts:
    """Everything the schedule needs is on the obligation row, so a rule edit can recompute without joins."""
    data = ob.data or {}
    variant = ob.variant or ""
    family = FAMILY_OF_KEY.get(ob.rule_key or "", "")
    grade, grade3 = None, None
    if family == "pressure_vessel" and variant:
        grade = int(variant.split(":")[0])
        grade3 = int(variant.split(":")[1]) if ":" in variant else None
    return schedule.Facts(
        family=family, vessel_type="mobile" if ob.rule_key == "pressure_vessel.mobile.inspection" else "fixed",
        gas_class=variant if family == "gas_cylinder" else None, anchor=ob.anchor,
        manufactured=_date(data.get("manufactured")), last_date=ob.last_done,
        last_passed=data.get("passed", True), grade=grade, grade3_months=grade3,
        grade4_since=_date(data.get("grade4_since")), self_testing=variant == "self_testing",
        design_life_years=data.get("design_life_years"))


def apply_due(ob: Obligation, rules: dict, version: int, today: dt.date) -> schedule.Due | None:
    try:
        due = schedule.inspection_due(rules, facts_of(ob))
    except (ValueError, OverflowError):  # a registry date near year 1 or 9999: no due date rather than a crash
        due = schedule.Due(None, reason="date_out_of_range")
    if due is None:
        return None
    ob.next_due, ob.life_end, ob.allowed, ob.rule_version = due.next_due, due.life_end, due.allowed, version
    ob.data = {**(ob.data or {}), **due.data, "reason": due.reason}
    soon = rules["reminders"]["due_soon_days"]
    ob.status = schedule.obligation_status(due.next_due, today, soon) or BLOCKED
    return due


def _get_or_new(equipment_id: int, kind: str, version: int) -> Obligation:
    ob = db.session.scalar(select(Obligation).where(Obligation.equipment_id == equipment_id,
                                                    Obligation.kind == kind))
    if ob is None:
        ob = Obligation(equipment_id=equipment_id, kind=kind, data={}, status="ok", rule_version=version)
        db.session.add(ob)
    return ob


def sync_inspection(unit, *, today: dt.date | None = None, override_due: dt.date | None = None):
    """Recompute one unit's inspection obligation and mirror its due date on the equipment row."""
    attrs = unit.attributes or {}
    if schedule.rule_key(unit.family, unit.category_code, attrs.get("vessel_type"), attrs.get("gas_class")) is None:
        return None
    version, rules = rules_mod.current()
    today = today or today_local()
    last = last_periodic(unit.id)
    ob = _get_or_new(unit.id, "inspection", version)
    _fill_inspection_row(ob, unit, last)
    due = apply_due(ob, rules, version, today)
    if override_due is not None:  # a failed elevator: re-inspection due by its rectification deadline
        ob.next_due, ob.allowed = override_due, False
        ob.status = schedule.obligation_status(override_due, today, rules["reminders"]["due_soon_days"])
    unit.next_inspection_due = ob.next_due
    return due


def sync_maintenance(unit, *, last_done: dt.date | None, today: dt.date | None = None):
    if unit.family != "elevator":
        return None
    version, rules = rules_mod.current()
    ob = _get_or_new(unit.id, "maintenance", version)
    ob.rule_key, ob.rule_version, ob.anchor = "elevator.maintenance", version, _anchor(unit)
    ob.last_done = last_done or ob.last_done
    ob.responsible_org_id = unit.maintenance_org_id
    ob.next_due = schedule.elevator_maintenance_due(rules, ob.last_done, ob.anchor)
    ob.status = schedule.obligation_status(ob.next_due, today or today_local(),
                                           rules["reminders"]["due_soon_days"]) or BLOCKED
    return ob


def ensure_obligations(*, batch: int = 2000) -> int:
    """Create the rows of units registered since the last run (new units only, bounded per run)."""
    u = registry.unit_view()
    missing = (select(u.c.id).outerjoin(Obligation, and_(Obligation.equipment_id == u.c.id,
                                                         Obligation.kind == "inspection"))
               .where(Obligation.id.is_(None), u.c.family.in_(("elevator", "pressure_vessel", "gas_cylinder")))
               .order_by(u.c.id).limit(batch))
    units = registry.load_units(db.session.scalars(missing))
    today = today_local()
    for unit in units:
        sync_inspection(unit, today=today)
        sync_maintenance(unit, last_done=_date(unit.last_maintenance_at), today=today)
    db.session.flush()
    return len(units)


# --- set-based SQL -----------------------------------------------------------------------------------

def sql_add_months(expr: str, months: int):
    """Calendar months with month-end clamping, like schedule.add_months, in each backend's SQL."""
    months = int(months)
    if is_sqlite():
        day = f"(CAST(strftime('%d', {expr}) AS INTEGER) - 1)"
        return literal_column(
            f"min(date({expr}, 'start of month', '{months:+d} months', '+' || {day} || ' days'), "
            f"date({expr}, 'start of month', '{months + 1:+d} months', '-1 day'))")
    return literal_column(f"CAST(({expr}) + interval '{months} months' AS date)")


def sql_add_days(expr: str, days: int):
    days = int(days)
    if is_sqlite():
        return literal_column(f"date({expr}, '{days:+d} days')")
    return literal_column(f"(({expr}) + {days})")


def _interval_update(key: str, version: int, months: int, *where):
    base = "COALESCE(last_done, anchor)"
    stmt = (update(Obligation).where(Obligation.rule_key == key, Obligation.allowed.is_(True), *where)
            .values(next_due=sql_add_months(base, months), rule_version=version))
    db.session.execute(stmt.execution_options(synchronize_session=False))


def _python_recompute(key: str, rules: dict, version: int, *where) -> None:
    """Rules with state (LPG life, grade-4 totals, young elevators): batched by id, never the whole table."""
    today, last_id = today_local(), 0
    while True:
        rows = list(db.session.scalars(select(Obligation).where(Obligation.rule_key == key, Obligation.id > last_id,
                                                                *where).order_by(Obligation.id).limit(1000)))
        if not rows:
            return
        for ob in rows:
            apply_due(ob, rules, version, today)
        last_id = rows[-1].id
        db.session.flush()


def recompute_rule(key: str, rules: dict, version: int) -> None:
    """A rule edit: one UPDATE per interval variant; the stateful rules go through the pure functions."""
    rule = rules[key]
    variant = Obligation.variant
    if key == "elevator.inspection":
        young = (rule.get("young_self_testing") or {}).get("enabled")
        plain = or_(variant.is_(None), variant != "self_testing") if young else true()
        _interval_update(key, version, rule["interval_months"], plain)
        if young:
            _python_recompute(key, rules, version, variant == "self_testing")
    elif key == "elevator.maintenance":
        stmt = (update(Obligation).where(Obligation.rule_key == key)
                .values(next_due=sql_add_days("COALESCE(last_done, anchor)", rule["interval_days"]),
                        rule_version=version))
        db.session.execute(stmt.execution_options(synchronize_session=False))
    elif key == "gas_cylinder.inspection":
        for gas_class, months in rule["class_interval_months"].items():
            _interval_update(key, version, months, variant == gas_class)
    elif key in ("pressure_vessel.fixed.inspection", "pressure_vessel.mobile.inspection"):
        first = rule.get("first_within_months", rule.get("first_after_months"))
        _interval_update(key, version, first, Obligation.last_done.is_(None))
        for grade, months in rule["grade_interval_months"].items():
            if grade != "4":
                _interval_update(key, version, months, variant == grade, Obligation.last_done.isnot(None))
        _python_recompute(key, rules, version, Obligation.last_done.isnot(None),
                          or_(variant == "4", variant.like("3:%"), Obligation.allowed.is_(False)))
    elif key == "gas_cylinder.lpg":
        _python_recompute(key, rules, version)
    elif key == "reminders":
        pass  # offsets apply from the next reminder run; due dates do not change
    else:
        return
    mirror_due_dates(key)
    refresh_statuses(today=today_local(), due_soon_days=rules["reminders"]["due_soon_days"])


def mirror_due_dates(key: str) -> None:
    """equipment.next_inspection_due is what the public page reads: copy it from the obligations, set-based."""
    if not key.endswith("inspection") and key != "gas_cylinder.lpg":
        return
    governed = select(Obligation.equipment_id).where(Obligation.rule_key == key)
    registry.mirror_inspection_due(due=select(Obligation.equipment_id, Obligation.next_due).where(
        Obligation.kind == "inspection", Obligation.equipment_id.in_(governed)))


def refresh_statuses(*, today: dt.date, due_soon_days: int) -> dict:
    """The daily refresh: five UPDATEs over indexed ranges, touching only rows whose status changes."""
    soon = schedule.add_days(today, due_soon_days)
    ob, counts = Obligation, {}
    steps = {
        "overdue": (ob.status.in_(("ok", "due_soon")), ob.next_due < today),
        "due_soon": (ob.status.in_(("ok", "overdue")), ob.next_due >= today, ob.next_due <= soon),
        "ok": (ob.status.in_(("due_soon", "overdue")), ob.next_due > soon),
    }
    for status, where in steps.items():
        result = db.session.execute(update(ob).where(*where).values(status=status)
                                    .execution_options(synchronize_session=False))
        counts[status] = result.rowcount
    counts.update(registry.refresh_due_status(today=today))  # the registry owns the units' status
    return counts


def obligations_of(equipment_id: int) -> list[Obligation]:
    stmt = select(Obligation).where(Obligation.equipment_id == equipment_id).order_by(Obligation.kind)
    return list(db.session.scalars(stmt))

