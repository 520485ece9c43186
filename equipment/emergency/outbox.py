"""Writing notifications to the outbox, in the caller's transaction.

Delivery: once the transaction that wrote a notification commits, this process sends it at once on a background
thread (notify.deliver_soon, asked for here through core.db.after_commit, so whoever commits — the telemetry
consumer's batch, a request, a job — need not know); the `emergency.deliver` job catches whatever that misses.
A rolled-back transaction asks for nothing.
"""
from __future__ import annotations

from flask import current_app

from equipment.core.db import after_commit
from equipment.core.geo import lat_lon
from equipment.core.models import utcnow
from equipment.emergency import notify
from equipment.emergency.models import Incident, Notification
from equipment.extensions import db
from equipment.registry import service as registry
from equipment.web import i18n

KINDS = ("crew_dispatch", "fire_brigade", "arrival_overdue", "fault_notice")


def incident_brief(incident: Incident) -> dict:
    """Everything a crew or the fire brigade needs, with no further lookup."""
    unit = registry.load_equipment(incident.equipment_id)
    user_org = registry.get_organization(unit.user_org_id) if unit.user_org_id else None
    maint = registry.get_organization(unit.maintenance_org_id) if unit.maintenance_org_id else None
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    return {
        "incident_id": incident.id, "kind": incident.kind, "status": incident.status, "level": incident.level,
        "source": incident.source, "reason": incident.reason, "caller_phone": incident.caller_phone,
        "reported_at": incident.reported_at.isoformat(),
        "arrival_deadline": incident.arrival_deadline.isoformat() if incident.arrival_deadline else None,
        "address": unit.address, "location": lat_lon(unit.location),
        "rescue_code": unit.rescue_code, "device_code": unit.device_code,
        "registration_code": unit.registration_code, "equipment_id": unit.id,
        "attributes": unit.attributes or {},
        "user_unit": _org(user_org), "maintenance_unit": _org(maint),
        "crew_url": f"{base}/crew/jobs/{incident.id}", "console_url": f"{base}/console",
    }


def _org(org) -> dict | None:
    return {"name": org.name, "phone": org.phone} if org else None


def message_text(kind: str, brief: dict) -> str:
    loc = brief.get("location") or {}
    where = f"{brief['address']} ({loc.get('lat', '?')},{loc.get('lon', '?')})"
    head = {"crew_dispatch": "【96333 困人救援派单】", "fire_brigade": "【96333 请求119消防救援】",
            "arrival_overdue": "【96333 超时未到场】", "fault_notice": "【96333 电梯故障通知】"}.get(kind, "【96333】")
    reason = i18n.tr_lead("reason", brief.get("reason"), zh=True)  # an SMS is Chinese, not a code
    what = (f"故障 {brief.get('fault_code') or ''} {reason}".strip()
            if kind == "fault_notice" else f"第{brief['level']}级")
    parts = [head, f"事件#{brief['incident_id']} {what}",
             f"扫码报告编号 {brief['tracking_no']}" if brief.get("tracking_no") else "", where,
             f"救援码 {brief.get('rescue_code') or '-'}", f"设备代码 {brief.get('device_code') or '-'}"]
    if brief.get("caller_phone"):
        parts.append(f"报警人 {brief['caller_phone']}")
    if brief.get("maintenance_unit"):
        parts.append(f"维保 {brief['maintenance_unit']['name']} {brief['maintenance_unit'].get('phone') or ''}")
    if kind == "crew_dispatch":
        parts.append(f"请尽快接单: {brief['crew_url']}")
    elif kind == "fault_notice":
        parts.append("请立即安排维保人员到场检查处置")
    return " ".join(p for p in parts if p)


def enqueue(*, incident: Incident, kind: str, recipient: dict, extra: dict | None = None) -> Notification:
    brief = incident_brief(incident)
    brief.update(extra or {})
    note = Notification(incident_id=incident.id, kind=kind, recipient=recipient, status="pending",
                        payload={"kind": kind, "text": message_text(kind, brief), "incident": brief},
                        attempts=0, next_attempt_at=utcnow(), log=[])
    db.session.add(note)
    deliver_after_commit()
    return note


def deliver_after_commit() -> None:
    """Ask for prompt delivery once the caller's transaction commits (once per transaction, not per row)."""
    app = current_app._get_current_object()
    after_commit(lambda: notify.deliver_soon(app), key="emergency.deliver_soon")
