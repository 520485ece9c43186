"""Reminders reach a real SMTP sink and a webhook exactly once: across restarts and with concurrent senders.

These tests need committed data seen by several sessions, so they use a fresh database, not the `db` fixture.
"""
import collections
import datetime as dt
import threading

from sqlalchemy import select, update

from equipment.core.actor import SYSTEM, acting_as
from equipment.inspections import schedule
from tests.support.sinks import HttpSink as WebhookSink, SmtpSink


def _start(url, smtp_url):
    from tests.conftest import make_app
    application = make_app(url)
    application.config["SMTP_URL"] = smtp_url
    return application


def _seed(application, hook_url, offsets=(30, 7, 1)):
    """Three elevators due in 30, 7 and 1 days; the user unit wants e-mail, the agency a webhook."""
    from equipment.extensions import db
    from equipment.inspections import jobs, reminders, service
    from equipment.inspections.models import Obligation
    from tests.factories import Factory
    with application.app_context(), acting_as(SYSTEM):
        f = Factory(db)
        owner, agency = f.org("user_unit"), f.org("inspection_agency")
        units = [f.elevator(user_org=owner) for _ in offsets]
        jobs.new_units()
        for unit in units:
            service.assign_agency(actor=SYSTEM, equipment_id=unit.id, agency_org_id=agency.id)
        reminders.add_contact(actor=SYSTEM, org_id=owner.id, channel="email", address="safety@owner.example")
        reminders.add_contact(actor=SYSTEM, org_id=agency.id, channel="webhook", address=hook_url)
        today = jobs.obligations.today_local()
        for unit, offset in zip(units, offsets):
            db.session.execute(update(Obligation).where(Obligation.equipment_id == unit.id).values(
                next_due=today + dt.timedelta(days=offset)))
        # maintenance far away: this test counts inspection reminders only
        db.session.execute(update(Obligation).where(Obligation.kind == "maintenance").values(
            next_due=today + dt.timedelta(days=300)))
        db.session.commit()
        return today, [u.id for u in units]


def _run_jobs(application, today, **kw):
    from equipment.inspections import jobs, reminders
    with application.app_context(), acting_as(SYSTEM):
        jobs.daily_refresh(today)
        return reminders.send_due(**kw)


def _rows(application):
    from equipment.extensions import db
    from equipment.inspections.models import Reminder
    with application.app_context():
        return db.session.execute(select(Reminder.id, Reminder.status, Reminder.offset_days)).all()


def _dispose(*apps):
    from equipment.extensions import db
    for application in apps:
        with application.app_context():
            db.engine.dispose()


def test_each_reminder_once_across_restart(committed_url):
    with SmtpSink() as smtp, WebhookSink() as hook:
        first = _start(committed_url, smtp.url)
        today, _ = _seed(first, hook.url)
        assert _run_jobs(first, today) == 6
        assert sorted(r.offset_days for r in _rows(first)) == [1, 1, 7, 7, 30, 30]
        assert len(smtp.messages) == 3 and len(hook.requests) == 3
        assert all(m["to"] == ["safety@owner.example"] for m in smtp.messages)
        assert sorted(r["json"]["offset_days"] for r in hook.requests) == [1, 7, 30]
        # a lift's user applies a month before the due day (rules.json: apply_before_months)
        assert all(r["json"]["apply_by"] == schedule.add_months(dt.date.fromisoformat(r["json"]["due_date"]),
                                                                 -1).isoformat() for r in hook.requests)
        # the scheduler restarts (a new process = a new app and engine) and runs everything again
        _dispose(first)
        second = _start(committed_url, smtp.url)
        assert _run_jobs(second, today) == 0
        # and the next days: the 30-day unit is now in the 7-day window, exactly one new delivery pair
        assert _run_jobs(second, today + dt.timedelta(days=1)) == 0
        assert _run_jobs(second, today + dt.timedelta(days=23)) == 2
        assert len(smtp.messages) == 4 and len(hook.requests) == 4
        assert {r.status for r in _rows(second)} == {"sent"}
        ids = [m["id"] for m in smtp.messages]
        assert len(ids) == len(set(ids))
        _dispose(second)


def test_two_concurrent_senders_deliver_each_once(committed_url):
    with SmtpSink() as smtp, WebhookSink() as hook:
        one, two = _start(committed_url, smtp.url), _start(committed_url, smtp.url)
        today, _ = _seed(one, hook.url)
        from equipment.inspections import reminders
        with one.app_context(), acting_as(SYSTEM):
            assert reminders.generate(today=today) == 6
        with two.app_context(), acting_as(SYSTEM):
            assert reminders.generate(today=today) == 0  # the unique key makes generation idempotent
        sent = collections.Counter()
        barrier = threading.Barrier(2)

        def sender(application, name):
            with application.app_context(), acting_as(SYSTEM):
                barrier.wait(timeout=10)
                sent[name] = reminders.send_due(worker=name, batch=1)

        threads = [threading.Thread(target=sender, args=(a, n)) for a, n in ((one, "A"), (two, "B"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sent["A"] + sent["B"] == 6
        ids = [m["id"] for m in smtp.messages]
        assert len(ids) == 3 and len(set(ids)) == 3
        hooks = [r["json"]["reminder_id"] for r in hook.requests]
        assert len(hooks) == 3 and len(set(hooks)) == 3
        assert {r.status for r in _rows(one)} == {"sent"}
        _dispose(one, two)


def test_failed_delivery_is_retried_and_smtp_down_keeps_mail_pending(committed_url):
    with WebhookSink() as hook:
        application = _start(committed_url, None)
        today, _ = _seed(application, hook.url)
        # no SMTP configured: webhooks go, e-mails wait (their attempts are not burnt)
        assert _run_jobs(application, today) == 3
        statuses = collections.Counter(r.status for r in _rows(application))
        assert statuses == {"sent": 3, "pending": 3}
        with SmtpSink() as smtp:
            application.config["SMTP_URL"] = smtp.url
            assert _run_jobs(application, today) == 3
            assert len(smtp.messages) == 3
        _dispose(application)


def test_the_reminder_says_by_when_to_apply_and_follows_the_rules_table(app, f, db):
    from equipment.inspections import reminders, rules, service
    from equipment.inspections.models import Reminder
    from equipment.inspections.obligations import today_local
    lift, today = f.elevator(), today_local()
    soon = Reminder(obligation_kind="inspection", due_date=today + dt.timedelta(days=60), offset_days=60, id=1)
    message = reminders._message(soon, lift)
    apply_by = schedule.add_months(soon.due_date, -1)
    assert message["payload"]["apply_by"] == apply_by.isoformat()
    assert f"请于 {apply_by.isoformat()} 前向检验机构申报定期检验" in message["body"]
    late = Reminder(obligation_kind="inspection", due_date=today + dt.timedelta(days=7), offset_days=7, id=2)
    assert "已过，请立即向检验机构申报定期检验" in reminders._message(late, lift)["body"]
    upkeep = Reminder(obligation_kind="maintenance", due_date=soon.due_date, offset_days=60, id=3)
    assert reminders._message(upkeep, lift)["payload"]["apply_by"] is None
    cylinder = f.cylinder()
    assert reminders._message(soon, cylinder)["payload"]["apply_by"] is None  # the rule is the lifts'

    with acting_as(SYSTEM):
        entry = {**rules.current_rules()["elevator.inspection"], "apply_before_months": 2}
        service.set_rule(actor=SYSTEM, key="elevator.inspection", value=entry, note="提前两个月申报")
    moved = schedule.add_months(soon.due_date, -2).isoformat()
    assert reminders._message(soon, lift)["payload"]["apply_by"] == moved
