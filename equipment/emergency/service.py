"""Emergency public functions: open incidents, attach signals, transitions, queries.

Other domains (telemetry's trapped detection, the public page) call only this module.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from equipment.core import rulesets
from equipment.core.actor import Actor, acting_as
from equipment.core.db import atomic, get_or_404, setting
from equipment.core.errors import Forbidden, Invalid, InvalidState, NotFound
from equipment.core.models import utcnow
from equipment.emergency import crews, dispatch, faults, queries, rules, timeline, transitions
from equipment.emergency.models import OPEN_STATUSES, SOURCES, DispatchRuleSet, Incident
from equipment.emergency.queries import crew_jobs, list_incidents  # noqa: F401  (read side, for other domains)
from equipment.extensions import db
from equipment.registry import service as registry


def _open_of(equipment_id: int, kind: str = "rescue") -> Incident | None:
    stmt = select(Incident).where(Incident.equipment_id == equipment_id, Incident.kind == kind,
                                  Incident.status.in_(OPEN_STATUSES))
    return db.session.scalar(stmt)


def _attach(incident: Incident, *, source, reason, caller_phone, at, actor) -> Incident:
    incident.signals = (incident.signals or 1) + 1
    if caller_phone and not incident.caller_phone:
        incident.caller_phone = caller_phone
    timeline.record(incident.id, "signal", actor=actor, at=at, source=source, reason=reason,
                    caller_phone=caller_phone)
    return incident


def _insert(unit, *, source, reason, caller_phone, at, **kind_fields) -> Incident | None:
    """Insert under a savepoint; None when a concurrent writer opened one first (partial unique index)."""
    incident = Incident(
        equipment_id=unit.id, status="reported", source=source, reason=reason, caller_phone=caller_phone,
        level=1, maintenance_org_id=unit.maintenance_org_id, district_code=unit.district_code,
        address=unit.address, reported_at=at, signals=1, **kind_fields)
    try:
        with db.session.begin_nested():
            db.session.add(incident)
            db.session.flush()
    except IntegrityError:
        return None
    return incident


def _open_or_attach(unit, kind: str, signal: dict, **kind_fields) -> tuple[Incident, bool]:
    """The unit's open incident of this kind with the signal attached, or a new one: (incident, created)."""
    existing = _open_of(unit.id, kind)
    if existing is None:
        fields = {k: signal[k] for k in ("source", "reason", "caller_phone", "at")}
        incident = _insert(unit, kind=kind, **fields, **kind_fields)
        if incident is not None:
            timeline.record(incident.id, "reported", actor=signal["actor"], **fields,
                            code=kind_fields.get("fault_code"))
            return incident, True
        existing = _open_of(unit.id, kind)  # a concurrent writer's, found by the partial unique index
    return _attach(existing, **signal), False


@atomic
def open_incident(*, equipment_id: int, source: str, reason: str | None = None, caller_phone: str | None = None,
                  at: dt.datetime | None = None, actor: Actor | None = None, verified: bool = True,
                  hold: bool = False) -> tuple[Incident, bool]:
    """Open the unit's rescue (困人) incident, or attach this signal to the one already open: returns
    (incident, created). `verified=False` (a scan-page report) gates dispatch until the desk confirms;
    `hold` (a report over the abuse limits) offers it to nobody: it waits on the console for the dispatcher."""
    unit, at = _intake(equipment_id, source, at)
    signal = {"source": source, "reason": reason, "caller_phone": caller_phone, "at": at, "actor": actor}
    deadline = at + dt.timedelta(seconds=float(setting("ARRIVAL_DEADLINE_S")))
    incident, created = _open_or_attach(unit, "rescue", signal, arrival_deadline=deadline, verified=verified,
                                        verified_at=at if verified else None)
    if not created:
        return incident, False
    with _acting(actor):
        registry.append_history(equipment_id=unit.id, kind="rescue", at=at,
                                data={"incident_id": incident.id, "event": "reported", "source": source})
    if hold:
        timeline.record(incident.id, "held", actor=actor, at=at, why="over_limit")
    else:
        _after_open(incident, at=at)
    return incident, True


@atomic
def sensor_released(*, equipment_id: int, reason: str, at: dt.datetime | None = None) -> Incident | None:
    """Telemetry saw the entrapment end (car levelled with doors open, car empty, or the terminal cleared
    11): a line on the open incident's timeline for the dispatcher. The people on site still close it."""
    incident = _open_of(equipment_id)
    if incident is not None:
        timeline.record(incident.id, "sensor_released", at=at or utcnow(), source="sensor", reason=reason)
    return incident


def _intake(equipment_id: int, source: str, at: dt.datetime | None):
    if source not in SOURCES:
        raise Invalid("Unknown source", details={"source": [f"one of {', '.join(SOURCES)}"]})
    unit = registry.load_equipment(equipment_id)
    if unit is None:
        raise NotFound("No such equipment")
    return unit, at or utcnow()


@atomic
def report_fault(*, equipment_id: int, source: str, code: str | None = None, reason: str | None = None,
                 caller_phone: str | None = None, at: dt.datetime | None = None,
                 actor: Actor | None = None, tracking_no: str | None = None) -> tuple[Incident, bool]:
    """A fault notice (故障): the unit's maintenance unit is notified at once through the outbox; no rescue
    ladder, no 119, no timers. A signal while one is open attaches to it. Returns (incident, created).
    `tracking_no`: the scan-page report's number, quoted in the notice so the unit can answer the citizen."""
    unit, at = _intake(equipment_id, source, at)
    signal = {"source": source, "reason": reason, "caller_phone": caller_phone, "at": at, "actor": actor}
    incident, created = _open_or_attach(unit, "fault", signal, fault_code=code)
    if not created:
        return incident, False
    faults.notify_maintenance(incident, at=at, actor=actor, tracking_no=tracking_no)
    faults.open_hazard_hook(incident)
    return incident, True


def _acting(actor: Actor | None):
    import contextlib
    return acting_as(actor) if actor is not None else contextlib.nullcontext()


def _after_open(incident: Incident, *, at: dt.datetime) -> None:
    """Level-1 auto-dispatch in the same transaction, so a sensor incident reaches a crew within seconds."""
    # A late-delivered sensor event carries its own (past) time: the crew's accept window starts now.
    dispatch.auto_dispatch(incident, now=max(at, utcnow()))


def get_incident(incident_id: int) -> Incident:
    return get_or_404(Incident, incident_id, "No such incident")


# --- transitions ---------------------------------------------------------------------------------

@atomic
def transition(*, actor: Actor, incident_id: int, action: str, cause: str | None = None,
               notes: str | None = None, now: dt.datetime | None = None, proof: dict | None = None) -> Incident:
    """accept / arrive / release / close / false_alarm / cancel; an illegal one is InvalidState (409).

    A crew's arrive needs `proof` (emergency/arrival.py); a crew's false_alarm is only a claim."""
    now = now or utcnow()
    incident = _locked(incident_id)
    with _acting(actor):
        transitions.apply(actor=actor, incident=incident, action=action, now=now, cause=cause, notes=notes,
                          proof=proof)
        if not incident.is_open and incident.kind == "rescue":
            registry.append_history(equipment_id=incident.equipment_id, kind="rescue", at=now, data={
                "incident_id": incident.id, "event": incident.status, "cause": incident.cause})
    return incident


def open_incident_of(equipment_id: int) -> Incident | None:
    return _open_of(equipment_id)


def locked_incident(incident_id: int) -> Incident:
    return _locked(incident_id)


def _locked(incident_id: int) -> Incident:
    # Row lock on PostgreSQL: a crew's click and the escalation job never interleave on one incident.
    incident = db.session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update())
    if incident is None:
        raise NotFound("No such incident")
    return incident


class Unverified(InvalidState):
    code = "unverified"

    def __init__(self):
        super().__init__("Confirm the public report first (call-back or intercom) / 扫码报告未核实：请先回拨或对讲核实，"
                         "核实前不通知119、不派给其他单位", details={"verified": [False]})


def _desk(actor: Actor) -> None:
    if actor.role not in ("dispatcher", "admin"):
        raise Forbidden("Only the dispatcher may dispatch / 仅调度员可派单")


def _rescue(incident: Incident) -> Incident:
    if incident.kind != "rescue":  # a fault notice went to the maintenance unit; it has no ladder
        raise InvalidState("A fault notice is not dispatched or escalated / 故障通知无需派单或升级",
                           details={"kind": [incident.kind]})
    return incident


@atomic
def dispatch_incident(*, actor: Actor, incident_id: int, crew_id: int | None = None,
                      now: dt.datetime | None = None) -> Incident:
    """The dispatcher's one click: offer to a chosen crew, or to the next able one at the current level."""
    _desk(actor)
    now = now or utcnow()
    incident = _rescue(_locked(incident_id))
    if incident.status not in ("reported", "dispatched"):
        raise InvalidState(f"Cannot dispatch an incident that is {incident.status}",
                           details={"status": [incident.status]})
    if crew_id is not None:
        crew = crews.get_crew(crew_id)
        if not incident.verified and crew.org_id != incident.maintenance_org_id:
            raise Unverified()
        _withdraw(incident, now=now, actor=actor)
        dispatch.offer_to(incident, crew, level=min(incident.level, 2), now=now, actor=actor)
    else:
        _withdraw(incident, now=now, actor=actor)
        dispatch.offer_next(incident, level=min(incident.level, 2), now=now, actor=actor)
    return incident


def _withdraw(incident: Incident, *, now: dt.datetime, actor: Actor) -> None:
    """Pending offers are withdrawn in the open: the timeline names the crew, whose page drops the job."""
    offer = queries.current_offer(incident.id)
    if offer is not None and offer.status == "offered":
        timeline.record(incident.id, "withdrawn", actor=actor, at=now, crew_id=offer.crew_id, level=offer.level)
    dispatch.cancel_offers(incident.id, now=now)


@atomic
def escalate_incident(*, actor: Actor, incident_id: int, reason: str | None = None,
                      now: dt.datetime | None = None) -> Incident:
    """One level up: pending offers are withdrawn; level 3 calls the fire brigade."""
    _desk(actor)
    now = now or utcnow()
    incident = _rescue(_locked(incident_id))
    if not incident.verified:
        raise Unverified()
    if incident.status not in ("reported", "dispatched", "accepted", "on_site") or incident.fire_notified_at:
        raise InvalidState("Nothing left to escalate to", details={"status": [incident.status],
                                                                   "level": [incident.level]})
    timeline.record(incident.id, "escalated", actor=actor, at=now, level=incident.level + 1, reason=reason)
    if incident.status in ("reported", "dispatched"):
        _withdraw(incident, now=now, actor=actor)
        dispatch.offer_next(incident, level=min(incident.level + 1, 3), now=now, actor=actor)
    else:  # a crew is on the job: more hands come from the brigade
        dispatch.call_fire_brigade(incident, now=now, actor=actor, why="escalated")
    return incident


# --- intake from people --------------------------------------------------------------------------

INTAKE_ROLES = ("dispatcher", "admin", "regulator")


def _resolve_unit(*, equipment_id: int | None, rescue_code: str | None):
    if equipment_id is not None:
        unit = registry.load_equipment(equipment_id)
        field, value = "equipment_id", equipment_id
    else:
        unit = registry.find_by_rescue_code((rescue_code or "").strip())
        field, value = "rescue_code", rescue_code
    if unit is None:
        raise Invalid("Unknown unit", details={field: [f"no unit with {field} {value} / 未找到该设备"]})
    return unit


@atomic
def report(*, actor: Actor, source: str = "phone", equipment_id: int | None = None,
           rescue_code: str | None = None, caller_phone: str | None = None, reason: str | None = None,
           at: dt.datetime | None = None) -> tuple[Incident, bool]:
    """A call-taker (96333 code read by the caller) or manual entry at the desk."""
    if actor.role not in INTAKE_ROLES:
        raise Forbidden("Only the dispatch desk enters incidents / 仅调度台可登记")
    unit = _resolve_unit(equipment_id=equipment_id, rescue_code=rescue_code)
    return open_incident(equipment_id=unit.id, source=source, reason=reason, caller_phone=caller_phone,
                         at=at, actor=actor)


def report_public(*, tag: str, kind: str, caller_phone: str | None = None, **more):
    """The public scan page's report (no login): see emergency/public.py for routing by family."""
    from equipment.emergency import public  # late: public.py opens incidents through this module (cycle)
    return public.submit(tag=tag, kind=kind, reply_phone=caller_phone, **more)


@atomic
def decline_offer(*, actor: Actor, incident_id: int, reason: str, now: dt.datetime | None = None) -> Incident:
    """The crew turns the offer down (拒单) with a reason; the next able crew is offered it at once."""
    if not (reason or "").strip():
        raise Invalid("A reason is required to decline", details={"reason": ["required / 请填写拒单原因"]})
    now = now or utcnow()
    incident = _locked(incident_id)
    crew = crews.crew_of(actor) if actor.role == "crew" else None
    offer = dispatch.active_offer(incident.id, crew.id, statuses=("offered",)) if crew else None
    if offer is None:
        raise InvalidState("No open offer to decline / 没有待接的派单", details={"status": [incident.status]})
    offer.status, offer.responded_at = "declined", now
    timeline.record(incident.id, "declined", actor=actor, at=now, crew_id=crew.id, crew_name=crew.name,
                    level=offer.level, reason=reason.strip())
    if incident.status == "dispatched" and dispatch.active_offer(incident.id) is None:
        dispatch.offer_next(incident, level=offer.level, now=now)
    return incident


# --- the rules table: which dispatch policy runs live ---------------------------------------------------

RULE_ROLES = ("regulator", "admin")  # sending another unit's crew is the regulator's decision


def dispatch_rules() -> tuple[int, dict]:
    return rules.current()


def dispatch_rule_bounds() -> dict:
    """{key: (lowest, highest)} of the escalation numbers, as `set_dispatch_rule` enforces them."""
    return {key: (low, high) for key, (_, low, high, _, _) in rules.NUMBERS.items()}


def dispatch_rule_history(*, page: int = 1, per_page: int = 20) -> dict:
    """Versions newest first, each with the rules it replaced (the app settings before the first)."""
    return rulesets.history(DispatchRuleSet, page=page, per_page=per_page, base=rules.defaults())


@atomic
def set_dispatch_rule(*, actor: Actor, key: str, value, note: str | None = None):
    """A regulator's edit of one entry: a new version (audited), read by the next dispatch decision."""
    if actor.role not in RULE_ROLES:
        raise Forbidden("Only the regulator sets the dispatch policy / 仅监管部门可设置派单策略")
    stored = rules.check(key, value)
    updated = {**rules.current()[1], key: stored}
    return rules.new_version(updated, note=note or f"edit {key}", by=actor.username)
