"""Rescue statistics per period, district, maintenance unit or cause (DOMAIN.md §6: 3-minute response
rate, 30-minute arrival rate, average arrival and on-site times, causes).

The two rates count every incident of the period that needed a rescue: one nobody accepted (or reached) is a
miss, not a gap in the data. False alarms and cancellations are left out of the denominator (nobody was
trapped, so there was nothing to respond to; they are counted in `false_alarms`). An open incident whose
limit has not yet passed is neither a hit nor a miss yet, so it waits until it is decided.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from equipment.core.actor import Actor
from equipment.core.models import utcnow
from equipment.core.regions import region_label
from equipment.emergency.models import CrewMember, Incident
from equipment.emergency.queries import scope
from equipment.emergency.text import TEXT
from equipment.extensions import db
from equipment.registry import service as registry

RESPONSE_S, ARRIVAL_S, ARRIVAL_15_S = 180, 1800, 900
COLUMNS = ("group", "label", "count", "false_alarms", "avg_response_s", "response_3min_rate", "avg_arrival_s",
           "arrival_30min_rate", "avg_rescue_s", "causes", "p90_arrival_s", "arrival_15min_rate",
           "other_unit_share")


def _secs(a, b):
    return (b - a).total_seconds() if a and b else None


def _mean(values):
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 1) if values else None


def _rate(rows, done_field: str, limit_s: int, now) -> float | None:
    """Share of `rows` done within `limit_s` of the report; undone past the limit counts as a miss."""
    hits = decided = 0
    for row in rows:
        took = _secs(row.reported_at, getattr(row, done_field))
        if took is None and (now - row.reported_at).total_seconds() < limit_s:
            continue  # still within its limit: not decided yet
        decided += 1
        hits += took is not None and took <= limit_s
    return round(hits / decided, 4) if decided else None


def _p90(values) -> float | None:
    """Nearest-rank 90th percentile of the arrivals that happened (the tail the simulation reports too)."""
    values = sorted(v for v in values if v is not None)
    return round(values[max(0, math.ceil(0.9 * len(values)) - 1)], 1) if values else None


def _other_unit_share(rows) -> float | None:
    """Accepted rescues done by a crew of another unit than the contracted one (a regulator's figure)."""
    taken = [r for r in rows if r.accepted_at is not None and r.crew_org_id is not None]
    if not taken:
        return None
    return round(sum(r.crew_org_id != r.maintenance_org_id for r in taken) / len(taken), 4)


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
            Incident.status, Incident.cause, Incident.district_code, Incident.maintenance_org_id,
            CrewMember.org_id.label("crew_org_id"))
    stmt = scope(select(*cols).outerjoin(CrewMember, CrewMember.id == Incident.crew_id), actor)
    stmt = stmt.where(Incident.kind == "rescue")  # rescue figures: no fault notices
    if date_from:
        stmt = stmt.where(Incident.reported_at >= dt.datetime.combine(date_from, dt.time(), tz))
    if date_to:
        stmt = stmt.where(Incident.reported_at < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tz))
    return db.session.execute(stmt.order_by(Incident.reported_at)).all()


def _summarise(key: str, rows, now, label: str | None = None) -> dict:
    real = [r for r in rows if r.status not in ("false_alarm", "cancelled")]
    response = [_secs(r.reported_at, r.accepted_at) for r in real]
    arrival = [_secs(r.reported_at, r.arrived_at) for r in real]
    return {"group": key, "label": label or key, "count": len(rows), "false_alarms": len(rows) - len(real),
            "avg_response_s": _mean(response), "response_3min_rate": _rate(real, "accepted_at", RESPONSE_S, now),
            "avg_arrival_s": _mean(arrival), "arrival_30min_rate": _rate(real, "arrived_at", ARRIVAL_S, now),
            "avg_rescue_s": _mean([_secs(r.arrived_at, r.released_at) for r in real]),
            "causes": dict(Counter(r.cause for r in rows if r.cause)),
            "p90_arrival_s": _p90(arrival), "arrival_15min_rate": _rate(real, "arrived_at", ARRIVAL_15_S, now),
            "other_unit_share": _other_unit_share(real)}


def incident_stats(*, actor: Actor, date_from: dt.date | None = None, date_to: dt.date | None = None,
                   group: str = "month") -> dict:
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    rows = _rows(actor, date_from, date_to, tz)
    groups = defaultdict(list)
    for row in rows:
        groups[_key(row, group, tz)].append(row)
    now, labels = utcnow(), _labels(group, groups)
    items = [_summarise(k, groups[k], now, labels.get(k)) for k in sorted(groups)]
    return {"group_by": group, "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None, "items": items,
            "total": _summarise("all", rows, now, "合计")}


def _labels(group: str, keys) -> dict[str, str]:
    """Chinese names for the group keys: districts by GB/T 2260 name, units by name, causes in words."""
    if "-" in keys:
        return {"-": "未注明", **_labels(group, [k for k in keys if k != "-"])}
    if group == "district":
        return {k: region_label(k) for k in keys}
    if group == "maintenance_unit":
        return {k: registry.get_organization(int(k)).name for k in keys if k.isdigit()}
    if group == "cause":
        return {k: TEXT[f"cause.{k}"][0] for k in keys if f"cause.{k}" in TEXT}
    return {}


def to_csv(result: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for item in [*result["items"], result["total"]]:
        writer.writerow([item[c] if c != "causes" else ";".join(f"{k}={v}" for k, v in sorted(item[c].items()))
                         for c in COLUMNS])
    return buf.getvalue()
