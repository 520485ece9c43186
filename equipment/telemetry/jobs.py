"""Periodic telemetry work (jobs as data). Each function is idempotent and safe beside running consumers."""
from __future__ import annotations

import datetime as dt
import logging
import time

from flask import current_app
from sqlalchemy import select, update

from equipment.core.db import atomic
from equipment.core.jobs import JobSpec
from equipment.core.models import utcnow
from equipment.extensions import db
from equipment.telemetry import alarms, ingest, rules
from equipment.telemetry.models import OFFLINE_CODE, LatestState, Terminal

log = logging.getLogger("equipment.telemetry.jobs")

JOBS = [
    JobSpec(id="telemetry.tick", func="equipment.telemetry.jobs:tick_rules", seconds=5),
    JobSpec(id="telemetry.offline", func="equipment.telemetry.jobs:mark_offline", seconds=30),
    JobSpec(id="telemetry.partitions", func="equipment.telemetry.jobs:ensure_partitions", cron={"hour": 3}),
]


def _pg() -> bool:
    return db.engine.dialect.name == "postgresql"


@atomic
def tick_rules(now: float | None = None) -> int:
    """Fire debounce timers (trapped, stop outside the door zone) for units whose terminal went quiet.

    Only rows with timers_armed are scanned; SKIP LOCKED leaves units a consumer is writing right now
    to that consumer (it runs the same timers itself) and to the next tick.
    """
    now = time.time() if now is None else now
    cfg = ingest.rule_config(current_app.config)
    t = LatestState.__table__
    stmt = select(t.c.equipment_id, t.c.rule_state).where(t.c.timers_armed.is_(True)).order_by(t.c.equipment_id)
    if _pg():
        stmt = stmt.with_for_update(skip_locked=True)
    effects, params = [], []
    for row in db.session.execute(stmt).all():
        rs = rules.UnitRuleState.from_dict(row.rule_state)
        fired = rules.tick(rs, now, cfg)
        if not fired:
            continue
        effects.extend((row.equipment_id, now, e) for e in fired)
        params.append({"eid": row.equipment_id, "rs": rs.to_dict(), "armed": ingest.timers_armed(rs)})
    for p in params:
        db.session.execute(update(t).where(t.c.equipment_id == p["eid"])
                           .values(rule_state=p["rs"], timers_armed=p["armed"]))
    ingest.apply_effects(effects, [])
    return len(params)


@atomic
def mark_offline(now: dt.datetime | None = None) -> list[int]:
    """Heartbeat timeout: units silent for OFFLINE_AFTER_S go offline (set-based) and get an offline alarm."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=float(current_app.config.get("OFFLINE_AFTER_S", 180)))
    t = LatestState.__table__
    stale = select(t.c.equipment_id, t.c.terminal_id).where(t.c.online.is_(True), t.c.last_seen_at < cutoff)
    if _pg():
        stale = stale.with_for_update(skip_locked=True)
    rows = db.session.execute(stale).all()
    if not rows:
        return []
    ids = [r.equipment_id for r in rows]
    db.session.execute(update(t).where(t.c.equipment_id.in_(ids), t.c.online.is_(True)).values(online=False))
    terminals = [r.terminal_id for r in rows if r.terminal_id]
    if terminals:
        db.session.execute(update(Terminal.__table__).where(Terminal.terminal_id.in_(terminals))
                           .values(online=False))
    for eid in ids:  # alarms are audited entities: one ORM upsert each (offline is rare per unit)
        alarms.raise_alarm(equipment_id=eid, code=OFFLINE_CODE, at=now, detail={"reason": "heartbeat_timeout"})
    return ids


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def ensure_partitions(today: dt.date | None = None, months_ahead: int = 2) -> list[str]:
    """PostgreSQL: create the monthly partitions of telemetry_states up to `months_ahead` ahead."""
    if not _pg():
        return []
    first = (today or dt.date.today()).replace(day=1)
    made = []
    for _ in range(months_ahead + 1):
        name = f"telemetry_states_{first:%Y%m}"
        with db.engine.begin() as conn:  # one month per transaction: a move out of the default is locked briefly
            if conn.exec_driver_sql("SELECT to_regclass(%s)", (name,)).scalar() is None:
                _create_partition(conn, name, first, _next_month(first))
                made.append(name)
        first = _next_month(first)
    return made


def _create_partition(conn, name: str, start: dt.date, end: dt.date) -> None:
    """PostgreSQL refuses a new partition while the default partition holds rows of its range (a terminal's
    clock far ahead, or a job that did not run for months): those rows move into it, in one transaction."""
    bounds = (f"{start.isoformat()} 00:00:00+00", f"{end.isoformat()} 00:00:00+00")
    ddl = f"CREATE TABLE {name} PARTITION OF telemetry_states FOR VALUES FROM ('{bounds[0]}') TO ('{bounds[1]}')"
    stranded = conn.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM telemetry_states_default WHERE ts >= %s AND ts < %s)", bounds).scalar()
    if not stranded:
        conn.exec_driver_sql(ddl)
        return
    # DETACH waits for every open transaction on the table, and ingest queues behind it meanwhile: give up
    # after 5 s (the job runs again) rather than stall the consumers behind a long report query.
    conn.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
    conn.exec_driver_sql("ALTER TABLE telemetry_states DETACH PARTITION telemetry_states_default")
    conn.exec_driver_sql(ddl)
    conn.exec_driver_sql(f"INSERT INTO {name} SELECT * FROM telemetry_states_default WHERE ts >= %s AND ts < %s",
                         bounds)
    conn.exec_driver_sql("DELETE FROM telemetry_states_default WHERE ts >= %s AND ts < %s", bounds)
    conn.exec_driver_sql("ALTER TABLE telemetry_states ATTACH PARTITION telemetry_states_default DEFAULT")
