"""Delivering the outbox: claim due rows, send through the channels in order, record every attempt.

A failing or hanging channel costs at most its timeout and the next channel is tried; if all fail the row
is retried with exponential backoff. The incident itself was committed before any of this runs, so a
notifier can never lose or block it. Sends run in a small thread pool (no database work in the threads).

The `emergency.deliver` job runs this every second; `deliver_soon(app)` runs it at once on a background
thread of the calling process, asked for by outbox.enqueue once the transaction that wrote the notification
commits (so a trapped passenger's crew is not waiting up to a second for the next job run, whichever
process opened the incident). Claims are
row locks with SKIP LOCKED plus a lease, so the job and prompt runs never send a row twice; within one
process they also take turns (SQLite has no SKIP LOCKED). A process with no channel configured does not
deliver promptly (its log-only fallback would mark rows sent): give consumers the same EQUIPMENT_WEBHOOK_URL
/ SMS / SMTP settings as the jobs process.
"""
from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

from sqlalchemy import select

from equipment.core.actor import SYSTEM, acting_as
from equipment.core.db import atomic
from equipment.core.models import utcnow
from equipment.emergency import channels, config, timeline
from equipment.emergency.models import Notification
from equipment.extensions import db

log = logging.getLogger("equipment.emergency.notify")
BATCH = 50
LEASE_S = 120  # a claimed row whose sender died is picked up again after this
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="notify")
_turn = threading.Lock()  # one deliver_due at a time in this process
_kicks: queue.SimpleQueue = queue.SimpleQueue()
_kicker: threading.Thread | None = None
_kicker_lock = threading.Lock()


def backoff_s(attempts: int) -> float:
    return min(300.0, 2.0 * 2 ** max(0, attempts - 1))


@atomic
def _claim(now: dt.datetime) -> list[dict]:
    stmt = (select(Notification).where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.id).limit(BATCH).with_for_update(skip_locked=True))
    claimed = []
    for note in db.session.scalars(stmt):
        note.attempts += 1
        note.next_attempt_at = now + dt.timedelta(seconds=LEASE_S)
        claimed.append({"id": note.id, "recipient": dict(note.recipient or {}), "payload": dict(note.payload)})
    return claimed


def send_one(recipient: dict, payload: dict, order: list[str], timeout: float) -> tuple[str | None, list]:
    """Try each channel until one succeeds; returns (channel or None, attempt log)."""
    attempts = []
    for name in order:
        started = time.monotonic()
        entry = {"at": utcnow().isoformat(), "channel": name}
        try:
            entry["result"] = channels.CHANNELS[name].send(recipient=recipient, payload=payload, timeout=timeout)
            entry["ok"] = True
        except channels.Skip as why:
            entry.update(ok=False, skipped=str(why))
        except Exception as err:  # noqa: BLE001  any channel failure means: log it, try the next
            entry.update(ok=False, error=f"{type(err).__name__}: {err}"[:300])
            log.warning("channel %s failed for %s: %s", name, payload.get("kind"), entry["error"])
        entry["ms"] = round((time.monotonic() - started) * 1000)
        attempts.append(entry)
        if entry["ok"]:
            return name, attempts
    return None, attempts


def _order() -> list[str]:
    return channels.configured_order() if channels.any_configured() else ["log"]


def deliver_due(now: dt.datetime | None = None) -> dict:
    with _turn:
        return _deliver_due(now or utcnow())


def _deliver_due(now: dt.datetime) -> dict:
    claimed = _claim(now)
    if not claimed:
        return {"sent": 0, "retry": 0, "failed": 0}
    order, timeout = _order(), config.notify_timeout_s()
    if "log" in order:
        channels.CHANNELS.setdefault("log", channels.LogOnly())
    futures = {_pool.submit(send_one, c["recipient"], c["payload"], order, timeout): c["id"] for c in claimed}
    done, _ = wait(futures, timeout=timeout * len(order) + 5)
    results = {}
    for fut, note_id in futures.items():
        results[note_id] = fut.result() if fut in done else (None, [{"channel": "*", "ok": False,
                                                                     "error": "send did not finish in time"}])
    return _record(results, now)


@atomic
def _record(results: dict, now: dt.datetime) -> dict:
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for note_id, (channel, attempts) in results.items():
        note = db.session.get(Notification, note_id)
        note.log = [*(note.log or []), *attempts][-50:]
        if channel:
            note.status, note.channel, note.sent_at, note.last_error = "sent", channel, now, None
            counts["sent"] += 1
            _on_timeline(note, "notified", channel=channel, tried=[a["channel"] for a in attempts])
            continue
        note.last_error = "; ".join(a.get("error") or a.get("skipped", "") for a in attempts)[-500:]
        if note.attempts >= config.notify_max_attempts():
            note.status = "failed"
            counts["failed"] += 1
            _on_timeline(note, "notify_failed", error=note.last_error)
        else:
            note.next_attempt_at = now + dt.timedelta(seconds=backoff_s(note.attempts))
            counts["retry"] += 1
            _on_timeline(note, "notify_retry", error=note.last_error, attempt=note.attempts)
    return counts


def _on_timeline(note: Notification, kind: str, **data) -> None:
    if note.incident_id is not None:
        timeline.record(note.incident_id, kind, notification_id=note.id, notification=note.kind,
                        to=note.recipient.get("name"), **data)


def deliver_soon(app) -> None:
    """Run deliver_due now on this process's background thread (started on first use); never blocks."""
    global _kicker
    with _kicker_lock:
        if _kicker is None or not _kicker.is_alive():
            _kicker = threading.Thread(target=_deliver_on_kick, name="notify-now", daemon=True)
            _kicker.start()
    _kicks.put(app)


def _deliver_on_kick() -> None:
    while True:
        apps = [_kicks.get()]
        while not _kicks.empty():  # kicks that came meanwhile are served by the same run
            app = _kicks.get()
            if all(app is not a for a in apps):
                apps.append(app)
        for app in apps:
            with app.app_context(), acting_as(SYSTEM):
                if not channels.any_configured():
                    # This process has no channel settings (e.g. a consumer started without them): the
                    # log-only fallback would mark the row sent; leave it to the deliver job's process.
                    continue
                try:
                    deliver_due()
                except Exception:  # noqa: BLE001  the emergency.deliver job picks the rows up
                    log.exception("prompt notification delivery failed; the deliver job retries")
                finally:
                    db.session.remove()
