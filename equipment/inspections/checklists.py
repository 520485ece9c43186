"""Inspection checklists and maintenance item sets as data (checklists.json, with its sources), and the
form rules built on them. Pure: no database, no Flask."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from equipment.core.errors import Invalid

DATA = Path(__file__).with_name("checklists.json")
# TSG T5002 §5: a longer maintenance period includes the shorter periods' items.
ITEM_SET_ORDER = ("half_monthly", "quarterly", "semi_annual", "annual")


@functools.cache
def _data() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def _lift_kind(category_code: str | None) -> str:
    """GB catalogue varieties: 32xx hydraulic, 33xx escalators and moving walks, the rest traction/forced."""
    code = category_code or ""
    return "escalator" if code.startswith("33") else "hydraulic" if code.startswith("32") else "traction"


def inspection_items(family: str, category_code: str | None = None) -> list[dict]:
    """[{key, zh, req}] of the family's periodic-inspection checklist (escalators have their own)."""
    lists = _data()["inspection"]
    if family == "elevator" and _lift_kind(category_code) == "escalator":
        return lists["escalator"]
    return lists.get(family, [])


def maintenance_items(category_code: str | None, item_set: str) -> list[dict]:
    """The items of `item_set` for this lift kind, with every shorter period's items before them."""
    sets = _data()["maintenance"][_lift_kind(category_code)]
    if item_set not in ITEM_SET_ORDER:
        return []
    upto = ITEM_SET_ORDER[:ITEM_SET_ORDER.index(item_set) + 1]
    return [item for name in upto for item in sets.get(name, [])]


def source() -> str:
    return _data()["_source"]


def check_inspection_form(*, items: list[dict], answers: dict[str, str], passed: bool, report_no: str | None,
                          defects: list) -> None:
    """The page's rules: a passing conclusion needs every item answered and a report number; a failing one at
    least one defect. Invalid (422, field-level, in Chinese) otherwise, before anything is written."""
    details = {}
    missing = [item["key"] for item in items if answers.get(item["key"]) not in ("pass", "fail", "na")]
    if passed and missing:
        details.update({f"item_{key}": ["合格结论须填写每一检验项目"] for key in missing})
    if passed and not report_no:
        details["report_no"] = ["合格结论须填写报告编号"]
    if not passed and not defects:
        details["defect"] = ["不合格结论须至少记录一项问题（不合格项目或问题描述）"]
    if details:
        raise Invalid("检验记录不完整", details=details)
