"""Telemetry public functions: terminals (provisioning, revocation, broker credentials), alarms, latest state.

Other domains import telemetry only through this module.
"""
from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import func, select

from equipment.core.actor import Actor
from equipment.core.db import atomic, paginate
from equipment.core.errors import Conflict, Forbidden, InvalidState, NotFound
from equipment.core.models import utcnow
from equipment.extensions import db
from equipment.registry import service as registry
from equipment.telemetry.mqtt import brokerctl
from equipment.telemetry.alarms import (acknowledge, alarms_of, auto_clear, clear, list_alarms,  # noqa: F401
                                        alarm_rights, open_alarm_count, raise_alarm)
from equipment.telemetry.mqtt.broker import mosquitto_hash
from equipment.telemetry.models import LatestState, RejectCount, TelemetryState, Terminal

PROVISION_ROLES = frozenset({"owner"})


def _may_manage(actor: Actor, unit) -> None:
    if actor.is_global:
        return
    if actor.role in PROVISION_ROLES and actor.org_id in (unit.user_org_id, unit.maintenance_org_id):
        return
    raise Forbidden("You may not manage terminals of this unit")


def new_terminal_id() -> str:
    return f"LT-{secrets.token_hex(6).upper()}"


@atomic
def _create_terminal(*, actor: Actor, equipment_id: int) -> tuple[Terminal, str]:
    unit = registry.get_equipment(actor=actor, equipment_id=equipment_id)
    _may_manage(actor, unit)
    _check_terminal_cap(unit.id)
    password = secrets.token_urlsafe(24)
    terminal = Terminal(terminal_id=new_terminal_id(), equipment_id=unit.id, status="active", online=False,
                        mqtt_password_hash=mosquitto_hash(password), created_at=utcnow(),
                        created_by=actor.username)
    db.session.add(terminal)
    db.session.flush()
    return terminal, password


def _check_terminal_cap(equipment_id: int) -> None:
    """A unit has one terminal (two while one is replaced): each extra login is one more way in."""
    cap = int(current_app.config.get("TERMINALS_PER_UNIT", 2))
    # the unit's row lock serialises concurrent provisionings of one unit (PostgreSQL; SQLite has one writer)
    registry.lock_unit(equipment_id)
    active = db.session.scalar(select(func.count()).select_from(Terminal)
                               .where(Terminal.equipment_id == equipment_id, Terminal.status == "active"))
    if active >= cap:
        raise Conflict(f"This unit already has {active} active terminals (at most {cap}); revoke one first",
                       details={"equipment_id": [f"at most {cap} active terminals per unit"]})


def provision_terminal(*, actor: Actor, equipment_id: int) -> dict:
    """Create a terminal for a unit; the password is returned here once and stored only hashed."""
    terminal, password = _create_terminal(actor=actor, equipment_id=equipment_id)
    brokerctl.sync_from_db()
    return {"terminal_id": terminal.terminal_id, "equipment_id": terminal.equipment_id,
            "mqtt_username": terminal.terminal_id, "mqtt_password": password, "mqtt_url": brokerctl.public_url()}


@atomic
def _revoke(*, actor: Actor, terminal_id: str) -> Terminal:
    terminal = get_terminal(actor=actor, terminal_id=terminal_id)
    _may_manage(actor, registry.load_equipment(terminal.equipment_id))
    if terminal.status == "revoked":
        raise InvalidState("Terminal already revoked", details={"status": ["revoked"]})
    terminal.status, terminal.revoked_at, terminal.revoked_by = "revoked", utcnow(), actor.username
    terminal.online = False
    return terminal


def revoke_terminal(*, actor: Actor, terminal_id: str) -> Terminal:
    """Revoke in the database, then remove the credentials at the broker (reload disconnects it) and the
    terminal's broker session (what it had subscribed and queued)."""
    terminal = _revoke(actor=actor, terminal_id=terminal_id)
    brokerctl.sync_from_db()
    brokerctl.purge_session(terminal.terminal_id)
    return terminal


def get_terminal(*, actor: Actor, terminal_id: str) -> Terminal:
    terminal = db.session.scalar(select(Terminal).where(Terminal.terminal_id == terminal_id,
                                                        registry.scope(actor, Terminal.equipment_id)))
    if terminal is None:
        raise NotFound("No such terminal")
    return terminal


def list_terminals(*, actor: Actor, equipment_id: int | None = None, status: str | None = None,
                   page: int = 1, per_page: int = 50) -> dict:
    stmt = select(Terminal).where(registry.scope(actor, Terminal.equipment_id)).order_by(Terminal.id)
    if equipment_id is not None:
        stmt = stmt.where(Terminal.equipment_id == equipment_id)
    if status:
        stmt = stmt.where(Terminal.status == status)
    return paginate(stmt, page=page, per_page=per_page)


# --- latest state, rejects -----------------------------------------------------------------------

def list_latest(*, actor: Actor, equipment_id: int | None = None, online: bool | None = None,
                page: int = 1, per_page: int = 50) -> dict:
    stmt = (select(LatestState).where(registry.scope(actor, LatestState.equipment_id))
            .order_by(LatestState.equipment_id))
    if equipment_id is not None:
        stmt = stmt.where(LatestState.equipment_id == equipment_id)
    if online is not None:
        stmt = stmt.where(LatestState.online.is_(online))
    return paginate(stmt, page=page, per_page=per_page)


def latest_of(equipment_id: int) -> LatestState | None:
    return db.session.get(LatestState, equipment_id)


def reject_counts() -> list[RejectCount]:
    return list(db.session.scalars(select(RejectCount).order_by(RejectCount.count.desc())))


def reject_total() -> int:
    return db.session.scalar(select(func.coalesce(func.sum(RejectCount.count), 0))) or 0


def last_ingest_age_s() -> float | None:
    newest = db.session.scalar(select(func.max(LatestState.last_seen_at)))
    return None if newest is None else max(0.0, (utcnow() - newest).total_seconds())


# --- for the registry list and the unit dossier -------------------------------------------------------

def unit_clauses(*, has_terminal: bool | None = None, online: bool | None = None) -> list:
    """Filters on equipment rows by telemetry facts, as id subqueries the registry list can AND in."""
    out = []
    if has_terminal is not None:
        ids = select(Terminal.equipment_id).where(Terminal.status == "active")
        out.append(registry.unit_id_in(ids, negate=not has_terminal))
    if online is not None:
        ids = select(LatestState.equipment_id).where(LatestState.online.is_(True))
        out.append(registry.unit_id_in(ids, negate=not online))
    return out


def terminals_of(equipment_id: int) -> list[Terminal]:
    return list(db.session.scalars(select(Terminal).where(Terminal.equipment_id == equipment_id)
                                   .order_by(Terminal.id)))


def states_since(equipment_id: int, since, limit: int = 20_000) -> list[tuple]:
    """(ts, body) of a unit's stored states since a time, oldest first: the dossier's 24-hour chart."""
    stmt = (select(TelemetryState.ts, TelemetryState.body)
            .where(TelemetryState.equipment_id == equipment_id, TelemetryState.ts >= since)
            .order_by(TelemetryState.ts).limit(limit))
    return [(r.ts, r.body) for r in db.session.execute(stmt)]
