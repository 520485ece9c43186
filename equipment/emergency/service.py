"""Emergency public functions: open incidents, attach signals, transitions, queries.

Other domains (telemetry's trapped detection, the public page) call only this module.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from equipment.core.actor import Actor
from equipment.core.db import atomic
from equipment.core.errors import Invalid, NotFound
from equipment.core.models import utcnow
from equipment.emergency import timeline
from equipment.emergency.models import OPEN_STATUSES, SOURCES, Incident
from equipment.extensions import db
from equipment.registry import service as registry


def _open_of(equipment_id: int) -> Incident | None:
    stmt = select(Incident).where(Incident.equipment_id == equipment_id, Incident.status.in_(OPEN_STATUSES))
    return db.session.scalar(stmt)


def _attach(incident: Incident, *, source, reason, caller_phone, at, actor) -> Incident:
    incident.signals = (incident.signals or 1) + 1
    if caller_phone and not incident.caller_phone:
        incident.caller_phone = caller_phone
    timeline.record(incident.id, "signal", actor=actor, at=at, source=source, reason=reason,
                    caller_phone=caller_phone)
    return incident


def _insert(unit, *, source, reason, caller_phone, at) -> Incident | None:
    """Insert under a savepoint; None when a concurrent writer opened one first (partial unique index)."""
    from flask import current_app
    incident = Incident(
        equipment_id=unit.id, status="reported", source=source, reason=reason, caller_phone=caller_phone,
        level=1, maintenance_org_id=unit.maintenance_org_id, district_code=unit.district_code,
        address=unit.address, reported_at=at, signals=1,
        arrival_deadline=at + dt.timedelta(seconds=float(current_app.config["ARRIVAL_DEADLINE_S"])))
    try:
        with db.session.begin_nested():
            db.session.add(incident)
            db.session.flush()
    except IntegrityError:
        return None
    return incident


@atomic
def open_incident(*, equipment_id: int, source: str, reason: str | None = None, caller_phone: str | None = None,
                  at: dt.datetime | None = None, actor: Actor | None = None) -> tuple[Incident, bool]:
    """Open the unit's incident, or attach this signal to the one already open: returns (incident, created)."""
    if source not in SOURCES:
        raise Invalid("Unknown source", details={"source": [f"one of {', '.join(SOURCES)}"]})
    at = at or utcnow()
    unit = registry.load_equipment(equipment_id)
    if unit is None:
        raise NotFound("No such equipment")
    signal = {"source": source, "reason": reason, "caller_phone": caller_phone, "at": at, "actor": actor}
    existing = _open_of(equipment_id)
    if existing is not None:
        return _attach(existing, **signal), False
    incident = _insert(unit, source=source, reason=reason, caller_phone=caller_phone, at=at)
    if incident is None:
        return _attach(_open_of(equipment_id), **signal), False
    timeline.record(incident.id, "reported", actor=actor, at=at, source=source, reason=reason,
                    caller_phone=caller_phone)
    with _acting(actor):
        registry.append_history(equipment_id=unit.id, kind="rescue", at=at,
                                data={"incident_id": incident.id, "event": "reported", "source": source})
    _after_open(incident, at=at)
    return incident, True


def _acting(actor: Actor | None):
    import contextlib
    from equipment.core.actor import acting_as
    return acting_as(actor) if actor is not None else contextlib.nullcontext()


def _after_open(incident: Incident, *, at: dt.datetime) -> None:
    """Level-1 auto-dispatch in the same transaction, so a sensor incident reaches a crew within seconds."""
    try:
        from equipment.emergency import dispatch
    except ImportError:  # dispatch module arrives in a later step
        return
    dispatch.auto_dispatch(incident, now=at)


def get_incident(incident_id: int) -> Incident:
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("No such incident")
    return incident
