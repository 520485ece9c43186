"""Fault notices (incident kind 'fault', 故障): the maintenance unit is told at once, nothing more.

No rescue ladder, no 119, no arrival or accept deadlines: a critical fault (safety circuit, unintended
movement, overrun, escalator faults) or a public fault report needs the unit's maintenance unit to look at
the lift, not a rescue. The outbox carries the notice through the same channels as rescue dispatches.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from equipment.core.actor import Actor
from equipment.emergency import outbox, timeline
from equipment.emergency.models import CrewMember, Incident
from equipment.extensions import db
from equipment.registry import service as registry

MAX_CREWS = 5  # on-duty crews of the maintenance unit told besides its own number


def recipients(maintenance_org_id: int) -> list[dict]:
    """The maintenance unit's contact, then its on-duty crews (whoever can go and look first)."""
    org = registry.get_organization(maintenance_org_id)
    out = [{"name": org.name, "phone": org.phone, "org_id": org.id}]
    stmt = (select(CrewMember).where(CrewMember.org_id == maintenance_org_id, CrewMember.on_duty.is_(True))
            .order_by(CrewMember.id).limit(MAX_CREWS))
    out += [{"name": c.name, "phone": c.phone, "email": c.email, "crew_id": c.id} for c in db.session.scalars(stmt)]
    return out


def notify_maintenance(incident: Incident, *, at: dt.datetime, actor: Actor | None = None,
                       tracking_no: str | None = None) -> int:
    """Outbox rows for the maintenance unit, in the caller's transaction; returns how many."""
    if incident.maintenance_org_id is None:
        # Nobody to tell: the notice stays open on the dispatcher's console, which shows it as 故障.
        timeline.record(incident.id, "no_maintenance_unit", actor=actor, at=at)
        return 0
    targets = recipients(incident.maintenance_org_id)
    for recipient in targets:
        outbox.enqueue(incident=incident, kind="fault_notice", recipient=recipient,
                       extra={"fault_code": incident.fault_code, "tracking_no": tracking_no})
    timeline.record(incident.id, "fault_notice", actor=actor, at=at, org_id=incident.maintenance_org_id,
                    recipients=len(targets))
    return len(targets)


def open_hazard_hook(incident: Incident) -> None:
    """Where a fault notice opens a hazard (SUPERVISION.md 'Hazards', source `telemetry` / `public_report`).

    The hazard register does not exist yet. When it does, call its service here, in this same transaction:
    hazards.service.open_hazard(equipment_id=incident.equipment_id, source=..., ref_incident_id=incident.id).
    """
