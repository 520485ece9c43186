"""Prometheus gauges read at scrape time: open incidents by status, overdue arrivals, outbox backlog.

One series per metric name (the shared renderer registers one gauge per key), so the status is in the name.
"""
from __future__ import annotations

from sqlalchemy import func, select

from equipment.emergency.models import OPEN_STATUSES, Incident, Notification
from equipment.extensions import db
from equipment.web.metrics import gauge_source


class _Labels(tuple):
    """An empty, hashable stand-in for the labels dict (falsy, so the renderer makes a plain gauge)."""


@gauge_source
def emergency_gauges() -> dict:
    out = {}
    counts = dict(db.session.execute(select(Incident.status, func.count()).where(Incident.status.in_(OPEN_STATUSES))
                                     .group_by(Incident.status)).all())
    for status in OPEN_STATUSES:
        out[(f"equipment_incidents_{status}", f"Open 96333 incidents in state {status}", _Labels())] = \
            counts.get(status, 0)
    overdue = db.session.scalar(select(func.count()).where(Incident.status.in_(OPEN_STATUSES),
                                                           Incident.arrival_overdue.is_(True)))
    out[("equipment_incidents_arrival_overdue", "Open incidents past the arrival deadline", _Labels())] = overdue or 0
    notes = dict(db.session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())
    for status in ("pending", "failed"):
        out[(f"equipment_notifications_{status}", f"Outbox notifications {status}", _Labels())] = notes.get(status, 0)
    return out
