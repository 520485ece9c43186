"""Due-date arithmetic for periodic obligations (DOMAIN.md §3): pure functions of the rules document.

Conventions (shared with the SQL refresh, the public page and the filling check):
- a due date is the last day on which the obligation is still in time: overdue when today > next_due;
- a life end is the first day the unit is past its life: past life when today >= life_end;
- months are calendar months; a day that does not exist in the target month clamps to its last day
  (2023-01-31 + 1 month = 2023-02-28, 2024-02-29 + 12 months = 2025-02-28).
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

OK, DUE_SOON, OVERDUE = "ok", "due_soon", "overdue"


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: dt.date, years: int) -> dt.date:
    return add_months(day, 12 * years)


def add_days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


def obligation_status(next_due: dt.date | None, today: dt.date, due_soon_days: int) -> str | None:
    if next_due is None:
        return None
    if next_due < today:
        return OVERDUE
    if next_due <= add_days(today, due_soon_days):
        return DUE_SOON
    return OK


@dataclass(frozen=True)
class Facts:
    """What the schedule needs to know about one unit (built from the registry row and its last inspection)."""
    family: str
    category_code: str = ""
    vessel_type: str | None = None  # fixed / mobile
    gas_class: str | None = None  # corrosive / general / inert / lpg
    anchor: dt.date | None = None  # first use (vessels), manufacture (cylinders), commissioning (elevators)
    manufactured: dt.date | None = None
    last_date: dt.date | None = None  # last accepted periodic inspection
    last_passed: bool = True
    grade: int | None = None  # vessel safety grade 1-5 from the last inspection
    grade3_months: int | None = None  # the inspector's interval for a grade-3 vessel (3-6 years)
    grade4_since: dt.date | None = None  # first inspection of the current run of grade-4 results
    self_testing: bool = False
    design_life_years: int | None = None


@dataclass(frozen=True)
class Due:
    next_due: dt.date | None
    allowed: bool = True  # False: the unit must not be used (grade 5, monitored period used up)
    reason: str | None = None
    life_end: dt.date | None = None
    data: dict = field(default_factory=dict)  # carried to the next computation (grade4_since)


def rule_key(family: str, category_code: str = "", vessel_type: str | None = None,
             gas_class: str | None = None) -> str | None:
    """Which entry of the rules document governs a unit's periodic inspection (None: no rule yet)."""
    if family == "elevator":
        return "elevator.inspection"
    if family == "pressure_vessel":
        mobile = vessel_type == "mobile" or category_code.startswith("22")
        return "pressure_vessel.mobile.inspection" if mobile else "pressure_vessel.fixed.inspection"
    if family == "gas_cylinder":
        return "gas_cylinder.lpg" if gas_class == "lpg" else "gas_cylinder.inspection"
    return None


def inspection_due(rules: dict, facts: Facts) -> Due | None:
    key = rule_key(facts.family, facts.category_code, facts.vessel_type, facts.gas_class)
    if key is None:
        return None
    return _BY_KEY[key](rules[key], facts)


def _elevator(rule: dict, facts: Facts) -> Due:
    base = facts.last_date or facts.anchor
    if base is None:
        return Due(None, reason="no_anchor_date")
    months = rule["interval_months"]
    young = rule.get("young_self_testing") or {}
    commissioned = facts.anchor or facts.manufactured
    if (young.get("enabled") and facts.self_testing and commissioned
            and base < add_years(commissioned, young["max_age_years"])):
        months = young["interval_months"]
    return Due(add_months(base, months))


def elevator_maintenance_due(rules: dict, last_done: dt.date | None, anchor: dt.date | None = None) -> dt.date | None:
    """Maintenance at least every N days (TSG T5002): the next visit is due N days after the last one."""
    base = last_done or anchor
    return add_days(base, rules["elevator.maintenance"]["interval_days"]) if base else None


def _grade_interval(rule: dict, grade: int, grade3_months: int | None) -> int | None:
    months = rule["grade_interval_months"].get(str(grade))
    if grade == 3 and grade3_months and "grade3_range_months" in rule:
        low, high = rule["grade3_range_months"]
        months = max(low, min(high, grade3_months))
    return months


def _fixed_vessel(rule: dict, facts: Facts) -> Due:
    if facts.last_date is None:
        if facts.anchor is None:
            return Due(None, reason="no_anchor_date")
        return Due(add_months(facts.anchor, rule["first_within_months"]))
    grade = facts.grade
    if grade in rule["not_allowed_grades"] or not facts.last_passed:
        return Due(None, allowed=False, reason=f"grade_{grade}" if grade else "failed")
    if grade == 4:
        since = facts.grade4_since or facts.last_date
        limit = add_months(since, rule["grade4_max_total_months"])
        if facts.last_date >= limit:
            return Due(None, allowed=False, reason="grade_4_limit", data={"grade4_since": since.isoformat()})
        due = min(add_months(facts.last_date, rule["grade_interval_months"]["4"]), limit)
        return Due(due, data={"grade4_since": since.isoformat()})
    months = _grade_interval(rule, grade or 1, facts.grade3_months)
    return Due(add_months(facts.last_date, months))


def _mobile_vessel(rule: dict, facts: Facts) -> Due:
    if facts.last_date is None:
        if facts.anchor is None:
            return Due(None, reason="no_anchor_date")
        return Due(add_months(facts.anchor, rule["first_after_months"]))
    grade = facts.grade
    if grade in rule["not_allowed_grades"] or not facts.last_passed:
        return Due(None, allowed=False, reason=f"grade_{grade}" if grade else "failed")
    return Due(add_months(facts.last_date, _grade_interval(rule, grade or 1, None)))


def _life_end(facts: Facts) -> dt.date | None:
    made = facts.manufactured or facts.anchor
    if made and facts.design_life_years:
        return add_years(made, facts.design_life_years)
    return None


def _cylinder(rule: dict, facts: Facts) -> Due:
    base = facts.last_date or facts.manufactured or facts.anchor
    if base is None:
        return Due(None, reason="no_anchor_date")
    months = rule["class_interval_months"].get(facts.gas_class or "general",
                                               rule["class_interval_months"]["general"])
    if facts.last_date and not facts.last_passed:
        return Due(None, allowed=False, reason="failed", life_end=_life_end(facts))
    return Due(add_months(base, months), life_end=_life_end(facts))


def lpg_life_end(rule: dict, manufactured: dt.date, last_pass: dt.date | None) -> dt.date:
    """GB 5842-2006: design life 8 years; a pass near or after its end extends it by 4, never beyond 12."""
    end = add_years(manufactured, rule["design_life_years"])
    window_start = add_months(end, -rule.get("extension_window_months", 0))
    if last_pass is not None and last_pass >= window_start:
        extended = add_years(end, rule["extension_years"])
        end = min(extended, add_years(manufactured, rule["max_life_years"]))
    return end


def _lpg(rule: dict, facts: Facts) -> Due:
    made = facts.manufactured or facts.anchor
    if made is None:
        return Due(None, reason="no_anchor_date")
    if facts.last_date and not facts.last_passed:
        return Due(None, allowed=False, reason="failed", life_end=lpg_life_end(rule, made, None))
    life_end = lpg_life_end(rule, made, facts.last_date)
    due = add_months(facts.last_date or made, rule["interval_months"])
    # The day before the life end is the last day it may be used, so it is also the last day "in time".
    return Due(min(due, add_days(life_end, -1)), life_end=life_end)


_BY_KEY = {
    "elevator.inspection": _elevator,
    "pressure_vessel.fixed.inspection": _fixed_vessel,
    "pressure_vessel.mobile.inspection": _mobile_vessel,
    "gas_cylinder.inspection": _cylinder,
    "gas_cylinder.lpg": _lpg,
}


def past_life(life_end: dt.date | None, today: dt.date) -> bool:
    return life_end is not None and today >= life_end


# Conclusions (DOMAIN.md §4): code -> (zh label, en label, passed?)
CONCLUSIONS = {
    "elevator": {
        "pass": ("合格", "Pass", True), "fail": ("不合格", "Fail", False),
        "recheck_pass": ("复检合格", "Re-inspection pass", True),
        "recheck_fail": ("复检不合格", "Re-inspection fail", False),
    },
    "pressure_vessel": {
        "meets": ("符合要求", "Meets requirements", True),
        "basically_meets": ("基本符合要求", "Basically meets requirements", True),
        "does_not_meet": ("不符合要求", "Does not meet requirements", False),
    },
    "gas_cylinder": {
        "pass": ("合格", "Pass", True), "scrap": ("报废", "Scrap", False),
    },
}
RECHECK_CODES = {"recheck_pass", "recheck_fail"}


def conclusion_passed(family: str, code: str) -> bool:
    return CONCLUSIONS[family][code][2]
