"""Outbox delivery: a channel that raises, 500s or hangs never loses the incident; the next one carries it."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from equipment.core.db import transaction
from equipment.core.models import utcnow
from equipment.emergency import channels, jobs, notify, service
from equipment.emergency.models import IncidentEvent, Notification
from equipment.extensions import db as _db
from tests.emergency.helpers import seed_committed, world
from tests.support.live import until
from tests.support.sinks import HttpSink, SmtpSink


@pytest.fixture()
def channel_env(app, monkeypatch):
    """Point the channels at local sinks through the environment, as an operator would."""
    def configure(**values):
        for key in ("WEBHOOK_URL", "SMS_URL", "SMTP_HOST", "SMTP_PORT", "NOTIFY_TIMEOUT_S", "NOTIFY_CHANNELS"):
            monkeypatch.delenv(f"EQUIPMENT_{key}", raising=False)
        for key, value in values.items():
            monkeypatch.setenv(f"EQUIPMENT_{key}", str(value))
    return configure


def _open(f):
    _, [(_, member)], unit = world(f)
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor")
    return inc, member


def _note(db, incident_id, kind="crew_dispatch"):
    return db.session.scalars(select(Notification).where(Notification.incident_id == incident_id,
                                                         Notification.kind == kind)).one()


def _timeline(db, incident_id):
    return {e.kind: e for e in db.session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id))}


def test_webhook_500_falls_through_to_sms(db, f, channel_env):
    with HttpSink("500") as hook, HttpSink("ok") as sms:
        channel_env(WEBHOOK_URL=hook.url, SMS_URL=sms.url)
        inc, member = _open(f)
        assert jobs.deliver() == {"sent": 1, "retry": 0, "failed": 0}
    note = _note(db, inc.id)
    assert note.status == "sent" and note.channel == "sms"
    assert [a["channel"] for a in note.log] == ["webhook", "sms"] and "500" in note.log[0]["error"]
    assert len(hook.requests) == 1 and sms.requests[0]["json"]["to"] == member.phone
    assert str(inc.id) in sms.requests[0]["json"]["text"]
    assert _timeline(db, inc.id)["notified"].data["channel"] == "sms"
    assert inc.status == "dispatched"


def test_hanging_webhook_costs_only_its_timeout(db, f, channel_env):
    with HttpSink("hang", hang_s=3) as hook, HttpSink("ok") as sms:
        channel_env(WEBHOOK_URL=hook.url, SMS_URL=sms.url, NOTIFY_TIMEOUT_S="0.5")
        inc, _ = _open(f)
        started = time.monotonic()
        assert jobs.deliver()["sent"] == 1
        assert time.monotonic() - started < 2.5
    note = _note(db, inc.id)
    assert note.channel == "sms" and "timed out" in note.log[0]["error"].lower()


def test_raising_channel_then_email(db, f, channel_env, monkeypatch):
    class Broken:
        def send(self, **_):
            raise RuntimeError("gateway library crashed")
    monkeypatch.setitem(channels.CHANNELS, "broken", Broken())
    with SmtpSink() as smtp:
        channel_env(NOTIFY_CHANNELS="broken,email", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port,
                    SMTP_TO="duty@maint.example")
        inc, _ = _open(f)
        assert jobs.deliver()["sent"] == 1
        note = _note(db, inc.id)
        assert note.channel == "email" and "gateway library crashed" in note.log[0]["error"]
        assert smtp.messages and smtp.messages[0]["to"] == ["duty@maint.example"]


def test_all_down_retries_with_backoff_then_delivers(db, f, channel_env):
    with HttpSink("500") as hook:
        channel_env(WEBHOOK_URL=hook.url)
        inc, _ = _open(f)
        t0 = utcnow()
        assert jobs.deliver(now=t0) == {"sent": 0, "retry": 1, "failed": 0}
        note = _note(db, inc.id)
        assert note.status == "pending" and note.attempts == 1
        assert (note.next_attempt_at - t0).total_seconds() == notify.backoff_s(1)
        assert jobs.deliver(now=t0)["retry"] == 0  # not due yet: nothing claimed
        hook.mode = "ok"
        assert jobs.deliver(now=note.next_attempt_at)["sent"] == 1
    assert note.status == "sent" and note.attempts == 2
    assert inc.status == "dispatched"
    kinds = _timeline(db, inc.id)
    assert "notify_retry" in kinds and "notified" in kinds


def test_gives_up_after_max_attempts_and_says_so(db, f, channel_env):
    with HttpSink("500") as hook:
        channel_env(WEBHOOK_URL=hook.url, NOTIFY_MAX_ATTEMPTS="2")
        inc, _ = _open(f)
        t0 = utcnow()
        jobs.deliver(now=t0)
        assert jobs.deliver(now=t0 + notify.backoff_s(1) * __import__("datetime").timedelta(seconds=1)) == {
            "sent": 0, "retry": 0, "failed": 1}
    assert _note(db, inc.id).status == "failed"
    assert "notify_failed" in _timeline(db, inc.id)


def _status(incident_id):
    """One short read that ends its transaction (SQLite: no write lock held against the delivery thread)."""
    try:
        return _db.session.scalar(select(Notification.status).where(Notification.incident_id == incident_id))
    finally:
        _db.session.remove()


def test_committed_notification_goes_out_without_the_job_and_a_rolled_back_one_never(committed_app, channel_env):
    """Emergency asks for its own delivery once the transaction that wrote the notice commits: no deliver job
    runs here, and whoever committed (a request, the consumer, a job) did not ask. A rolled-back incident's
    notice is never sent."""
    unit_id, _ = seed_committed(committed_app, accept_s=600)
    with HttpSink("ok") as hook:
        channel_env(WEBHOOK_URL=hook.url)
        with committed_app.app_context():
            with pytest.raises(RuntimeError):
                with transaction():
                    service.open_incident(equipment_id=unit_id, source="sensor")
                    raise RuntimeError("the caller failed after the incident was opened")
            inc, _ = service.open_incident(equipment_id=unit_id, source="sensor")
            inc_id = inc.id
            _db.session.remove()
        assert until(lambda: bool(hook.requests), 15, 0.05), "the committed notice was not sent within 15 s"
        with committed_app.app_context():
            assert until(lambda: _status(inc_id) == "sent", 15, 0.05)
            notes = _db.session.scalars(select(Notification)).all()
            _db.session.remove()
        time.sleep(0.5)  # a stray second send would have been made by now
    assert [(n.incident_id, n.kind) for n in notes] == [(inc_id, "crew_dispatch")]  # the undone one left no row
    assert [r["json"]["incident"]["incident_id"] for r in hook.requests] == [inc_id]
