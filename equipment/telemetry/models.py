"""Telemetry tables: terminals, state/event history, latest state per unit, alarms, reject counters.

History rows are machine data (no audit, append-only, deduplicated by (terminal_id, boot, seq)).
On PostgreSQL `telemetry_states` is partitioned by month; see migrations/versions/0002_telemetry.py
for why the partition key is the terminal's `ts` and not `received_at`.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
                        text)
from sqlalchemy.orm import Mapped, mapped_column

from equipment.core.models import Base, JSONType, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER keys
ALARM_STATUSES = ("open", "acknowledged", "cleared")
OFFLINE_CODE = "offline"  # platform-derived alarm, not a GB/T 24476 code


class Terminal(Base):
    __tablename__ = "terminals"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(64), unique=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    # Mosquitto's $7$ PBKDF2 line part; the plain password is shown once and never stored.
    mqtt_password_hash: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(80))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(80))


class TelemetryState(Base):
    __tablename__ = "telemetry_states"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(64))
    equipment_id: Mapped[int] = mapped_column(Integer, index=True)
    boot: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    body: Mapped[dict] = mapped_column(JSONType)
    __table_args__ = (UniqueConstraint("terminal_id", "boot", "seq", "ts", name="uq_telemetry_states_key"),)


class TelemetryEvent(Base):
    __tablename__ = "telemetry_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(64))
    equipment_id: Mapped[int] = mapped_column(Integer, index=True)
    boot: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    code: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean)
    unknown_code: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[dict | None] = mapped_column(JSONType)
    __table_args__ = (UniqueConstraint("terminal_id", "boot", "seq", name="uq_telemetry_events_key"),)


class LatestState(Base):
    """One row per unit: the newest state, the rule timers, online status."""
    __tablename__ = "telemetry_latest"
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), primary_key=True)
    terminal_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[dict | None] = mapped_column(JSONType)
    ts: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    boot: Mapped[int | None] = mapped_column(BigInteger)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    rule_state: Mapped[dict | None] = mapped_column(JSONType)
    # True while a debounce timer runs, so the tick job scans only those rows.
    timers_armed: Mapped[bool] = mapped_column(Boolean, default=False)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_telemetry_latest_timers", "timers_armed"),
                      Index("ix_telemetry_latest_online_seen", "online", "last_seen_at"))


class Alarm(Base):
    __tablename__ = "alarms"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(80))
    acked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(80))
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    clear_reason: Mapped[str | None] = mapped_column(String(500))  # why a person cleared it (required then)
    detail: Mapped[dict | None] = mapped_column(JSONType)
    # The race-free guarantee: at most one not-cleared alarm per (unit, code), enforced by the database.
    __table_args__ = (Index("uq_alarms_one_open", "equipment_id", "code", unique=True,
                            sqlite_where=text("status != 'cleared'"),
                            postgresql_where=text("status != 'cleared'")),)


class RejectCount(Base):
    __tablename__ = "telemetry_rejects"
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_detail: Mapped[str | None] = mapped_column(Text)
