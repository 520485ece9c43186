"""Scan-page reports: what each family offers, where a report goes, abuse limits, the desk's confirmation.

困人 is not 故障 and a cylinder is not a lift:
- lift / escalator: 困人 (trapped) opens a rescue incident, *unverified*; 故障 (fault) is a notice to the
  maintenance unit (no rescue ladder, no 119);
- cylinder / vessel: "report a problem" (leak, damage, overdue, other) goes to the user unit and is listed
  for the district's regulators; never a rescue.
Every report gets a tracking number. A report on a unit with an open incident joins it. Over the limits
(per client, IPv6 by /64, and per tag, counted in the database so all processes share them) a report is
still stored and shown to the desk, flagged, and offered to nobody: the emergency path never answers 429.
"""
from __future__ import annotations

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from equipment.core import shared_limit
from equipment.core.actor import PUBLIC, Actor, acting_as
from equipment.core.db import atomic, get_or_404, paginate
from equipment.core.errors import Forbidden, Invalid, NotFound
from equipment.core.models import utcnow
from equipment.core.ratelimit import parse_rate
from equipment.emergency import dispatch, outbox, service, timeline
from equipment.emergency.models import PROBLEMS, Incident, Notification, PublicReport
from equipment.extensions import db
from equipment.registry import service as registry

# What the scan page offers per family (the order is the page's order: the main action first).
ACTIONS = {"lift": ("trapped", "fault"), "escalator": ("trapped", "fault"),
           "cylinder": ("problem",), "vessel": ("problem",), "other": ("problem",)}
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
VERIFY_METHODS = ("callback", "intercom")


def family_of(unit) -> str:
    if unit.family == "elevator":
        return "escalator" if (unit.category_code or "").startswith("33") else "lift"
    return {"gas_cylinder": "cylinder", "pressure_vessel": "vessel"}.get(unit.family, "other")


def actions_for(unit) -> tuple[str, ...]:
    return ACTIONS[family_of(unit)]


def new_tracking_no(now: dt.datetime) -> str:
    day = now.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y%m%d")
    return f"R{day}-" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(6))


def _check(kind: str, family: str, problem: str | None) -> None:
    offered = ACTIONS[family]
    if kind not in offered:
        raise Invalid("This report is not offered for this equipment",
                      details={"kind": [f"one of {', '.join(offered)} / 此设备不提供该报告类型"]})
    if kind == "problem" and problem not in PROBLEMS:
        raise Invalid("Say what the problem is", details={"problem": [f"one of {', '.join(PROBLEMS)} / 请选择问题类型"]})


def _over_limit(unit_id: int, client_hash: str, now: dt.datetime) -> bool:
    """Both counters always count (a flood from many addresses on one tag, or one address on many tags)."""
    cfg = current_app.config
    by_client = shared_limit.hit("report_client", client_hash, **_limit(cfg["PUBLIC_REPORT_RATE_LIMIT"]), now=now)
    by_tag = shared_limit.hit("report_unit", str(unit_id), **_limit(cfg["PUBLIC_REPORT_TAG_LIMIT"]), now=now)
    return not (by_client[0] and by_tag[0])


def _limit(text: str) -> dict:
    count, window = parse_rate(text)
    return {"limit": count if count > 0 else 1 << 30, "window_s": window}


@atomic
def submit(*, tag: str, kind: str, problem: str | None = None, description: str | None = None,
           reply_phone: str | None = None, client_addr: str | None = None) -> PublicReport:
    """Store a scan-page report and route it by family; returns the report (tracking number, incident)."""
    unit = registry.resolve_tag(tag)
    family = family_of(unit)
    _check(kind, family, problem)
    now = utcnow()
    client = shared_limit.client_hash(client_addr)
    report = PublicReport(
        tracking_no=new_tracking_no(now), equipment_id=unit.id, family=family, kind=kind,
        problem=problem if kind == "problem" else None, description=description, reply_phone=reply_phone,
        client_hash=client, over_limit=_over_limit(unit.id, client, now), status="received", verified=False,
        district_code=unit.district_code, created_at=now,
        route_org_id=unit.maintenance_org_id if kind == "fault" else unit.user_org_id if kind == "problem" else None)
    with acting_as(PUBLIC):
        db.session.add(report)
        db.session.flush()
        _route(report, unit, now)
    return report


def _route(report: PublicReport, unit, now: dt.datetime) -> None:
    common = {"equipment_id": unit.id, "source": "public", "reason": _reason(report),
              "caller_phone": report.reply_phone, "at": now, "actor": PUBLIC}
    if report.kind == "trapped" or service.open_incident_of(unit.id) is not None:
        # a report on a unit in rescue joins that rescue
        incident, _ = service.open_incident(**common, verified=False, hold=report.over_limit)
        report.status = "rescue"
    elif report.over_limit or not report.route_org_id:
        return  # listed for the desk (and the district) only
    elif report.kind == "fault":  # the same 故障 notice a critical fault code raises: one path to the maintenance unit
        incident, _ = service.report_fault(**common, tracking_no=report.tracking_no)
        report.status = "fault"
    else:
        _notify_org(report, unit)
        return
    report.incident_id = incident.id
    timeline.record(incident.id, "public_report", actor=PUBLIC, at=now, tracking_no=report.tracking_no,
                    report_kind=report.kind, over_limit=report.over_limit or None)


def _reason(report: PublicReport) -> str:
    text = f"public: {report.kind}" + (f" ({report.problem})" if report.problem else "")
    return (text + (f" {report.description}" if report.description else ""))[:200]


HEAD = "【扫码问题报告】请使用单位处理"
PROBLEM_ZH = {"leak": "泄漏", "damage": "损坏", "overdue": "超期未检", "other": "其他"}


def _notify_org(report: PublicReport, unit) -> Notification:
    """A cylinder's or vessel's problem: a notice to the user unit through the outbox (no incident, nothing
    escalates); the regulator lists it by district."""
    org = registry.get_organization(report.route_org_id)
    what = PROBLEM_ZH.get(report.problem or "", "其他")
    code = unit.rescue_code or unit.device_code or unit.registration_code or unit.cylinder_code or "-"
    text = " ".join(p for p in (HEAD, f"编号 {report.tracking_no}", unit.address, f"设备 {code}",
                                what, report.description or "",
                                f"报告人回电 {report.reply_phone}" if report.reply_phone else "") if p)
    note = Notification(incident_id=None, kind=f"{report.kind}_report", status="pending", attempts=0,
                        recipient={"name": org.name, "phone": org.phone, "org_id": org.id},
                        payload={"kind": f"{report.kind}_report", "text": text, "report": {
                            "tracking_no": report.tracking_no, "equipment_id": unit.id, "address": unit.address,
                            "code": code, "problem": report.problem, "district_code": report.district_code}},
                        next_attempt_at=utcnow(), log=[])
    db.session.add(note)
    outbox.deliver_after_commit()
    return note


# --- the desk ------------------------------------------------------------------------------------

DESK = ("dispatcher", "admin")


def _desk(actor: Actor) -> None:
    if actor.role not in DESK:
        raise Forbidden("Only the dispatcher may do this / 仅调度员可操作")


@atomic
def verify_incident(*, actor: Actor, incident_id: int, method: str, notes: str | None = None,
                    now: dt.datetime | None = None) -> Incident:
    """The dispatcher confirmed a public report by call-back or intercom: the full ladder applies from now."""
    _desk(actor)
    if method not in VERIFY_METHODS:
        raise Invalid("How was it confirmed?", details={"method": [f"one of {', '.join(VERIFY_METHODS)}"]})
    incident = service.locked_incident(incident_id)
    if not incident.verified:
        _confirm(incident, actor=actor, method=method, notes=notes, now=now or utcnow())
    return incident


def _confirm(incident: Incident, *, actor: Actor, method: str, notes: str | None, now: dt.datetime) -> None:
    with acting_as(actor):
        incident.verified, incident.verified_at, incident.verify_method = True, now, method
        timeline.record(incident.id, "verified", actor=actor, at=now, method=method, notes=notes)
        for report in db.session.scalars(select(PublicReport).where(PublicReport.incident_id == incident.id)):
            report.verified = True
        _resume(incident, now=now, actor=actor)


def _resume(incident: Incident, *, now: dt.datetime, actor: Actor) -> None:
    """Pick the ladder up where the gate stopped it: the next crew, or the brigade if already overdue."""
    if incident.status in ("reported", "dispatched") and dispatch.active_offer(incident.id) is None:
        dispatch.offer_next(incident, level=min(incident.level, 2), now=now, actor=actor)
    if incident.arrival_overdue and incident.fire_notified_at is None and incident.is_open:
        dispatch.call_fire_brigade(incident, now=now, actor=actor, why="arrival_overdue")


@atomic
def report_to_rescue(*, actor: Actor, report_id: int) -> tuple[PublicReport, Incident]:
    """The call-taker turns any report (a fault, a cylinder leak) into a rescue, confirmed by the desk."""
    _desk(actor)
    report = get_or_404(PublicReport, report_id, "No such report")
    incident, _ = service.open_incident(equipment_id=report.equipment_id, source="public",
                                        reason=_reason(report), caller_phone=report.reply_phone, actor=actor)
    with acting_as(actor):
        report.incident_id, report.status, report.verified = incident.id, "rescue", True
        timeline.record(incident.id, "public_report", actor=actor, tracking_no=report.tracking_no,
                        report_kind=report.kind, converted=True)
    if not incident.verified:  # it joined an unverified one: the call-taker's decision confirms it
        _confirm(incident, actor=actor, method="callback", notes="report_to_rescue", now=utcnow())
    return report, incident


# --- who sees which report ---------------------------------------------------------------------------

READ_ALL = ("dispatcher", "admin", "regulator")
PHONE_READERS = ("dispatcher", "admin")


def _scoped(stmt, actor: Actor):
    """Desk and regulators see all (by district on request); an owner the reports on its units; a maintenance
    crew the fault reports routed to its company. Nobody else sees any."""
    if actor.role in READ_ALL:
        return stmt
    if actor.role == "owner" and actor.org_id:
        return stmt.where(registry.scope(actor, PublicReport.equipment_id))
    if actor.role == "crew" and actor.org_id:
        return stmt.where(PublicReport.kind == "fault", PublicReport.route_org_id == actor.org_id)
    raise Forbidden("Your role does not receive public reports / 无权查看扫码报告")


def list_reports(*, actor: Actor, kind=None, status=None, district=None, equipment_id=None,
                 page: int = 1, per_page: int = 50) -> dict:
    stmt = _scoped(select(PublicReport), actor).order_by(PublicReport.created_at.desc(), PublicReport.id.desc())
    for column, value in ((PublicReport.kind, kind), (PublicReport.status, status),
                          (PublicReport.equipment_id, equipment_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if district:
        stmt = stmt.where(PublicReport.district_code.startswith(district))
    result = paginate(stmt, page=page, per_page=per_page)
    result["items"] = [report_view(r, actor=actor) for r in result["items"]]
    return result


def report_view(report: PublicReport, *, actor: Actor) -> dict:
    """The reply phone is personal data: only the desk and the organisation that must reply see it."""
    out = {c.key: getattr(report, c.key) for c in PublicReport.__table__.columns if c.key != "client_hash"}
    if not (actor.role in PHONE_READERS or (actor.org_id and actor.org_id == report.route_org_id)):
        out["reply_phone"] = None
    unit = registry.load_equipment(report.equipment_id)
    out["address"] = unit.address if unit else None
    return out


def tracking_status(tracking_no: str) -> dict:
    """What the citizen may see of their report: no personal data."""
    report = db.session.scalar(select(PublicReport).where(PublicReport.tracking_no == tracking_no))
    if report is None:
        raise NotFound("No such report / 未找到该报告")
    return {"tracking_no": report.tracking_no, "kind": report.kind, "family": report.family,
            "status": report.status, "verified": report.verified, "created_at": report.created_at}
