"""A versioned rules table's columns, shared by the domains that own one (inspections' due-date rules,
emergency's dispatch policy): one full document per version, an edit writes a new version and old ones stay
for the record. Each domain keeps its own table (`class RuleSet(Base, VersionedRules)`)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from equipment.core.models import JSONType, UTCDateTime, utcnow


class VersionedRules:
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    rules: Mapped[dict] = mapped_column(JSONType)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
