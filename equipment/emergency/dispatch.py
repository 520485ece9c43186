"""Offering an incident to crews, and the time-driven escalation the jobs run.

Who gets an offer is decided by one pure rule, `choice.choose_crew` (also what `equipment simulate rescue`
measures), fed here with the able crews from the database: the contracted unit's nearest and the nearest
of other units. Policy (the rules table, `rules.py`; initially EQUIPMENT_DISPATCH_POLICY, the legal `ladder`): level 1 the contracted
maintenance unit; level 2 another unit's crew, opened after EQUIPMENT_LEVEL2_AFTER_S without an accepted
offer whatever the unit's size (EQUIPMENT_DISPATCH_PARALLEL crews at once); level 3 the fire brigade (119).
Deadlines are columns, so a restarted jobs process picks up exactly where the last one stopped.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import func, select, update

from equipment.core.actor import Actor
from equipment.core.db import atomic
from equipment.core.geo import lat_lon
from equipment.core.models import utcnow
from equipment.emergency import choice, config, crews, outbox, rules, timeline
from equipment.emergency.models import ACTIVE_DISPATCH, CrewMember, Dispatch, Incident
from equipment.extensions import db
from equipment.registry import service as registry

log = logging.getLogger("equipment.emergency")
ARRIVAL_WATCHED = ("reported", "dispatched", "accepted")


def _unit(incident: Incident):
    return registry.load_equipment(incident.equipment_id)


def tried_crews(incident_id: int) -> set[int]:
    stmt = select(Dispatch.crew_id).where(Dispatch.incident_id == incident_id, Dispatch.crew_id.is_not(None))
    return set(db.session.scalars(stmt))


def current_policy() -> choice.Policy:
    """The live policy and escalation numbers: the rules table's (a regulator's decision, validated when set),
    else the app settings (a bad value was refused at start-up)."""
    from flask import current_app

    version, stored = rules.current()
    try:
        return choice.policy_from_settings(rules.settings(stored))
    except ValueError:  # validated when set; a policy a later release dropped must not stop dispatch
        log.error("dispatch rules version %s: unknown policy %r, using the app setting", version, stored["policy"])
        return choice.policy_from_settings(current_app.config)


def _pending(incident_id: int) -> int:
    stmt = select(func.count()).where(Dispatch.incident_id == incident_id, Dispatch.status == "offered")
    return int(db.session.scalar(stmt) or 0)


def live_state(*, lat: float, lon: float, maint: int | None, exclude: set[int], parallel: int,
               pending: int = 0) -> choice.State:
    """Enough of the city for every policy: each ranks by distance, so the contracted unit's nearest able
    crew and the `parallel` nearest of other units are all it can pick (found by the spatial index)."""
    found = crews.nearest_crews(lat=lat, lon=lon, exclude_org_id=maint, exclude_ids=exclude, limit=parallel)
    if maint is not None:
        found += crews.nearest_crews(lat=lat, lon=lon, org_id=maint, exclude_ids=exclude)
    where = crews.positions([c.crew_id for c in found])
    able = tuple(choice.Crew(c.crew_id, c.org_id, *where[c.crew_id]) for c in found if c.crew_id in where)
    return choice.State(able, frozenset(exclude), pending)


def _local_hour(now: dt.datetime) -> int:
    from zoneinfo import ZoneInfo

    from flask import current_app
    return now.astimezone(ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))).hour


def decide(incident: Incident, *, now: dt.datetime, level: int = 1) -> tuple[choice.Choice, dict]:
    """The rule's answer for this incident now; `level` 2 is the dispatcher's explicit escalation."""
    policy = current_policy()
    waited = (now - incident.dispatched_at).total_seconds() if incident.dispatched_at else 0.0
    if level >= 2:  # the desk asked for another unit: the legal ladder's level 2, whatever the policy
        policy, waited = dataclasses.replace(policy, name="ladder"), float("inf")
    unit = _unit(incident)
    loc = lat_lon(unit.location)
    state = live_state(lat=loc["lat"], lon=loc["lon"], maint=unit.maintenance_org_id,
                       exclude=tried_crews(incident.id), parallel=policy.parallel, pending=_pending(incident.id))
    if not incident.verified:  # the rule chooses among those it may tell: an able own crew is never passed over
        state = dataclasses.replace(state, crews=tuple(c for c in state.crews if may_offer(incident, c.org_id)))
    case = choice.Case(loc["lat"], loc["lon"], unit.maintenance_org_id, waited, _local_hour(now))
    return choice.choose_crew(state, case, policy), {"policy": policy.label}


def _any_crew_of(org_id, exclude) -> crews.Candidate | None:
    stmt = select(CrewMember).where(CrewMember.org_id == org_id, CrewMember.on_duty.is_(True),
                                    CrewMember.id.not_in(list(exclude) or [0])).order_by(CrewMember.id)
    crew = db.session.scalar(stmt)
    return crews.Candidate(crew.id, crew.org_id, float("nan")) if crew else None


def auto_dispatch(incident: Incident, *, now: dt.datetime) -> Dispatch:
    return offer_next(incident, now=now)


def may_offer(incident: Incident, org_id: int | None) -> bool:
    """An unverified public report goes to nobody but the unit's own contracted crew (and to them only if
    the PUBLIC_UNVERIFIED_TO_OWN_CREW switch says so) until the desk confirms it."""
    if incident.verified:
        return True
    from flask import current_app
    return bool(current_app.config.get("PUBLIC_UNVERIFIED_TO_OWN_CREW", True)) \
        and org_id is not None and org_id == incident.maintenance_org_id


def offer_next(incident: Incident, *, now: dt.datetime, level: int = 1,
               actor: Actor | None = None) -> Dispatch | None:
    """Offer to the crews the rule picks (from `level` upward); with nobody able, the fire brigade."""
    if level >= 3:
        return call_fire_brigade(incident, now=now, actor=actor, why="escalated")
    if lat_lon(_unit(incident).location) is None:
        return _offer_without_position(incident, now=now, actor=actor)
    picked, why = decide(incident, now=now, level=level)
    offers = [offer_to(incident, db.session.get(CrewMember, o.crew_id), level=o.level, now=now, actor=actor,
                       distance_m=o.distance_m) for o in picked.offers if may_offer(incident, o.org_id)]
    if offers:
        return offers[0]
    if not incident.verified:
        timeline.record(incident.id, "awaiting_verification", actor=actor, at=now, level=picked.level)
        return None
    timeline.record(incident.id, "no_crew", actor=actor, at=now, level=picked.level, **why)
    return call_fire_brigade(incident, now=now, actor=actor) if picked.call_119 else None


def _offer_without_position(incident: Incident, *, now, actor) -> Dispatch | None:
    """No position on record: only the contracted unit's crews can be chosen (in id order), then 119."""
    maint = _unit(incident).maintenance_org_id
    able = maint is not None and may_offer(incident, maint)
    cand = _any_crew_of(maint, tried_crews(incident.id)) if able else None
    if cand is not None:
        return offer_to(incident, db.session.get(CrewMember, cand.crew_id), level=1, now=now, actor=actor)
    timeline.record(incident.id, "no_crew", actor=actor, at=now, level=1)
    return call_fire_brigade(incident, now=now, actor=actor) if _pending(incident.id) == 0 else None


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


def call_fire_brigade(incident: Incident, *, now: dt.datetime, actor: Actor | None = None,
                      why: str = "no_crew") -> Dispatch | None:
    """Level 3, once per incident: a 119 notification with address, position, codes, unit and caller."""
    if not incident.verified:  # an anonymous report never reaches 119 before the desk confirms it
        timeline.record(incident.id, "awaiting_verification", actor=actor, at=now, why=why, level=3)
        return None
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
        offer_next(incident, now=now)
    return True


def level2_due(now: dt.datetime) -> list[int]:
    """Incidents still at level 1 with no accepted offer LEVEL2_AFTER_S after the first offer."""
    policy = current_policy()
    if policy.name not in ("ladder", "eta"):
        return []
    cutoff = now - dt.timedelta(seconds=policy.level2_after_s)
    stmt = (select(Incident.id).where(Incident.status == "dispatched", Incident.level == 1,
                                      Incident.verified.is_(True), Incident.dispatched_at <= cutoff).order_by(Incident.dispatched_at).limit(500))
    return list(db.session.scalars(stmt))


@atomic
def open_level2(incident_id: int, *, now: dt.datetime) -> bool:
    """Level 2 by time, not by exhausting the contracted unit: offers to other units' nearest crews join
    the level-1 offer still open (the first to accept takes the job)."""
    stmt = (select(Incident).where(Incident.id == incident_id, Incident.status == "dispatched",
                                   Incident.level == 1).with_for_update(skip_locked=True))
    incident = db.session.scalar(stmt)
    if incident is None:
        return False
    incident.level = 2  # open even when nobody of another unit is able right now: the timer fires once
    timeline.record(incident.id, "level2_opened", at=now, after_s=current_policy().level2_after_s)
    offer_next(incident, now=now)
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
    counts = {"passed_over": 0, "level2": 0, "overdue": 0}
    for dispatch_id in due_offers(now):
        counts["passed_over"] += _safely(pass_over, dispatch_id, now)
    for incident_id in level2_due(now):
        counts["level2"] += _safely(open_level2, incident_id, now)
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
