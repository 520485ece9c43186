"""Crew members: duty, position, and the nearest able crew by a spatial-index query on either store.

Across units (level 2, and any search without a unit filter) the spatial index does the work. PostGIS:
KNN ordering (`<->`) walks the GiST index behind an `&&` box; the few nearest candidates are re-ranked by
the exact geodesic distance (geography). SpatiaLite: the R*Tree behind the geometry column is searched
with a bounding box that grows until the best exact distance lies inside the searched circle.
Within one unit (level 1) its few crews come from the org index and are ordered by exact distance.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text

from equipment.auth.service import get_user
from equipment.core.actor import Actor
from equipment.core.db import atomic, get_or_404, is_sqlite
from equipment.core.errors import Forbidden, Invalid
from equipment.core.geo import degree_box, lat_lon, point
from equipment.core.models import utcnow
from equipment.emergency import config
from equipment.emergency.models import ACTIVE_DISPATCH, OPEN_STATUSES, CrewMember
from equipment.extensions import db

KNN_CANDIDATES = 8  # re-ranked exactly; planar degree order and geodesic order differ only slightly
SQLITE_RADII_M = (2_000, 8_000, 32_000, 128_000, 512_000, 4_000_000)
_IN = lambda values: "(" + ", ".join(f"'{v}'" for v in values) + ")"  # noqa: E731  constants only
BUSY_SQL = (f"NOT EXISTS (SELECT 1 FROM dispatches d JOIN incidents i ON i.id = d.incident_id "
            f"WHERE d.crew_id = c.id AND d.status IN {_IN(ACTIVE_DISPATCH)} AND i.status IN {_IN(OPEN_STATUSES)})")


@dataclass(frozen=True)
class Candidate:
    crew_id: int
    org_id: int
    distance_m: float


# --- registration, duty, position -----------------------------------------------------------------

@atomic
def register_crew(*, user_id: int, org_id: int | None = None, name=None, phone=None, email=None,
                  on_duty: bool = False, lat: float | None = None, lon: float | None = None) -> CrewMember:
    user = get_user(user_id)
    org_id = org_id or user.org_id
    if org_id is None:
        raise Invalid("Crew needs an organisation", details={"org_id": ["required"]})
    crew = db.session.scalar(select(CrewMember).where(CrewMember.user_id == user_id))
    if crew is None:
        crew = CrewMember(user_id=user_id, org_id=org_id, on_duty=on_duty)
        db.session.add(crew)
    crew.name = name or crew.name or user.display_name or user.username
    crew.phone = phone or crew.phone or user.phone
    crew.email = email or crew.email
    crew.on_duty = on_duty
    if lat is not None and lon is not None:
        crew.location, crew.position_at = point(lat, lon), utcnow()
    db.session.flush()
    return crew


def crew_of(actor: Actor) -> CrewMember | None:
    if actor.user_id is None:
        return None
    return db.session.scalar(select(CrewMember).where(CrewMember.user_id == actor.user_id))


def _own_crew(actor: Actor) -> CrewMember:
    if actor.role != "crew":
        raise Forbidden("Only crew members report duty and position")
    crew = crew_of(actor)
    if crew is None:  # first report creates the crew record for a crew user of a maintenance unit
        crew = register_crew(user_id=actor.user_id)
    return crew


@atomic
def set_duty(*, actor: Actor, on_duty: bool) -> CrewMember:
    crew = _own_crew(actor)
    crew.on_duty = bool(on_duty)
    return crew


@atomic
def report_position(*, actor: Actor, lat: float, lon: float, on_duty: bool | None = None) -> CrewMember:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid("Bad position", details={"location": ["lat in [-90, 90], lon in [-180, 180]"]})
    crew = _own_crew(actor)
    crew.location, crew.position_at = point(lat, lon), utcnow()
    if on_duty is not None:
        crew.on_duty = bool(on_duty)
    return crew


def get_crew(crew_id: int) -> CrewMember:
    return get_or_404(CrewMember, crew_id, "No such crew member")


def positions(crew_ids) -> dict[int, tuple[float, float]]:
    """(lat, lon) of these crews, for the pure choice rule (choice.py)."""
    ids = list(crew_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(CrewMember.id, CrewMember.location).where(CrewMember.id.in_(ids)))
    return {crew_id: (p["lat"], p["lon"]) for crew_id, loc in rows if (p := lat_lon(loc)) is not None}


# --- nearest able crew ----------------------------------------------------------------------------

def nearest_crews(*, lat: float, lon: float, org_id: int | None = None, exclude_org_id: int | None = None,
                  radius_m: float | None = None, exclude_ids=(), limit: int = 1) -> list[Candidate]:
    """On-duty crews with a position and no active job, nearest first (exact geodesic metres)."""
    where, params = _filters(org_id, exclude_org_id, exclude_ids)
    params.update(lat=lat, lon=lon)
    if is_sqlite():
        return _nearest_sqlite(where, params, radius_m, limit)
    return _nearest_pg(where, params, radius_m, limit)


def _filters(org_id, exclude_org_id, exclude_ids) -> tuple[list[str], dict]:
    where = ["c.on_duty = :on", "c.location IS NOT NULL", BUSY_SQL]
    params: dict = {"on": True}
    if org_id is not None:
        where.append("c.org_id = :org_id")
        params["org_id"] = org_id
    if exclude_org_id is not None:
        where.append("c.org_id <> :exclude_org_id")
        params["exclude_org_id"] = exclude_org_id
    for n, crew_id in enumerate(exclude_ids):
        where.append(f"c.id <> :x{n}")
        params[f"x{n}"] = int(crew_id)
    return where, params


def _box(lat: float, lon: float, radius_m: float) -> dict:
    dlat, dlon = degree_box(lat, radius_m)
    return {"minx": lon - dlon, "maxx": lon + dlon, "miny": lat - dlat, "maxy": lat + dlat}


def _nearest_pg(where, params, radius_m, limit) -> list[Candidate]:
    here = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
    if radius_m is not None:
        # The && box lets the GiST index prune; ST_DWithin on geography is the exact test.
        where = [*where, "c.location && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)",
                 f"ST_DWithin(c.location::geography, {here}::geography, :radius)"]
        params = {**params, **_box(params["lat"], params["lon"], radius_m), "radius": radius_m}
    # One unit's crews (level 1) are few: the org index plus exact distances beats walking the GiST
    # index past every other unit's crews, and stays fast under psycopg's generic prepared plans.
    order = "d" if "org_id" in params and radius_m is None else f"c.location <-> {here}"
    sql = (f"SELECT c.id, c.org_id, ST_Distance(c.location::geography, {here}::geography) AS d "
           f"FROM crew_members c WHERE {' AND '.join(where)} "
           f"ORDER BY {order} LIMIT :k")
    rows = db.session.execute(text(sql), {**params, "k": max(limit, KNN_CANDIDATES)}).all()
    ranked = sorted((Candidate(r[0], r[1], float(r[2])) for r in rows), key=lambda c: c.distance_m)
    return ranked[:limit]


def _nearest_sqlite(where, params, radius_m, limit) -> list[Candidate]:
    if "org_id" in params and radius_m is None:  # level 1: one unit's few crews, as on PostgreSQL
        return _sqlite_exact(where, params, limit)
    radii = [r for r in SQLITE_RADII_M if radius_m is None or r < radius_m]
    radii.append(radius_m if radius_m is not None else SQLITE_RADII_M[-1])
    best: list[Candidate] = []
    for r in radii:
        best = _sqlite_within(where, params, r, limit)
        # Anything outside the box is farther than r, so candidates within r are final.
        if len(best) >= limit and best[limit - 1].distance_m <= r:
            return best[:limit]
    return [c for c in best if radius_m is None or c.distance_m <= radius_m][:limit]


def _sqlite_exact(where, params, limit) -> list[Candidate]:
    sql = (f"SELECT c.id, c.org_id, ST_Distance(c.location, MakePoint(:lon, :lat, 4326), 1) AS d "
           f"FROM crew_members c WHERE {' AND '.join(where)} ORDER BY d LIMIT :k")
    return [Candidate(r[0], r[1], float(r[2])) for r in db.session.execute(text(sql), {**params, "k": limit})]


def _sqlite_within(where, params, radius_m, limit) -> list[Candidate]:
    here = "MakePoint(:lon, :lat, 4326)"
    sql = (f"SELECT c.id, c.org_id, ST_Distance(c.location, {here}, 1) AS d FROM crew_members c "
           f"WHERE c.id IN (SELECT pkid FROM idx_crew_members_location WHERE xmin <= :maxx AND xmax >= :minx "
           f"AND ymin <= :maxy AND ymax >= :miny) AND {' AND '.join(where)} ORDER BY d LIMIT :k")
    rows = db.session.execute(text(sql), {**params, **_box(params["lat"], params["lon"], radius_m),
                                          "k": limit}).all()
    return [Candidate(r[0], r[1], float(r[2])) for r in rows]


# --- the console's choice list ----------------------------------------------------------------------

ROAD_FACTOR = 1.3  # streets are longer than the straight line


def eta_minutes(distance_m: float | None) -> int | None:
    """A rough drive time for the dispatcher's choice (CREW_ETA_KMH, default 25 km/h in city traffic)."""
    if distance_m is None or distance_m != distance_m:
        return None
    kmh = config.setting("CREW_ETA_KMH", 25.0)
    return max(1, round(distance_m * ROAD_FACTOR / 1000 / kmh * 60))


def able_near(*, lat: float | None, lon: float | None, contracted_org_id: int | None,
              limit: int = 6) -> list[Candidate]:
    """The nearest able crews of any unit, with the contracted unit's nearest always among them."""
    if lat is None or lon is None:
        stmt = select(CrewMember).where(CrewMember.org_id == contracted_org_id, CrewMember.on_duty.is_(True),
                                        text(BUSY_SQL.replace("c.id", "crew_members.id"))).limit(limit)
        return [Candidate(c.id, c.org_id, float("nan")) for c in db.session.scalars(stmt)]
    found = {c.crew_id: c for c in nearest_crews(lat=lat, lon=lon, limit=limit)}
    if contracted_org_id is not None:
        for c in nearest_crews(lat=lat, lon=lon, org_id=contracted_org_id, limit=2):
            found.setdefault(c.crew_id, c)
    return sorted(found.values(), key=lambda c: c.distance_m)
