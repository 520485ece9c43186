"""Alarm lifecycle: open -> acknowledged -> cleared, one not-cleared alarm per (unit, code).

Race-freedom comes from the partial unique index uq_alarms_one_open: two transactions opening the same
(unit, code) at once both try the INSERT inside a savepoint; the database lets one win and the loser
falls back to incrementing the winner's row. No application lock is involved.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from equipment.core.actor import Actor
from equipment.core.db import atomic, get_or_404, is_sqlite, paginate
from equipment.core.errors import Forbidden, Invalid, InvalidState, NotFound
from equipment.core.models import utcnow
from equipment.extensions import db
from equipment.registry import service as registry
from equipment.telemetry import codes
from equipment.telemetry.models import Alarm

NOT_CLEARED = Alarm.status != "cleared"


def _open_alarm(equipment_id: int, code: str) -> Alarm | None:
    stmt = select(Alarm).where(Alarm.equipment_id == equipment_id, Alarm.code == code, NOT_CLEARED)
    if not is_sqlite():
        stmt = stmt.with_for_update()
    return db.session.scalars(stmt).first()


def _repeat(alarm: Alarm, at: dt.datetime, detail: dict | None) -> Alarm:
    alarm.count = alarm.count + 1
    alarm.last_seen = max(alarm.last_seen, at)
    if detail:
        alarm.detail = {**(alarm.detail or {}), **detail}
    return alarm


@atomic
def raise_alarm(*, equipment_id: int, code: str, at: dt.datetime | None = None,
                detail: dict | None = None) -> tuple[Alarm, bool]:
    """Open the (unit, code) alarm or count a repeat of the open one; returns (alarm, opened)."""
    at = at or utcnow()
    existing = _open_alarm(equipment_id, code)
    if existing is not None:
        return _repeat(existing, at, detail), False
    alarm = Alarm(equipment_id=equipment_id, code=code, status="open", count=1, first_seen=at, last_seen=at,
                  detail=detail)
    try:
        with db.session.begin_nested():
            db.session.add(alarm)
    except IntegrityError:
        # Another transaction opened it between our SELECT and INSERT: join its alarm.
        existing = _open_alarm(equipment_id, code)
        if existing is None:
            raise
        return _repeat(existing, at, detail), False
    if codes.kind_of(code) in (codes.FAULT, codes.ALARM_BUTTON):
        # One chain record per fault episode, not per repeat.
        registry.append_history(equipment_id=equipment_id, kind="fault",
                                data={"code": code, "alarm_id": alarm.id, "name": _name(code)}, at=at)
    return alarm, True


def _name(code: str) -> str:
    info = codes.lookup(code)
    return info.zh if info else code


@atomic
def auto_clear(*, equipment_id: int, code: str, at: dt.datetime | None = None, by: str = "system") -> int:
    """Clear the unit's not-cleared alarm for `code` (recovery or active:false); no-op when none."""
    at = at or utcnow()
    alarm = _open_alarm(equipment_id, code)
    if alarm is None:
        return 0
    alarm.status, alarm.cleared_at, alarm.cleared_by = "cleared", at, by
    return 1


def _get(alarm_id: int, actor: Actor, action: str) -> Alarm:
    alarm = get_or_404(Alarm, alarm_id, "No such alarm")
    try:
        unit = registry.get_equipment(actor=actor, equipment_id=alarm.equipment_id)
    except NotFound:
        raise NotFound("No such alarm") from None  # outside the caller's scope: exactly like a missing id
    _may_handle(actor, unit, action)
    return alarm


ACK_ROLES = ("admin", "dispatcher", "owner", "crew")  # the 96333 desk may say "seen" on any alarm
CLEAR_ROLES = ("admin", "owner", "crew")  # closing a fault belongs to who fixes it


def alarm_rights(actor: Actor) -> dict:
    """What the role may do to alarms at all (pages show these buttons); _may_handle checks the unit."""
    return {"ack": actor.role in ACK_ROLES, "clear": actor.role in CLEAR_ROLES}


def _may_handle(actor: Actor, unit, action: str) -> None:
    """The unit's maintenance crews and its user unit (and admins) acknowledge and clear its alarms; the
    dispatch desk only acknowledges; regulators watch."""
    if actor.role == "admin" or (actor.role == "owner" and actor.org_id == unit.user_org_id) \
            or (actor.role == "crew" and actor.org_id == unit.maintenance_org_id) \
            or (actor.role == "dispatcher" and action == "ack"):
        return
    raise Forbidden("Only the unit's maintenance unit or user unit handles its alarms / 仅维保单位或使用单位可处理此报警")


@atomic
def acknowledge(*, actor: Actor, alarm_id: int) -> Alarm:
    alarm = _get(alarm_id, actor, "ack")
    if alarm.status != "open":
        raise InvalidState(f"Alarm is {alarm.status}", details={"status": [alarm.status]})
    alarm.status, alarm.acked_by, alarm.acked_at = "acknowledged", actor.username, utcnow()
    return alarm


@atomic
def clear(*, actor: Actor, alarm_id: int, reason: str) -> Alarm:
    """A person clearing a fault says why (fixed, false alarm, ...): the reason stays on the alarm."""
    alarm = _get(alarm_id, actor, "clear")
    if alarm.status == "cleared":
        raise InvalidState("Alarm is already cleared", details={"status": ["cleared"]})
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("A reason is required / 请填写清除原因", details={"reason": ["required / 必填"]})
    alarm.status, alarm.cleared_by, alarm.cleared_at = "cleared", actor.username, utcnow()
    alarm.clear_reason = reason
    return alarm


def list_alarms(*, actor: Actor, equipment_id: int | None = None, status: str | None = None,
                code: str | None = None, page: int = 1, per_page: int = 50, also=None) -> dict:
    """`also`: a select of further unit ids the caller may see (the dossier's agency links)."""
    stmt = (select(Alarm).where(registry.scope(actor, Alarm.equipment_id, also=also))
            .order_by(Alarm.last_seen.desc(), Alarm.id.desc()))
    if equipment_id is not None:
        stmt = stmt.where(Alarm.equipment_id == equipment_id)
    if status == "active":
        stmt = stmt.where(NOT_CLEARED)
    elif status:
        stmt = stmt.where(Alarm.status == status)
    if code:
        stmt = stmt.where(Alarm.code == code)
    return paginate(stmt, page=page, per_page=per_page)


def alarms_of(equipment_id: int, limit: int = 50) -> list[Alarm]:
    stmt = select(Alarm).where(Alarm.equipment_id == equipment_id).order_by(Alarm.last_seen.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def open_alarm_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Alarm).where(NOT_CLEARED)) or 0
