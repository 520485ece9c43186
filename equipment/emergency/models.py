"""96333 emergency tables: incidents, their timeline, dispatch offers, crews, notification outbox."""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import (BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, text)
from sqlalchemy.orm import Mapped, mapped_column

from equipment.core.models import Base, JSONType, UTCDateTime, utcnow
from equipment.core.rulesets import VersionedRules

SOURCES = ("sensor", "phone", "public", "manual")
# rescue 困人: people trapped, the rescue ladder (crews, levels, 119, deadlines). fault 故障: a fault notice for
# the unit's maintenance unit, notified at once, closed by it or the dispatcher (no ladder, no timers).
KINDS = ("rescue", "fault")
# "Open-ish": a unit in any of these states already has its incident; later signals attach to it.
OPEN_STATUSES = ("reported", "dispatched", "accepted", "on_site", "released")
FINAL_STATUSES = ("closed", "false_alarm", "cancelled")
STATUSES = OPEN_STATUSES + FINAL_STATUSES
CAUSES = ("external_power", "people_misuse", "door_system", "traction_brake", "control_system", "other")
_OPEN_SQL = "status IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"
OPEN_PREDICATE = text(_OPEN_SQL)


class Incident(Base):
    __tablename__ = "incidents"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="reported", index=True)
    kind: Mapped[str] = mapped_column(String(8), default="rescue", server_default="rescue")
    fault_code: Mapped[str | None] = mapped_column(String(8))  # the terminal's event code of a fault notice
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    caller_phone: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer, default=1)
    # Snapshots of the unit at report time: statistics group by them even if the unit changes later.
    maintenance_org_id: Mapped[int | None] = mapped_column(Integer, index=True)
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cause: Mapped[str | None] = mapped_column(String(24))
    notes: Mapped[str | None] = mapped_column(Text)
    # Deadlines live in the row so timers survive any process restart.
    arrival_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    arrival_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    crew_id: Mapped[int | None] = mapped_column(ForeignKey("crew_members.id"), index=True)
    fire_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signals: Mapped[int] = mapped_column(Integer, default=1)
    # A scan-page report is unverified until the desk confirms it (call-back / intercom): until then it
    # reaches neither 119 nor another company's crew (dispatch.py gates on this).
    verified: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verify_method: Mapped[str | None] = mapped_column(String(16))
    # A crew's 误报 is a claim: timers keep running until the dispatcher confirms it.
    false_alarm_claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    __table_args__ = (
        # One open incident per unit and kind: a rescue and a fault notice may be open side by side.
        Index("uq_incidents_open_unit_kind", "equipment_id", "kind", unique=True,
              postgresql_where=OPEN_PREDICATE, sqlite_where=OPEN_PREDICATE),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class IncidentEvent(Base):
    """Timeline of an incident (signals, transitions, escalations, notifications); also the SSE cursor."""
    __tablename__ = "incident_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(24))
    actor_name: Mapped[str] = mapped_column(String(80))
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_org_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)


class CrewMember(Base):
    __tablename__ = "crew_members"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(200))
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    position_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


DISPATCH_STATUSES = ("offered", "accepted", "passed_over", "declined", "cancelled", "notified", "done")
ACTIVE_DISPATCH = ("offered", "accepted")


class Dispatch(Base):
    """One offer of an incident to a crew (levels 1, 2) or a notification to the fire brigade (level 3)."""
    __tablename__ = "dispatches"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    crew_id: Mapped[int | None] = mapped_column(ForeignKey("crew_members.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(16), default="crew")  # crew | fire_brigade
    status: Mapped[str] = mapped_column(String(16), default="offered", index=True)
    distance_m: Mapped[float | None] = mapped_column(Float)
    offered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    accept_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    """Outbox: written in the incident's transaction, delivered later by a job through the channels."""
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # crew_dispatch | fire_brigade | escalation | overdue
    recipient: Mapped[dict] = mapped_column(JSONType, default=dict)  # {"phone","email","name"}
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending|sent|failed
    channel: Mapped[str | None] = mapped_column(String(16))  # the one that delivered it
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    log: Mapped[list] = mapped_column(JSONType, default=list)  # every channel attempt, for the record
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


REPORT_KINDS = ("trapped", "fault", "problem")
PROBLEMS = ("leak", "damage", "overdue", "other")
REPORT_STATUSES = ("received", "rescue", "fault")  # fault: a 故障 notice went to the maintenance unit


class PublicReport(Base):
    """A scan-page report: tracking number for the citizen, routed by family (see emergency/public.py)."""
    __tablename__ = "public_reports"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(20), unique=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    family: Mapped[str] = mapped_column(String(16))  # lift | escalator | cylinder | vessel | other
    kind: Mapped[str] = mapped_column(String(12))  # trapped | fault | problem
    problem: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(String(500))
    reply_phone: Mapped[str | None] = mapped_column(String(32))  # desk and the routed organisation only
    client_hash: Mapped[str] = mapped_column(String(64), index=True)  # keyed hash of the address (/64 for v6)
    over_limit: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="received", index=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    route_org_id: Mapped[int | None] = mapped_column(Integer, index=True)
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)



class DispatchRuleSet(Base, VersionedRules):
    """Emergency's rules table: which crew-choice policy runs live (sending another unit's crew is the
    regulator's decision); the newest version wins, none means the app setting EQUIPMENT_DISPATCH_POLICY."""
    __tablename__ = "dispatch_rule_sets"
