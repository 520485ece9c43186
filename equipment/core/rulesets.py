"""A versioned rules table's columns, shared by the domains that own one (inspections' due-date rules,
emergency's dispatch policy): one full document per version, an edit writes a new version and old ones stay
for the record. Each domain keeps its own table (`class RuleSet(Base, VersionedRules)`)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from equipment.core.db import flask_db, paginate
from equipment.core.models import JSONType, UTCDateTime, utcnow


class VersionedRules:
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    rules: Mapped[dict] = mapped_column(JSONType)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def history(model, *, page: int, per_page: int, base: dict | None = None) -> dict:
    """A page of versions, newest first, each with the rules it replaced (the next older version's, `base` for
    the oldest: what was in force before any stored version), so that a page can say what changed."""
    out = paginate(select(model).order_by(model.version.desc()), page=page, per_page=per_page)
    rows = list(out["items"])
    before = None
    if rows:
        before = flask_db().session.scalar(select(model).where(model.version < rows[-1].version)
                                   .order_by(model.version.desc()).limit(1))
    previous = [r.rules for r in rows[1:]] + [before.rules if before is not None else base]
    return {**out, "items": list(zip(rows, previous))}
