"""Demo city: a year of periodic inspections (a few failed, a few now overdue) and due dates for every unit; the
demo inspection agency is named on every lift, so the demo inspector has units, due dates and overdue work."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from equipment.auth import service as auth
from equipment.core.actor import Actor
from equipment.extensions import db
from equipment.inspections import jobs, obligations, service
from equipment.registry import service as registry


def demo_seed(*, orgs, rng) -> None:
    regulator = auth.find_user("regulator")
    actor = Actor(user_id=regulator.id, username=regulator.username, role="regulator", org_id=None)
    today = obligations.today_local()
    jobs.new_units()
    units = registry.unit_view()
    elevators = db.session.scalars(select(units.c.id).where(units.c.family == "elevator").order_by(units.c.id))
    for n, unit_id in enumerate(elevators):
        # 12-month interval: inspected 13-14 months ago means overdue today, as ~8% of a real fleet is
        days_ago = rng.randint(20, 360) if rng.random() > 0.08 else rng.randint(380, 420)
        conclusion = "fail" if rng.random() < 0.03 else "pass"
        service.record_inspection(actor=actor, equipment_id=unit_id, kind="periodic",
                                  date=today - dt.timedelta(days=days_ago), conclusion=conclusion,
                                  report_no=f"FZTJ-{today.year}-{n:05d}", items=[], defects=[])
        service.assign_agency(actor=actor, equipment_id=unit_id, agency_org_id=orgs["agency"].id)
    jobs.refresh(today)
