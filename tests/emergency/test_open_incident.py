"""open_incident: one open incident per unit, later signals attach, history written."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from equipment.core.errors import Invalid, NotFound
from equipment.emergency import service
from equipment.emergency.models import Incident, IncidentEvent
from equipment.registry.models import HistoryEvent


def test_open_then_attach(db, f):
    unit = f.elevator()
    inc, created = service.open_incident(equipment_id=unit.id, source="sensor", reason="trapped")
    # No maintenance unit and no crew anywhere: straight to the fire brigade (level 3).
    assert created and inc.status == "dispatched" and inc.level == 3 and inc.fire_notified_at
    assert inc.arrival_deadline > inc.reported_at
    again, created2 = service.open_incident(equipment_id=unit.id, source="phone", caller_phone="13800000000")
    assert not created2 and again.id == inc.id
    assert again.signals == 2 and again.caller_phone == "13800000000"
    kinds = db.session.scalars(select(IncidentEvent.kind).where(IncidentEvent.incident_id == inc.id)
                               .order_by(IncidentEvent.id)).all()
    assert kinds[0] == "reported" and "signal" in kinds
    rescue = db.session.scalars(select(HistoryEvent).where(HistoryEvent.equipment_id == unit.id,
                                                           HistoryEvent.kind == "rescue")).all()
    assert len(rescue) == 1 and rescue[0].data["incident_id"] == inc.id


def test_database_refuses_second_open_incident(db, f):
    """The partial unique index is the real guard: a direct second insert must fail."""
    from sqlalchemy.exc import IntegrityError
    unit = f.elevator()
    inc, _ = service.open_incident(equipment_id=unit.id, source="manual")
    dup = Incident(equipment_id=unit.id, status="dispatched", source="manual", level=1, signals=1,
                   reported_at=inc.reported_at, arrival_overdue=False)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(dup)
            db.session.flush()


def test_closed_incident_allows_a_new_one(db, f):
    unit = f.elevator()
    inc, _ = service.open_incident(equipment_id=unit.id, source="manual")
    inc.status = "false_alarm"
    db.session.commit()
    inc2, created = service.open_incident(equipment_id=unit.id, source="sensor")
    assert created and inc2.id != inc.id


def test_open_joins_the_callers_transaction(db, f):
    """Called inside another @atomic function, a failure after it rolls the incident back too."""
    from equipment.core.db import atomic
    unit = f.elevator()

    @atomic
    def caller():
        service.open_incident(equipment_id=unit.id, source="sensor")
        raise RuntimeError("later step failed")

    with pytest.raises(RuntimeError):
        caller()
    assert db.session.scalar(select(Incident).where(Incident.equipment_id == unit.id)) is None


def test_bad_source_and_unknown_unit(db, f):
    unit = f.elevator()
    with pytest.raises(Invalid):
        service.open_incident(equipment_id=unit.id, source="pigeon")
    with pytest.raises(NotFound):
        service.open_incident(equipment_id=999999, source="sensor")
