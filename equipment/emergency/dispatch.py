"""Offering an incident to crews level by level, and the deadline-driven escalation the jobs run.

Level 1: the unit's contracted maintenance unit, its nearest able crew. Level 2: the nearest able crew of
any other unit within LEVEL2_RADIUS_M. Level 3: the fire brigade (119), notified with everything it needs.
Deadlines are columns, so a restarted jobs process picks up exactly where the last one stopped.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update

from equipment.core.actor import Actor
from equipment.core.db import atomic
from equipment.core.geo import lat_lon
from equipment.core.models import utcnow
from equipment.emergency import config, crews, outbox, timeline
from equipment.emergency.models import ACTIVE_DISPATCH, CrewMember, Dispatch, Incident
from equipment.extensions import db

log = logging.getLogger("equipment.emergency")
ARRIVAL_WATCHED = ("reported", "dispatched", "accepted")


def _unit(incident: Incident):
    from equipment.registry import service as registry
    return registry.load_equipment(incident.equipment_id)


def tried_crews(incident_id: int) -> set[int]:
    stmt = select(Dispatch.crew_id).where(Dispatch.incident_id == incident_id, Dispatch.crew_id.is_not(None))
    return set(db.session.scalars(stmt))


def find_crew(incident: Incident, level: int, exclude=()) -> crews.Candidate | None:
    unit = _unit(incident)
    loc = lat_lon(unit.location)
    maint = unit.maintenance_org_id
    if level == 1 and maint is None:
        return None
    if loc is None:  # no position: only the contracted unit's crews can be chosen, in any order
        return _any_crew_of(maint, exclude) if level == 1 else None
    if level == 1:
        found = crews.nearest_crews(lat=loc["lat"], lon=loc["lon"], org_id=maint, exclude_ids=exclude)
    else:
        found = crews.nearest_crews(lat=loc["lat"], lon=loc["lon"], exclude_org_id=maint, exclude_ids=exclude,
                                    radius_m=config.setting("LEVEL2_RADIUS_M", 10_000))
    return found[0] if found else None


def _any_crew_of(org_id, exclude) -> crews.Candidate | None:
    stmt = select(CrewMember).where(CrewMember.org_id == org_id, CrewMember.on_duty.is_(True),
                                    CrewMember.id.not_in(list(exclude) or [0])).order_by(CrewMember.id)
    crew = db.session.scalar(stmt)
    return crews.Candidate(crew.id, crew.org_id, float("nan")) if crew else None


def auto_dispatch(incident: Incident, *, now: dt.datetime) -> Dispatch:
    return offer_next(incident, level=1, now=now)


def offer_next(incident: Incident, *, level: int, now: dt.datetime, actor: Actor | None = None) -> Dispatch:
    """Offer to the next able crew from `level` upward; past level 2 the fire brigade is called."""
    exclude = tried_crews(incident.id)
    while level <= 2:
        cand = find_crew(incident, level, exclude)
        if cand is not None:
            return _offer(incident, cand, level=level, now=now, actor=actor)
        timeline.record(incident.id, "no_crew", actor=actor, at=now, level=level)
        level += 1
    return call_fire_brigade(incident, now=now, actor=actor)


def _mark_dispatched(incident: Incident, now: dt.datetime) -> None:
    if incident.status == "reported":
        incident.status = "dispatched"
    incident.dispatched_at = incident.dispatched_at or now


def offer_to(incident: Incident, crew: CrewMember, *, level: int, now, actor=None, distance_m=None) -> Dispatch:
    deadline = now + dt.timedelta(seconds=config.setting("ACCEPT_DEADLINE_S", 300))
    offer = Dispatch(incident_id=incident.id, level=level, crew_id=crew.id, org_id=crew.org_id, target="crew",
                     status="offered", distance_m=distance_m, offered_at=now, accept_deadline=deadline)
    db.session.add(offer)
    incident.level, incident.crew_id = level, crew.id
    _mark_dispatched(incident, now)
    timeline.record(incident.id, "dispatched", actor=actor, at=now, level=level, crew_id=crew.id,
                    crew_name=crew.name, org_id=crew.org_id, accept_deadline=deadline.isoformat(),
                    distance_m=round(distance_m) if distance_m == distance_m and distance_m is not None else None)
    outbox.enqueue(incident=incident, kind="crew_dispatch",
                   recipient={"name": crew.name, "phone": crew.phone, "email": crew.email, "crew_id": crew.id},
                   extra={"accept_deadline": deadline.isoformat(), "level": level})
    db.session.flush()
    return offer


def _offer(incident, cand: crews.Candidate, *, level, now, actor) -> Dispatch:
    return offer_to(incident, db.session.get(CrewMember, cand.crew_id), level=level, now=now, actor=actor,
                    distance_m=cand.distance_m)


def call_fire_brigade(incident: Incident, *, now: dt.datetime, actor: Actor | None = None,
                      why: str = "no_crew") -> Dispatch | None:
    """Level 3, once per incident: a 119 notification with address, position, codes, unit and caller."""
    incident.level = 3
    if incident.fire_notified_at is not None:
        return None
    brigade = config.fire_brigade()
    note = Dispatch(incident_id=incident.id, level=3, target="fire_brigade", status="notified", offered_at=now)
    db.session.add(note)
    incident.fire_notified_at = now
    _mark_dispatched(incident, now)
    timeline.record(incident.id, "fire_brigade", actor=actor, at=now, why=why, phone=brigade["phone"])
    outbox.enqueue(incident=incident, kind="fire_brigade", recipient=brigade, extra={"why": why})
    db.session.flush()
    return note


def cancel_offers(incident_id: int, *, now: dt.datetime, status: str = "cancelled") -> None:
    db.session.execute(update(Dispatch).where(Dispatch.incident_id == incident_id, Dispatch.status == "offered")
                       .values(status=status, responded_at=now))


def active_offer(incident_id: int, crew_id: int | None = None, statuses=ACTIVE_DISPATCH) -> Dispatch | None:
    stmt = (select(Dispatch).where(Dispatch.incident_id == incident_id, Dispatch.status.in_(statuses))
            .order_by(Dispatch.id.desc()).with_for_update())
    if crew_id is not None:
        stmt = stmt.where(Dispatch.crew_id == crew_id)
    return db.session.scalars(stmt).first()


# --- deadline escalation (jobs) ---------------------------------------------------------------------

def due_offers(now: dt.datetime) -> list[int]:
    stmt = (select(Dispatch.id).where(Dispatch.status == "offered", Dispatch.accept_deadline <= now)
            .order_by(Dispatch.accept_deadline).limit(500))
    return list(db.session.scalars(stmt))


@atomic
def pass_over(dispatch_id: int, *, now: dt.datetime) -> bool:
    """The crew did not accept in time: pass it over and offer the next crew, then the next level."""
    stmt = select(Dispatch).where(Dispatch.id == dispatch_id, Dispatch.status == "offered",
                                  Dispatch.accept_deadline <= now).with_for_update(skip_locked=True)
    offer = db.session.scalar(stmt)
    if offer is None:  # already handled by another run or the crew accepted meanwhile
        return False
    offer.status, offer.responded_at = "passed_over", now
    incident = db.session.get(Incident, offer.incident_id)
    timeline.record(incident.id, "passed_over", at=now, crew_id=offer.crew_id, level=offer.level)
    if incident.status == "dispatched" and active_offer(incident.id) is None:
        offer_next(incident, level=offer.level, now=now)
    return True


def overdue_arrivals(now: dt.datetime) -> list[int]:
    stmt = (select(Incident.id).where(Incident.status.in_(ARRIVAL_WATCHED), Incident.arrival_overdue.is_(False),
                                      Incident.arrival_deadline <= now).limit(500))
    return list(db.session.scalars(stmt))


@atomic
def flag_overdue(incident_id: int, *, now: dt.datetime) -> bool:
    """Nobody on site by the arrival deadline (30 min by law): flag it and call the brigade."""
    stmt = (select(Incident).where(Incident.id == incident_id, Incident.arrival_overdue.is_(False),
                                   Incident.status.in_(ARRIVAL_WATCHED)).with_for_update(skip_locked=True))
    incident = db.session.scalar(stmt)
    if incident is None:
        return False
    incident.arrival_overdue = True
    timeline.record(incident.id, "arrival_overdue", at=now, deadline=incident.arrival_deadline.isoformat())
    call_fire_brigade(incident, now=now, why="arrival_overdue")
    return True


def escalate_due(now: dt.datetime | None = None) -> dict:
    """One pass over every due timer; safe to run concurrently and repeatedly (rows are claimed)."""
    now = now or utcnow()
    counts = {"passed_over": 0, "overdue": 0}
    for dispatch_id in due_offers(now):
        counts["passed_over"] += _safely(pass_over, dispatch_id, now)
    for incident_id in overdue_arrivals(now):
        counts["overdue"] += _safely(flag_overdue, incident_id, now)
    db.session.rollback()  # end the read transaction of the scans
    return counts


def _safely(fn, row_id: int, now) -> int:
    try:
        return int(fn(row_id, now=now))
    except Exception:  # one bad row must not stop the others; it is retried on the next pass
        log.exception("escalation of %s %s failed", fn.__name__, row_id)
        return 0
