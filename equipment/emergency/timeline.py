"""Appending to an incident's timeline (who did what, when)."""
from __future__ import annotations

from equipment.core.actor import SYSTEM, Actor, current_actor
from equipment.core.models import utcnow
from equipment.emergency.models import IncidentEvent
from equipment.extensions import db


def who(actor: Actor | None) -> Actor:
    return actor or current_actor() or SYSTEM


def record(incident_id: int, kind: str, *, actor: Actor | None = None, at=None, **data) -> IncidentEvent:
    actor = who(actor)
    event = IncidentEvent(incident_id=incident_id, kind=kind, at=at or utcnow(), actor_name=actor.username,
                          actor_user_id=actor.user_id, actor_org_id=actor.org_id,
                          data={k: v for k, v in data.items() if v is not None})
    db.session.add(event)
    return event
