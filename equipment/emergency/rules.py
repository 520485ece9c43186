"""Emergency's rules table: which dispatch policy runs live (`choice.POLICIES`), versioned in the database.

The app setting EQUIPMENT_DISPATCH_POLICY (default the legal `ladder`) is the initial value; a regulator's edit
writes a new version that every process reads at its next decision. The numeric settings (level-2 time,
parallel offers, radius) stay app settings.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from equipment.core.errors import Invalid
from equipment.emergency import choice
from equipment.emergency.models import DispatchRuleSet
from equipment.extensions import db

KEYS = ("policy",)


def defaults() -> dict:
    return {"policy": str(current_app.config.get("DISPATCH_POLICY") or "ladder")}


def current() -> tuple[int, dict]:
    """(version, rules) of the newest version; the app's settings as version 0 while none is stored."""
    row = db.session.scalar(select(DispatchRuleSet).order_by(DispatchRuleSet.version.desc()).limit(1))
    if row is None:
        return 0, defaults()
    return row.version, {**defaults(), **row.rules}


def list_versions() -> list[DispatchRuleSet]:
    return list(db.session.scalars(select(DispatchRuleSet).order_by(DispatchRuleSet.version.desc())))


def check(key: str, value) -> str:
    """The value to store, or Invalid (422) naming what is wrong: an unknown policy must never reach dispatch."""
    if key not in KEYS:
        raise Invalid("Unknown rule / 未知规则", details={"key": [f"one of {', '.join(KEYS)}"]})
    if not isinstance(value, str) or not value.strip():
        raise Invalid("Invalid rule / 规则值无效", details={"value": ["a policy name, e.g. ladder or eta(10)"]})
    try:
        return choice.parse_policy(value).label
    except ValueError as err:
        raise Invalid("Invalid dispatch policy / 派单策略无效", details={"value": [str(err)]}) from None


def new_version(rules: dict, *, note: str, by: str) -> DispatchRuleSet:
    version = (db.session.scalar(select(func.max(DispatchRuleSet.version))) or 0) + 1
    row = DispatchRuleSet(version=version, rules=rules, note=note, created_by=by)
    db.session.add(row)
    db.session.flush()
    return row
