"""Rescue statistics per period, district, maintenance unit or cause (DOMAIN.md §6: 3-minute response
rate, 30-minute arrival rate, average arrival and on-site times, causes)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from equipment.core.actor import Actor
from equipment.emergency.models import Incident
from equipment.emergency.queries import scope
from equipment.extensions import db

RESPONSE_S, ARRIVAL_S = 180, 1800
COLUMNS = ("group", "count", "false_alarms", "avg_response_s", "response_3min_rate", "avg_arrival_s",
           "arrival_30min_rate", "avg_rescue_s", "causes")


def _secs(a, b):
    return (b - a).total_seconds() if a and b else None


def _mean(values):
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 1) if values else None


def _rate(values, limit):
    values = [v for v in values if v is not None]
    return round(sum(1 for v in values if v <= limit) / len(values), 4) if values else None


def _key(row, group: str, tz) -> str:
    if group in ("day", "month"):
        local = row.reported_at.astimezone(tz)
        return local.strftime("%Y-%m-%d" if group == "day" else "%Y-%m")
    if group == "district":
        return row.district_code or "-"
    if group == "maintenance_unit":
        return str(row.maintenance_org_id or "-")
    return row.cause or "-"


def _rows(actor: Actor, date_from, date_to, tz):
    cols = (Incident.reported_at, Incident.accepted_at, Incident.arrived_at, Incident.released_at,
            Incident.status, Incident.cause, Incident.district_code, Incident.maintenance_org_id)
    stmt = scope(select(*cols), actor)
    if date_from:
        stmt = stmt.where(Incident.reported_at >= dt.datetime.combine(date_from, dt.time(), tz))
    if date_to:
        stmt = stmt.where(Incident.reported_at < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tz))
    return db.session.execute(stmt.order_by(Incident.reported_at)).all()


def _summarise(key: str, rows) -> dict:
    real = [r for r in rows if r.status not in ("false_alarm", "cancelled")]
    response = [_secs(r.reported_at, r.accepted_at) for r in real]
    arrival = [_secs(r.reported_at, r.arrived_at) for r in real]
    return {"group": key, "count": len(rows), "false_alarms": len(rows) - len(real),
            "avg_response_s": _mean(response), "response_3min_rate": _rate(response, RESPONSE_S),
            "avg_arrival_s": _mean(arrival), "arrival_30min_rate": _rate(arrival, ARRIVAL_S),
            "avg_rescue_s": _mean([_secs(r.arrived_at, r.released_at) for r in real]),
            "causes": dict(Counter(r.cause for r in rows if r.cause))}


def incident_stats(*, actor: Actor, date_from: dt.date | None = None, date_to: dt.date | None = None,
                   group: str = "month") -> dict:
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    rows = _rows(actor, date_from, date_to, tz)
    groups = defaultdict(list)
    for row in rows:
        groups[_key(row, group, tz)].append(row)
    items = [_summarise(k, groups[k]) for k in sorted(groups)]
    return {"group_by": group, "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None, "items": items,
            "total": _summarise("all", rows)}


def to_csv(result: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for item in [*result["items"], result["total"]]:
        writer.writerow([item[c] if c != "causes" else ";".join(f"{k}={v}" for k, v in sorted(item[c].items()))
                         for c in COLUMNS])
    return buf.getvalue()
