"""Read side of emergency: scoped incident lists, detail with timeline, crew jobs, live-stream changes."""
from __future__ import annotations

from sqlalchemy import exists, func, select

from equipment.core.actor import Actor, current_actor
from equipment.core.db import paginate
from equipment.core.errors import Forbidden, NotFound
from equipment.core.geo import lat_lon
from equipment.emergency import crews
from equipment.emergency.models import (ACTIVE_DISPATCH, OPEN_STATUSES, CrewMember, Dispatch, Incident,
                                        IncidentEvent, PublicReport)
from equipment.emergency.transitions import allowed_actions
from equipment.extensions import db
from equipment.registry import service as registry

DESK = ("admin", "regulator", "dispatcher")


def scope(stmt, actor: Actor, *, also=None):
    """Desk roles see every incident; a crew only its own jobs; others the incidents of units they see
    (`also`: a select of further unit ids, an inspector's agency links)."""
    if actor.role in DESK:
        return stmt
    if actor.role == "crew":
        crew = crews.crew_of(actor)
        if crew is None:
            return stmt.where(False)
        own_job = exists().where(Dispatch.incident_id == Incident.id, Dispatch.crew_id == crew.id)
        return stmt.where(own_job | _own_fault(crew))
    return stmt.where(registry.scope(actor, Incident.equipment_id, also=also))


def _own_fault(crew: CrewMember):
    # fault notices go to the maintenance unit as a whole: each of its crews sees them
    return (Incident.kind == "fault") & (Incident.maintenance_org_id == crew.org_id)


def list_incidents(*, actor: Actor, equipment_id: int | None = None, status: str | None = None,
                   kind: str | None = None, page: int = 1, per_page: int = 50, also=None) -> dict:
    stmt = scope(select(Incident), actor, also=also).order_by(Incident.reported_at.desc(), Incident.id.desc())
    if equipment_id is not None:
        stmt = stmt.where(Incident.equipment_id == equipment_id)
    if kind is not None:
        stmt = stmt.where(Incident.kind == kind)
    if status == "open":
        stmt = stmt.where(Incident.status.in_(OPEN_STATUSES))
    elif status and status != "all":
        stmt = stmt.where(Incident.status == status)
    return paginate(stmt, page=page, per_page=per_page)


def get_incident(*, actor: Actor, incident_id: int) -> Incident:
    incident = db.session.scalar(scope(select(Incident).where(Incident.id == incident_id), actor))
    if incident is None:
        raise NotFound("No such incident")
    return incident


def events_of(incident_id: int, limit: int = 200) -> list[IncidentEvent]:
    stmt = (select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
            .order_by(IncidentEvent.id).limit(limit))
    return list(db.session.scalars(stmt))


def current_offer(incident_id: int) -> Dispatch | None:
    stmt = (select(Dispatch).where(Dispatch.incident_id == incident_id, Dispatch.status.in_(ACTIVE_DISPATCH))
            .order_by(Dispatch.id.desc()))
    return db.session.scalars(stmt).first()


CALLER_ROLES = ("admin", "dispatcher")  # the desk that takes the call; plus the crew sent to the unit


def sees_caller(actor: Actor | None, incident: Incident, offer: Dispatch | None) -> bool:
    """The trapped caller's phone is personal data: the desk and the crew sent to the unit need it to call
    back; the unit's owner, regulators and other crews do not."""
    if actor is None or actor.role not in (*CALLER_ROLES, "crew"):
        return False
    if actor.role in CALLER_ROLES:
        return True
    crew = crews.crew_of(actor)
    return crew is not None and crew.id in (incident.crew_id, offer.crew_id if offer else None)


def _without_caller(events: list[IncidentEvent]) -> list[dict]:
    return [{"id": e.id, "at": e.at, "kind": e.kind, "actor_name": e.actor_name, "actor_org_id": e.actor_org_id,
             "data": {k: v for k, v in (e.data or {}).items() if k != "caller_phone"}} for e in events]


def view(incident: Incident, *, with_events: bool = False, actor: Actor | None = None) -> dict:
    """Everything the console and the crew page show for one incident, as `actor` (default: the request's
    actor) may see it."""
    actor = actor or current_actor()
    unit = registry.load_equipment(incident.equipment_id)
    offer = current_offer(incident.id)
    crew = db.session.get(CrewMember, incident.crew_id) if incident.crew_id else None
    out = {c.key: getattr(incident, c.key) for c in Incident.__table__.columns}
    out.update({
        "allowed_actions": allowed_actions(incident.status, incident.kind), "location": lat_lon(unit.location),
        "rescue_code": unit.rescue_code, "device_code": unit.device_code,
        "registration_code": unit.registration_code, "unit_address": unit.address,
        "family": unit.family, "kind": incident.kind,
        "accept_deadline": offer.accept_deadline if offer and offer.status == "offered" else None,
        "offer_status": offer.status if offer else None,
        "crew": {"id": crew.id, "name": crew.name, "phone": crew.phone, "org_id": crew.org_id,
                 "location": lat_lon(crew.location)} if crew else None,
    })
    caller = sees_caller(actor, incident, offer)
    if not caller:
        out["caller_phone"] = None
    out["reports"] = reports_of_incident(incident.id)
    if with_events:
        events = events_of(incident.id)
        out["events"] = events if caller else _without_caller(events)
    return out


def crew_jobs(*, actor: Actor) -> list[dict]:
    """The calling crew member's active offers and jobs, then its maintenance unit's open fault notices."""
    if actor.role != "crew":
        raise Forbidden("Only crew members have jobs")
    crew = crews.crew_of(actor)
    if crew is None:
        return []
    offered = exists().where(Dispatch.incident_id == Incident.id, Dispatch.crew_id == crew.id,
                             Dispatch.status.in_(ACTIVE_DISPATCH))
    stmt = (select(Incident).where(offered | _own_fault(crew), Incident.status.in_(OPEN_STATUSES))
            .order_by(Incident.kind.desc(), Incident.reported_at.desc()))  # 'rescue' > 'fault': rescues first
    return [view(i, with_events=False, actor=actor) for i in db.session.scalars(stmt)]


def on_duty_crews(*, actor: Actor, limit: int = 2000) -> list[dict]:
    if actor.role not in DESK:
        raise Forbidden("Only the dispatch desk sees every crew")
    stmt = (select(CrewMember).where(CrewMember.on_duty.is_(True), CrewMember.location.is_not(None))
            .order_by(CrewMember.id).limit(limit))
    return [{"id": c.id, "name": c.name, "org_id": c.org_id, "phone": c.phone, "location": lat_lon(c.location),
             "position_at": c.position_at} for c in db.session.scalars(stmt)]


def crew_choices(*, actor: Actor, incident_id: int) -> list[dict]:
    """The console's list for a manual assignment: the nearest able crews with distance, unit and ETA."""
    if actor.role not in DESK:
        raise Forbidden("Only the dispatch desk assigns crews")
    incident = get_incident(actor=actor, incident_id=incident_id)
    loc = lat_lon(registry.load_equipment(incident.equipment_id).location) or {}
    found = crews.able_near(lat=loc.get("lat"), lon=loc.get("lon"), contracted_org_id=incident.maintenance_org_id)
    out = []
    for cand in found:
        crew = db.session.get(CrewMember, cand.crew_id)
        known = cand.distance_m == cand.distance_m  # NaN: the unit has no position
        out.append({"id": crew.id, "name": crew.name, "phone": crew.phone, "org_id": crew.org_id,
                    "org_name": registry.get_organization(crew.org_id).name,
                    "contracted": crew.org_id == incident.maintenance_org_id,
                    "distance_m": round(cand.distance_m) if known else None,
                    "eta_min": crews.eta_minutes(cand.distance_m) if known else None,
                    "position_at": crew.position_at, "status": "idle"})
    return out


def last_event_id() -> int:
    return db.session.scalar(select(func.max(IncidentEvent.id))) or 0


def event_ids_since(after: int) -> list[int]:
    return list(db.session.scalars(select(IncidentEvent.id).where(IncidentEvent.id > after)))


def changes_since(cursor: int, *, lookback: int = 0, limit: int = 200) -> list[tuple[int, int, str]]:
    """(event id, incident id, kind) after the cursor; the lookback catches ids committed out of order."""
    stmt = (select(IncidentEvent.id, IncidentEvent.incident_id, IncidentEvent.kind)
            .where(IncidentEvent.id > cursor - lookback).order_by(IncidentEvent.id).limit(limit))
    return [tuple(r) for r in db.session.execute(stmt)]


def reports_of_incident(incident_id: int) -> list[dict]:
    """What the console shows beside an incident: the public reports that opened or joined it."""
    stmt = select(PublicReport).where(PublicReport.incident_id == incident_id).order_by(PublicReport.id)
    return [{"tracking_no": r.tracking_no, "kind": r.kind, "problem": r.problem, "over_limit": r.over_limit,
             "created_at": r.created_at.isoformat()} for r in db.session.scalars(stmt)]
