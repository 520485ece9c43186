"""Shared set-up for emergency tests: a maintenance unit with crews around a unit in Fuzhou."""
from __future__ import annotations

from equipment.core.actor import SYSTEM, acting_as
from equipment.emergency import crews

UNIT_LAT, UNIT_LON = 26.08, 119.30


def crew(f, org, *, lat=None, lon=None, on_duty=True, phone=None, email=None):
    user = f.user("crew", org)
    with acting_as(SYSTEM):
        member = crews.register_crew(user_id=user.id, org_id=org.id, on_duty=on_duty, lat=lat, lon=lon,
                                     phone=phone or f"1390000{user.id:04d}", email=email)
    return user, member


def world(f, *, crews_near=1, lat=UNIT_LAT, lon=UNIT_LON):
    """A maintenance unit with `crews_near` on-duty crews about 1-3 km away and an elevator it maintains."""
    maint = f.org("maintenance_unit")
    team = [crew(f, maint, lat=lat + 0.01 * (i + 1), lon=lon) for i in range(crews_near)]
    unit = f.elevator(maint_org=maint, lat=lat, lon=lon)
    return maint, team, unit


def dispatcher(f):
    return f.user("dispatcher", f.org("emergency_centre"))


def run_service(app, fn: str, **kw) -> int:
    """Call emergency.service.<fn> in its own app context (a committed transaction, as another process
    would); returns the incident id."""
    from equipment.emergency import service
    from equipment.extensions import db
    with app.app_context():
        result = getattr(service, fn)(**kw)
        incident = result[0] if isinstance(result, tuple) else result
        out = incident.id
        db.session.remove()
        return out


def seed_committed(application, *, crews_n=1, accept_s=1.0):
    """world() on a committed app, committed; returns (unit id, crew member ids)."""
    from tests.factories import Factory
    from equipment.extensions import db
    application.config["ACCEPT_DEADLINE_S"] = accept_s
    with application.app_context(), acting_as(SYSTEM):
        _, team, unit = world(Factory(db), crews_near=crews_n)
        ids = unit.id, [m.id for _, m in team]
        db.session.remove()
    return ids
