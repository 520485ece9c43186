"""Emergency's rules table: which dispatch policy runs live (`choice.POLICIES`) and the escalation numbers
(when level 2 opens, how many crews get parallel offers there, how far it looks), versioned in the database.

The app settings (EQUIPMENT_DISPATCH_POLICY, default the legal `ladder`; EQUIPMENT_LEVEL2_AFTER_S,
_DISPATCH_PARALLEL, _LEVEL2_RADIUS_M) are the initial values; a regulator's edit writes a new version that every
process reads at its next decision.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from equipment.core.errors import Invalid
from equipment.emergency import choice
from equipment.emergency.models import DispatchRuleSet
from equipment.extensions import db

# key: (type, lowest, highest, app setting, its default). Bounds: level 2 no sooner than 1 minute (a crew must
# have a chance to accept) nor later than the 30-minute arrival rule; parallel offers to at most 5 crews.
NUMBERS = {"level2_after_s": (float, 60, 1800, "LEVEL2_AFTER_S", 300),
           "parallel": (int, 1, 5, "DISPATCH_PARALLEL", 1),
           "level2_radius_m": (float, 500, 50_000, "LEVEL2_RADIUS_M", 10_000)}
KEYS = ("policy", *NUMBERS)


def defaults() -> dict:
    cfg = current_app.config
    out = {"policy": str(cfg.get("DISPATCH_POLICY") or "ladder")}
    out.update({key: kind(cfg.get(setting, default)) for key, (kind, _, _, setting, default) in NUMBERS.items()})
    return out


def settings(rules: dict) -> dict:
    """The rules as choice.policy_from_settings reads them."""
    return {"DISPATCH_POLICY": rules["policy"],
            **{setting: rules[key] for key, (_, _, _, setting, _) in NUMBERS.items()}}


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
    if key in NUMBERS:
        return _number(key, value)
    if not isinstance(value, str) or not value.strip():
        raise Invalid("Invalid rule / 规则值无效", details={"value": ["a policy name, e.g. ladder or eta(10)"]})
    try:
        return choice.parse_policy(value).label
    except ValueError as err:
        raise Invalid("Invalid dispatch policy / 派单策略无效", details={"value": [str(err)]}) from None


def _number(key: str, value):
    kind, low, high, _, _ = NUMBERS[key]
    try:
        number = kind(str(value).strip())
    except ValueError:
        number = None
    if number is None or number != number or not low <= number <= high:  # number != number: NaN
        raise Invalid("Invalid rule / 规则值无效", details={"value": [f"{kind.__name__} from {low} to {high}"]})
    return number


def new_version(rules: dict, *, note: str, by: str) -> DispatchRuleSet:
    version = (db.session.scalar(select(func.max(DispatchRuleSet.version))) or 0) + 1
    row = DispatchRuleSet(version=version, rules=rules, note=note, created_by=by)
    db.session.add(row)
    db.session.flush()
    return row
