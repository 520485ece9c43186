"""Reminders 30/7/1 days before due, by e-mail (SMTP) and webhook, each delivered once.

Creation is idempotent (INSERT ... SELECT ... ON CONFLICT DO NOTHING on the delivery key), sending claims
rows atomically (status pending -> sending in one UPDATE, FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite
serialises writers), so a restarted or a second scheduler process never sends a delivery twice. A sender
that dies between the SMTP hand-off and marking the row sent leaves it "sending"; it is retried after
`stale_claim_minutes`, the one window where a duplicate is possible (better than a lost safety reminder).
"""
from __future__ import annotations

import datetime as dt
import os
import smtplib
import socket
from email.message import EmailMessage
from urllib.parse import urlparse

import requests
from flask import current_app
from sqlalchemy import and_, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from equipment.core import outbound
from equipment.core.db import atomic, is_sqlite, paginate
from equipment.core.errors import Conflict, Forbidden, Invalid
from equipment.core.models import utcnow
from equipment.extensions import db
from equipment.inspections import rules as rules_mod
from equipment.inspections import schedule
from equipment.inspections.models import Obligation, Reminder, ReminderContact
from equipment.inspections.obligations import today_local
from equipment.registry import service as registry

KIND_ZH = {"inspection": "定期检验", "maintenance": "维护保养"}


def smtp_url() -> str | None:
    return current_app.config.get("SMTP_URL") or os.environ.get("EQUIPMENT_SMTP_URL")


def _insert():
    return (sqlite if is_sqlite() else postgresql).insert(Reminder)


@atomic
def generate(*, today: dt.date) -> int:
    """Queue the deliveries whose reminder day has come: the smallest offset whose window holds the due date."""
    units = registry.unit_view()
    cfg = rules_mod.current_rules()["reminders"]
    offsets = sorted(int(x) for x in cfg["offsets_days"])
    created, previous = 0, 0
    for offset in offsets:
        low, high = schedule.add_days(today, previous), schedule.add_days(today, offset)
        for org_column in (units.c.user_org_id, Obligation.responsible_org_id):
            rows = (select(Obligation.equipment_id, Obligation.kind, Obligation.next_due, literal(offset),
                           ReminderContact.id, literal("pending"), literal(0), literal(utcnow(), Reminder.created_at.type))
                    .join(units, units.c.id == Obligation.equipment_id)
                    .join(ReminderContact, ReminderContact.org_id == org_column)
                    .where(Obligation.next_due > low, Obligation.next_due <= high,
                           units.c.status.notin_(("scrapped", "idle")),
                           ReminderContact.channel.in_(cfg["channels"])))
            stmt = _insert().from_select(["equipment_id", "obligation_kind", "due_date", "offset_days", "contact_id",
                                          "status", "attempts", "created_at"], rows).on_conflict_do_nothing()
            created += len(db.session.execute(stmt.returning(Reminder.id)).all())
        previous = offset
    return created


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@atomic
def claim(*, worker: str, batch: int = 50) -> list[int]:
    cfg = rules_mod.current_rules()["reminders"]
    now = utcnow()
    stale = now - dt.timedelta(minutes=cfg["stale_claim_minutes"])
    claimable = or_(Reminder.status == "pending",
                    and_(Reminder.status == "failed", Reminder.attempts < cfg["max_attempts"]),
                    and_(Reminder.status == "sending", Reminder.claimed_at < stale))
    pick = select(Reminder.id).where(claimable).order_by(Reminder.id).limit(batch)
    if not smtp_url():  # e-mail waits until SMTP is configured rather than burning its attempts
        pick = pick.where(Reminder.contact_id.in_(select(ReminderContact.id)
                                                  .where(ReminderContact.channel != "email")))
    if not is_sqlite():
        pick = pick.with_for_update(skip_locked=True)
    stmt = (update(Reminder).where(Reminder.id.in_(pick))
            .values(status="sending", claimed_by=worker, claimed_at=now, attempts=Reminder.attempts + 1)
            .returning(Reminder.id))
    return sorted(db.session.execute(stmt.execution_options(synchronize_session=False)).scalars())


@atomic
def _finish(reminder_id: int, worker: str, error: str | None) -> None:
    values = {"status": "failed", "error": error[:2000]} if error else {"status": "sent", "sent_at": utcnow(),
                                                                          "error": None}
    stmt = update(Reminder).where(Reminder.id == reminder_id, Reminder.claimed_by == worker,
                                  Reminder.status == "sending").values(**values)
    db.session.execute(stmt.execution_options(synchronize_session=False))


def _message(reminder: Reminder, unit) -> dict:
    code = unit.device_code or unit.registration_code or unit.cylinder_code or f"#{unit.id}"
    what = KIND_ZH.get(reminder.obligation_kind, reminder.obligation_kind)
    apply_by = _apply_by(reminder, unit)
    subject = f"【特种设备到期提醒】{code} {what}将于 {reminder.due_date.isoformat()} 到期"
    body = (f"设备 {code}（{unit.address}）的{what}将于 {reminder.due_date.isoformat()} 到期，"
            f"还有 {reminder.offset_days} 天。{_apply_zh(apply_by)}\n"
            f"Reminder: {reminder.obligation_kind} of unit {code} is due on {reminder.due_date.isoformat()} "
            f"({reminder.offset_days} days){_apply_en(apply_by)}.")
    return {"subject": subject, "body": body, "payload": {
        "type": "due_reminder", "equipment_id": unit.id, "code": code, "obligation": reminder.obligation_kind,
        "due_date": reminder.due_date.isoformat(), "offset_days": reminder.offset_days,
        "apply_by": apply_by.isoformat() if apply_by else None, "reminder_id": reminder.id}}


def _apply_by(reminder: Reminder, unit) -> dt.date | None:
    """A lift's user applies to the inspection agency a month before the periodic inspection is due (DOMAIN.md
    §3, TSG T7001): the rules table's `apply_before_months`, so the owner is told by when, not only the due day."""
    if reminder.obligation_kind != "inspection" or unit.family != "elevator":
        return None
    months = (rules_mod.current_rules().get("elevator.inspection") or {}).get("apply_before_months")
    return schedule.add_months(reminder.due_date, -int(months)) if months else None


def _apply_zh(apply_by: dt.date | None) -> str:
    if apply_by is None:
        return "请及时安排。"
    if apply_by < today_local():
        return f"申报期限 {apply_by.isoformat()} 已过，请立即向检验机构申报定期检验。"
    return f"请于 {apply_by.isoformat()} 前向检验机构申报定期检验。"


def _apply_en(apply_by: dt.date | None) -> str:
    return f"; apply to the inspection agency by {apply_by.isoformat()}" if apply_by else ""


def _send_email(address: str, msg: dict) -> None:
    url = urlparse(smtp_url())
    email = EmailMessage()
    email["From"] = current_app.config.get("SMTP_FROM", "noreply@equipment.local")
    email["To"] = address
    email["Subject"] = msg["subject"]
    email["X-Reminder-Id"] = str(msg["payload"]["reminder_id"])
    email.set_content(msg["body"])
    with smtplib.SMTP(url.hostname, url.port or 25, timeout=15) as smtp:
        if url.username:
            smtp.starttls()
            smtp.login(url.username, url.password or "")
        smtp.send_message(email)


def _send_webhook(address: str, msg: dict) -> None:
    outbound.check_destination(address)  # again: the name may resolve elsewhere now
    resp = requests.post(address, json=msg["payload"], timeout=10, allow_redirects=False)
    resp.raise_for_status()
    if resp.is_redirect:
        raise outbound.UnsafeDestination(f"redirected ({resp.status_code}); redirects are not followed")


CHANNELS = {"email": _send_email, "webhook": _send_webhook}


def _deliver(reminder_id: int, worker: str) -> bool:
    row = db.session.execute(select(Reminder, ReminderContact).join(
        ReminderContact, ReminderContact.id == Reminder.contact_id).where(Reminder.id == reminder_id)).first()
    error = None
    try:
        msg = _message(row.Reminder, registry.load_equipment(row.Reminder.equipment_id))
        db.session.rollback()  # end the read transaction before the network call (SQLite holds a lock)
        CHANNELS[row.ReminderContact.channel](row.ReminderContact.address, msg)
    except Exception as err:  # a failed channel is recorded and retried, never stops the batch
        error = f"{type(err).__name__}: {err}"
    _finish(reminder_id, worker, error)
    return error is None


def send_due(*, worker: str | None = None, batch: int = 50, max_batches: int = 100) -> int:
    """Claim and deliver until nothing is claimable; returns the number delivered by this worker."""
    worker = worker or worker_name()
    sent = 0
    for _ in range(max_batches):
        ids = claim(worker=worker, batch=batch)
        if not ids:
            break
        sent += sum(_deliver(rid, worker) for rid in ids)
    return sent


@atomic
def add_contact(*, actor, org_id: int, channel: str, address: str) -> ReminderContact:
    if not (actor.is_global or actor.org_id == org_id):
        raise Forbidden("You may set contacts of your own organisation only")
    if not registry.organization_exists(org_id):
        raise Invalid("Unknown organisation", details={"org_id": ["no such organisation"]})
    if channel not in CHANNELS:
        raise Invalid("Unknown channel", details={"channel": [f"one of {', '.join(CHANNELS)}"]})
    if channel == "webhook":
        try:
            outbound.check_destination(address)
        except outbound.UnsafeDestination as err:
            raise Invalid("Invalid webhook / 回调地址无效", details={"address": [str(err)]}) from None
    if channel == "email" and "@" not in address:
        raise Invalid("Invalid e-mail", details={"address": ["must be an e-mail address"]})
    exists = db.session.scalar(select(ReminderContact.id).where(
        ReminderContact.org_id == org_id, ReminderContact.channel == channel, ReminderContact.address == address))
    if exists:
        raise Conflict("Contact exists", details={"address": ["already registered"]})
    contact = ReminderContact(org_id=org_id, channel=channel, address=address)
    db.session.add(contact)
    db.session.flush()
    return contact


def list_reminders(*, actor, equipment_id: int | None = None, status: str | None = None,
                   page: int = 1, per_page: int = 50) -> dict:
    stmt = select(Reminder).where(registry.scope(actor, Reminder.equipment_id)).order_by(Reminder.id)
    if equipment_id:
        stmt = stmt.where(Reminder.equipment_id == equipment_id)
    if status:
        stmt = stmt.where(Reminder.status == status)
    return paginate(stmt, page=page, per_page=per_page)
