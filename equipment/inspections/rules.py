"""The rules table: defaults in rules.json, versioned copies in the database, edits by admins."""
from __future__ import annotations

import json
import math
from pathlib import Path

from sqlalchemy import func, select

from equipment.core.errors import Invalid
from equipment.core.models import JSONType, UTCDateTime, utcnow
from equipment.extensions import db
from equipment.inspections.models import RuleSet

DEFAULTS_PATH = Path(__file__).with_name("rules.json")


def default_rules() -> dict:
    return json.loads(DEFAULTS_PATH.read_text(encoding="utf-8"))


def seed_rules(op) -> None:
    """Migration step: version 1 is the shipped defaults."""
    import sqlalchemy as sa

    table = sa.table("inspection_rule_sets", sa.column("version", sa.Integer), sa.column("rules", JSONType),
                     sa.column("note", sa.Text), sa.column("created_by", sa.String),
                     sa.column("created_at", UTCDateTime))
    op.bulk_insert(table, [{"version": 1, "rules": default_rules(), "note": "defaults (rules.json)",
                            "created_by": "migration", "created_at": utcnow()}])


def current() -> tuple[int, dict]:
    """(version, rules) of the newest rule set; the shipped defaults as version 0 if the table is empty."""
    row = db.session.scalar(select(RuleSet).order_by(RuleSet.version.desc()).limit(1))
    if row is None:
        return 0, default_rules()
    return row.version, row.rules


def in_shipped_order(doc, shipped=None):
    """The document with its keys in rules.json's order (PostgreSQL's JSONB keeps its own), for people."""
    shipped = default_rules() if shipped is None else shipped
    if not isinstance(doc, dict) or not isinstance(shipped, dict):
        return doc
    keys = [k for k in shipped if k in doc] + [k for k in doc if k not in shipped]
    return {k: in_shipped_order(doc[k], shipped.get(k)) for k in keys}


def current_rules() -> dict:
    return current()[1]


def list_versions() -> list:
    return list(db.session.scalars(select(RuleSet).order_by(RuleSet.version.desc())))


def new_version(rules: dict, *, note: str, by: str):
    version = (db.session.scalar(select(func.max(RuleSet.version))) or 0) + 1
    row = RuleSet(version=version, rules=rules, note=note, created_by=by)
    db.session.add(row)
    db.session.flush()
    return row


def check_shape(rules: dict) -> None:
    required = default_rules().keys() - {"_comment"}
    missing = sorted(k for k in required if k not in rules)
    if missing:
        raise Invalid("Incomplete rules", details={"rules": [f"missing keys: {', '.join(missing)}"]})


def check_value(key: str, old, new) -> None:
    """An edited entry keeps the default's keys and value types: a typo must not silently void a rule."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            raise Invalid("Invalid rule", details={key: ["must be an object"]})
        for sub, value in old.items():
            if sub == "_comment":
                continue
            if sub not in new:
                raise Invalid("Invalid rule", details={key: [f"missing {sub}"]})
            check_value(f"{key}.{sub}", value, new[sub])
    elif isinstance(old, bool) != isinstance(new, bool):
        raise Invalid("Invalid rule", details={key: ["must be true or false"]})
    elif isinstance(old, (int, float)) and not isinstance(old, bool):
        if not isinstance(new, (int, float)) or isinstance(new, bool) or not math.isfinite(new) or new < 0:
            raise Invalid("Invalid rule", details={key: ["must be a number >= 0"]})
    elif isinstance(old, list):
        _check_list(key, old, new)


def _check_list(key: str, old: list, new) -> None:
    """A list keeps its element type: reminder offsets stay numbers, channels stay names."""
    if not isinstance(new, list) or (old and not new):
        raise Invalid("Invalid rule", details={key: ["must be a non-empty list"]})
    for item in new if old else ():
        if not isinstance(old[0], str):
            check_value(key, old[0], item)
        elif not isinstance(item, str) or not item.strip():
            raise Invalid("Invalid rule", details={key: ["must be a list of names"]})
