"""Inspections domain tables: rules (versioned), obligations, results, maintenance, reminders, draws, fills."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from equipment.core.models import Base, JSONType, UTCDateTime, utcnow
from equipment.core.rulesets import VersionedRules

BigId = BigInteger().with_variant(Integer, "sqlite")
OBLIGATION_KINDS = ("inspection", "maintenance")


class RuleSet(Base, VersionedRules):
    """One full rules document per version; an edit writes a new version, old ones stay for the record."""
    __tablename__ = "inspection_rule_sets"


class Obligation(Base):
    """Next-due row per unit and obligation; its status is refreshed set-based by the daily job."""
    __tablename__ = "obligations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    rule_key: Mapped[str | None] = mapped_column(String(64), index=True)
    rule_version: Mapped[int] = mapped_column(Integer)
    # What the interval depends on, as plain columns so that a rule edit is one UPDATE per variant:
    # gas class for cylinders, safety grade for vessels, "self_testing" for elevators.
    variant: Mapped[str | None] = mapped_column(String(16))
    anchor: Mapped[dt.date | None] = mapped_column(Date)  # first use / manufacture / commissioning
    last_done: Mapped[dt.date | None] = mapped_column(Date)
    next_due: Mapped[dt.date | None] = mapped_column(Date)
    life_end: Mapped[dt.date | None] = mapped_column(Date)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ok")
    responsible_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __table_args__ = (
        UniqueConstraint("equipment_id", "kind", name="uq_obligations_equipment_kind"),
        Index("ix_obligations_status_next_due", "status", "next_due"),
        Index("ix_obligations_next_due", "next_due"),
    )


class Inspection(Base):
    __tablename__ = "inspections"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # periodic, recheck, spot, acceptance
    date: Mapped[dt.date] = mapped_column(Date)
    conclusion: Mapped[str] = mapped_column(String(24))
    passed: Mapped[bool] = mapped_column(Boolean)
    safety_grade: Mapped[int | None] = mapped_column(Integer)
    grade3_months: Mapped[int | None] = mapped_column(Integer)
    report_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"))
    spot_assignment_id: Mapped[int | None] = mapped_column(Integer)
    inspector_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agency_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    items: Mapped[list] = mapped_column(JSONType, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    next_due: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Defect(Base):
    __tablename__ = "inspection_defects"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    item: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    rectified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    evidence: Mapped[str | None] = mapped_column(Text)


class MaintenanceRecord(Base):
    __tablename__ = "maintenance_records"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    crew_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    item_set: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), default="open")  # open, done
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    scan_tag: Mapped[str | None] = mapped_column(String(64))
    scan_lat: Mapped[float | None] = mapped_column(Float)
    scan_lon: Mapped[float | None] = mapped_column(Float)
    scan_distance_m: Mapped[float | None] = mapped_column(Float)
    items: Mapped[list] = mapped_column(JSONType, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[list] = mapped_column(JSONType, default=list)
    flags: Mapped[list] = mapped_column(JSONType, default=list)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class ReminderContact(Base):
    """Where an organisation wants reminders: an e-mail address or a webhook URL."""
    __tablename__ = "reminder_contacts"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email, webhook
    address: Mapped[str] = mapped_column(String(300))
    __table_args__ = (UniqueConstraint("org_id", "channel", "address", name="uq_reminder_contacts_target"),)


class Reminder(Base):
    """One delivery; the unique key makes creation idempotent, the status column makes sending claimable."""
    __tablename__ = "reminders"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"))
    obligation_kind: Mapped[str] = mapped_column(String(16))
    due_date: Mapped[dt.date] = mapped_column(Date)
    offset_days: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[int] = mapped_column(ForeignKey("reminder_contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending, sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("equipment_id", "obligation_kind", "due_date", "offset_days", "contact_id",
                         name="uq_reminders_delivery"),
        Index("ix_reminders_status", "status"),
    )


class SpotCheckDraw(Base):
    """双随机 draw: seed and inputs are stored so that anyone can re-run it and compare."""
    __tablename__ = "spot_check_draws"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    filters: Mapped[dict] = mapped_column(JSONType, default=dict)
    sample_size: Mapped[int] = mapped_column(Integer)
    inspector_ids: Mapped[list] = mapped_column(JSONType, default=list)
    candidate_count: Mapped[int] = mapped_column(Integer)
    candidate_digest: Mapped[str] = mapped_column(String(64))
    result: Mapped[list] = mapped_column(JSONType, default=list)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpotCheckAssignment(Base):
    __tablename__ = "spot_check_assignments"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("spot_check_draws.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    inspector_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    agency_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open, done


class FillingRecord(Base):
    __tablename__ = "filling_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    station_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    gas: Mapped[str | None] = mapped_column(String(64))
    mass_kg: Mapped[float | None] = mapped_column(Float)
