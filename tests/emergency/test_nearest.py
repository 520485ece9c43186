"""Nearest able crew on the real spatial store (PostGIS KNN / SpatiaLite R*Tree) against brute force."""
from __future__ import annotations

import random

from sqlalchemy import text

from equipment.auth.models import User
from equipment.core.geo import haversine_m, point
from equipment.emergency import crews
from equipment.emergency.models import CrewMember


def _crews(db, orgs, n, rng, lat0=26.08, lon0=119.30, spread=0.3):
    rows = []
    for i in range(n):
        org = orgs[i % len(orgs)]
        user = User(username=f"nearest-{rng.random()}", password_hash="x", role="crew", org_id=org.id)
        db.session.add(user)
        db.session.flush()
        lat, lon = lat0 + rng.uniform(-spread, spread), lon0 + rng.uniform(-spread, spread)
        member = CrewMember(user_id=user.id, org_id=org.id, on_duty=rng.random() > 0.2, location=point(lat, lon),
                            name=f"c{i}")
        db.session.add(member)
        rows.append((member, lat, lon))
    db.session.flush()
    return rows


def _brute(rows, lat, lon, *, org_id=None, exclude_org_id=None, radius_m=None):
    best = None
    for member, clat, clon in rows:
        if not member.on_duty or (org_id and member.org_id != org_id) or (exclude_org_id and member.org_id == exclude_org_id):
            continue
        d = haversine_m(lat, lon, clat, clon)
        if radius_m is not None and d > radius_m:
            continue
        if best is None or d < best[1]:
            best = (member.id, d)
    return best


def test_matches_brute_force(db, f):
    rng = random.Random(7)
    orgs = [f.org("maintenance_unit") for _ in range(3)]
    rows = _crews(db, orgs, 240, rng)
    for _ in range(25):
        lat, lon = 26.08 + rng.uniform(-0.35, 0.35), 119.30 + rng.uniform(-0.35, 0.35)
        for kw in ({}, {"org_id": orgs[0].id}, {"exclude_org_id": orgs[1].id, "radius_m": 6000.0}):
            got = crews.nearest_crews(lat=lat, lon=lon, **kw)
            want = _brute(rows, lat, lon, **kw)
            if want is None:
                assert got == [] or got[0].distance_m > kw.get("radius_m", 0) * 0.995
                continue
            assert got, (lat, lon, kw)
            # geodesic (ellipsoid) vs spherical distances differ by < 0.5 %: same crew unless a near-tie
            assert got[0].crew_id == want[0] or abs(got[0].distance_m - want[1]) < want[1] * 0.005 + 1
            assert abs(got[0].distance_m - want[1]) < want[1] * 0.005 + 1


def test_far_only_crew_is_still_found_for_level_one(db, f):
    org = f.org("maintenance_unit")
    user = f.user("crew", org)
    member = crews.register_crew(user_id=user.id, on_duty=True, lat=31.23, lon=121.47)  # Shanghai, ~600 km
    got = crews.nearest_crews(lat=26.08, lon=119.30, org_id=org.id)
    assert [c.crew_id for c in got] == [member.id] and 500_000 < got[0].distance_m < 800_000
    assert crews.nearest_crews(lat=26.08, lon=119.30, org_id=org.id, radius_m=10_000) == []


def test_query_uses_the_spatial_index(db, f, backend):
    """The plan names the index: GiST KNN on PostGIS, the R*Tree virtual table on SpatiaLite."""
    if backend == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in db.session.execute(text(
            "EXPLAIN SELECT id FROM crew_members c WHERE c.on_duty ORDER BY c.location <-> "
            "ST_SetSRID(ST_MakePoint(119.3, 26.08), 4326) LIMIT 8")))
        assert "idx_crew_members_location" in plan
    else:
        plan = " ".join(str(r[-1]) for r in db.session.execute(text(
            "EXPLAIN QUERY PLAN SELECT c.id FROM crew_members c WHERE c.id IN (SELECT pkid FROM "
            "idx_crew_members_location WHERE xmin <= 1 AND xmax >= 0 AND ymin <= 1 AND ymax >= 0)")))
        assert "VIRTUAL TABLE INDEX" in plan and "idx_crew_members_location" in plan
