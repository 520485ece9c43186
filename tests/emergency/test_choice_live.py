"""Live dispatch makes exactly the offers the pure rule (choice.choose_crew, what the simulation runs) makes
on the same small world, for every policy, at the first offer and after the level-2 time."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from flask import current_app
from sqlalchemy import select

from equipment.core.models import utcnow
from equipment.emergency import choice, jobs, service
from equipment.emergency.models import Dispatch
from tests.emergency.helpers import crew

S = dt.timedelta(seconds=1)
LAT, LON = 32.06, 118.79


def _world(f, rng):
    """Three units, 3 crews each scattered over ~6 km, a fourth unit without crews; 6 lifts."""
    orgs = [f.org("maintenance_unit") for _ in range(4)]
    crews = []
    for org in orgs[:3]:
        for _ in range(3):
            lat, lon = LAT + rng.uniform(-0.03, 0.03), LON + rng.uniform(-0.03, 0.03)
            _, member = crew(f, org, lat=lat, lon=lon)
            crews.append(choice.Crew(member.id, org.id, lat, lon))
    lifts = [f.elevator(maint_org=orgs[i % 4], lat=LAT + rng.uniform(-0.03, 0.03),
                        lon=LON + rng.uniform(-0.03, 0.03)) for i in range(6)]
    return crews, lifts


def _live(db, incident_id):
    rows = db.session.scalars(select(Dispatch).where(Dispatch.incident_id == incident_id,
                                                     Dispatch.target == "crew").order_by(Dispatch.id))
    return [(o.crew_id, o.level) for o in rows]


def _pure(crews, unit, policy, *, tried=(), waited=0.0, now=None):
    from equipment.core.geo import lat_lon
    from equipment.emergency.dispatch import _local_hour
    loc = lat_lon(unit.location)
    state = choice.State(tuple(c for c in crews if c.id not in tried), frozenset(tried), 0)
    case = choice.Case(loc["lat"], loc["lon"], unit.maintenance_org_id, waited, _local_hour(now or utcnow()))
    got = choice.choose_crew(state, case, policy)
    return [(o.crew_id, o.level) for o in got.offers], got.call_119


@pytest.mark.parametrize("policy", ["contract", "ladder", "eta(2)", "pool"])
def test_live_offers_equal_the_rules_offers(db, f, monkeypatch, policy):
    monkeypatch.setitem(current_app.config, "DISPATCH_POLICY", policy)
    monkeypatch.setitem(current_app.config, "DISPATCH_PARALLEL", 2)
    monkeypatch.setitem(current_app.config, "LEVEL2_RADIUS_M", 4000.0)
    pol = choice.policy_from_settings(current_app.config)
    crews, lifts = _world(f, random.Random(14))
    compared = 0
    for unit in lifts:  # one incident at a time: every crew is free when its incident opens
        t0 = utcnow()
        inc, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
        first, _ = _pure(crews, unit, pol, now=t0)
        assert _live(db, inc.id) == first, (policy, unit.id)
        t1 = t0 + 301 * S  # the offers run out: the rule picks again, past the level-2 time
        jobs.escalate(now=t1)
        tried = {crew_id for crew_id, _ in first}
        second, call_119 = _pure(crews, unit, pol, tried=tried, waited=301.0, now=t1)
        assert _live(db, inc.id) == first + second, (policy, unit.id)
        assert (inc.fire_notified_at is not None) == call_119
        compared += len(first) + len(second)
        service.transition(actor=f.actor(f.user("dispatcher", f.org("emergency_centre"))), incident_id=inc.id,
                           action="cancel", now=t1 + S)
    assert compared >= 8  # the world gives both levels something to choose
