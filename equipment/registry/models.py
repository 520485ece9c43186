from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import (BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from equipment.core.models import Base, JSONType, UTCDateTime, utcnow

ORG_KINDS = ("user_unit", "maintenance_unit", "maker", "inspection_agency", "regulator", "emergency_centre")
STATUSES = ("registered", "in_service", "overdue", "suspended", "idle", "scrapped")


class Organization(Base):
    __tablename__ = "organizations"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(18), unique=True)  # unified social credit code
    licence_no: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(300))
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Category(Base):
    """Catalogue of special equipment (DOMAIN.md §1): a table, so new categories need no code."""
    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(4))
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    in_scope: Mapped[bool] = mapped_column(Boolean, default=False)


class Equipment(Base):
    __tablename__ = "equipment"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    device_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    registration_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    use_certificate_no: Mapped[str | None] = mapped_column(String(32), index=True)
    rescue_code: Mapped[str | None] = mapped_column(String(6), unique=True)
    cylinder_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    address: Mapped[str] = mapped_column(String(300), index=True)  # /units sorts by it
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    user_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    maintenance_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    maker_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="in_service", index=True)
    attributes: Mapped[dict] = mapped_column(JSONType, default=dict)
    last_inspection_date: Mapped[dt.date | None] = mapped_column(Date)
    last_inspection_conclusion: Mapped[str | None] = mapped_column(String(32))
    next_inspection_due: Mapped[dt.date | None] = mapped_column(Date, index=True)
    last_maintenance_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Anchor of the history chain: a deleted tail record is caught by comparing with these.
    history_count: Mapped[int] = mapped_column(Integer, default=0)
    history_head: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Component(Base):
    __tablename__ = "components"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    maker: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(100))
    serial: Mapped[str | None] = mapped_column(String(100))
    fitted_on: Mapped[dt.date | None] = mapped_column(Date)
    removed_on: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (Index("ix_components_kind_maker_model", "kind", "maker", "model"),)


class HistoryEvent(Base):
    """Append-only lifecycle record, chained by SHA-256 per unit (see registry/trace.py)."""
    __tablename__ = "history_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_name: Mapped[str] = mapped_column(String(80))
    actor_org_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # HMAC of `hash` with the chain key (outside the database); NULL only on records older than signing
    mac: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("equipment_id", "seq", name="uq_history_events_equipment_seq"),)


class QrTag(Base):
    __tablename__ = "qr_tags"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), unique=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
