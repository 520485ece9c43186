"""The incident state machine: which action moves which state, who may do it, what it stamps.

reported -> dispatched -> accepted -> on_site -> released -> closed (with a cause), or false_alarm /
cancelled from the open states before release. Anything else is a 409 InvalidState.
"""
from __future__ import annotations

import datetime as dt

from equipment.core.actor import Actor
from equipment.core.errors import Forbidden, Invalid, InvalidState, NotFound
from equipment.emergency import arrival, crews, dispatch, timeline
from equipment.emergency.models import CAUSES, CrewMember, Dispatch, Incident
from equipment.extensions import db
from equipment.registry import service as registry

ABORTABLE = ("reported", "dispatched", "accepted", "on_site")
# action: (from states, to state, timestamp column)
MACHINE = {
    "accept": (("dispatched",), "accepted", "accepted_at"),
    "arrive": (("accepted",), "on_site", "arrived_at"),
    "release": (("on_site",), "released", "released_at"),
    "close": (("released",), "closed", "closed_at"),
    "false_alarm": (ABORTABLE, "false_alarm", "closed_at"),
    "cancel": (ABORTABLE, "cancelled", "closed_at"),
}
# A fault notice (kind 'fault') has no rescue ladder: it is closed (cause optional), found false, or cancelled.
FAULT_MACHINE = {
    "close": (("reported",), "closed", "closed_at"),
    "false_alarm": (("reported",), "false_alarm", "closed_at"),
    "cancel": (("reported",), "cancelled", "closed_at"),
}
ACTIONS = tuple(MACHINE)
DESK_ROLES = ("dispatcher", "admin")
CREW_ACTIONS = ("accept", "arrive", "release", "close", "false_alarm")
FINAL = ("close", "false_alarm", "cancel")


def machine(kind: str) -> dict:
    return FAULT_MACHINE if kind == "fault" else MACHINE


def allowed_actions(status: str, kind: str = "rescue") -> list[str]:
    return [a for a, (src, _, _) in machine(kind).items() if status in src]


def _crew_offer(actor: Actor, incident: Incident, action: str) -> Dispatch:
    """A crew acts only on its own job; someone else's incident is 404, as if it did not exist."""
    crew = crews.crew_of(actor)
    offer = dispatch.active_offer(incident.id, crew.id) if crew else None
    if offer is None:
        raise NotFound("No such incident")
    if action not in CREW_ACTIONS:
        raise Forbidden("Only the dispatcher may do this / 仅调度员可操作")
    return offer


def check_actor(actor: Actor, incident: Incident, action: str) -> Dispatch | None:
    if actor.role in DESK_ROLES:
        return None
    if incident.kind == "fault":
        return _maintenance_unit(actor, incident)
    if actor.role == "crew":
        return _crew_offer(actor, incident, action)
    raise Forbidden("Your role may not change incidents / 无权限")


def _maintenance_unit(actor: Actor, incident: Incident) -> None:
    """A fault notice is the maintenance unit's to close: its crews (and the desk) may, nobody else."""
    if actor.role != "crew" or actor.org_id is None or actor.org_id != incident.maintenance_org_id:
        raise Forbidden("Only the maintenance unit or the dispatcher may close a fault notice / "
                        "仅维保单位或调度员可处理故障通知")


def _check_state(incident: Incident, action: str) -> str:
    steps = machine(incident.kind)
    allowed = allowed_actions(incident.status, incident.kind)
    if action not in steps or incident.status not in steps[action][0]:
        raise InvalidState(f"Cannot {action} an incident that is {incident.status}",
                           details={"status": [incident.status], "allowed": allowed})
    return steps[action][1]


def _check_cause(incident: Incident, action: str, cause: str | None) -> None:
    if incident.kind == "fault":
        return  # a fault notice may be closed before anyone knows the cause
    if action == "close" and cause not in CAUSES:
        raise Invalid("A cause is required to close", details={"cause": [f"one of {', '.join(CAUSES)}"]})


def _accept(incident: Incident, offer: Dispatch | None, now: dt.datetime) -> None:
    offer = offer or dispatch.active_offer(incident.id, statuses=("offered",))
    if offer is None or offer.status != "offered":
        raise InvalidState("No open offer to accept", details={"status": [incident.status]})
    offer.status, offer.responded_at = "accepted", now
    incident.crew_id, incident.level = offer.crew_id, offer.level
    dispatch.cancel_offers(incident.id, now=now)  # other crews' parallel offers, if any


def _finish(incident: Incident, action: str, now: dt.datetime) -> None:
    from sqlalchemy import update
    dispatch.cancel_offers(incident.id, now=now)
    db.session.execute(update(Dispatch).where(Dispatch.incident_id == incident.id, Dispatch.status == "accepted")
                       .values(status="done"))


def _arrival_proof(actor: Actor, incident: Incident, offer: Dispatch | None, proof, now) -> dict:
    if actor.role != "crew":  # the desk records arrival for a crew (call, intercom): audited as the desk's
        return {"method": "desk"}
    crew = db.session.get(CrewMember, offer.crew_id) if offer else None
    return arrival.check(unit=registry.load_equipment(incident.equipment_id), crew=crew, proof=proof, now=now)


def _claim_false_alarm(actor: Actor, incident: Incident, now: dt.datetime, notes: str | None) -> Incident:
    """A crew's 误报 is a claim: the timers run on until the dispatcher confirms it (the desk's false_alarm)."""
    incident.false_alarm_claimed_at = now
    timeline.record(incident.id, "false_alarm_claimed", actor=actor, at=now, notes=notes)
    return incident


def apply(*, actor: Actor, incident: Incident, action: str, now: dt.datetime, cause: str | None = None,
          notes: str | None = None, proof: dict | None = None) -> Incident:
    if action not in MACHINE:
        raise Invalid("Unknown action", details={"action": [f"one of {', '.join(ACTIONS)}"]})
    offer = check_actor(actor, incident, action)
    target = _check_state(incident, action)
    _check_cause(incident, action, cause)
    if action == "false_alarm" and actor.role == "crew":
        return _claim_false_alarm(actor, incident, now, notes)
    evidence = _arrival_proof(actor, incident, offer, proof, now) if action == "arrive" else None
    if action == "accept":
        _accept(incident, offer, now)
    if action in FINAL:
        _finish(incident, action, now)
    before = incident.status
    incident.status = target
    setattr(incident, machine(incident.kind)[action][2], now)
    if cause:
        incident.cause = cause
    if notes:
        incident.notes = notes
    timeline.record(incident.id, target, actor=actor, at=now, previous=before, cause=cause, notes=notes,
                    proof=evidence)
    return incident
