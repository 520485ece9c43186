"""State machine: every legal transition stamps time and actor; every illegal one is InvalidState."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from equipment.core.errors import Forbidden, Invalid, InvalidState, NotFound
from equipment.emergency import service
from equipment.emergency.models import Dispatch, IncidentEvent
from equipment.emergency.transitions import MACHINE
from equipment.registry.models import HistoryEvent
from tests.emergency.helpers import dispatcher, world

ALL_STATES = ("reported", "dispatched", "accepted", "on_site", "released", "closed", "false_alarm", "cancelled")
PATH = [("accept", "accepted"), ("arrive", "on_site"), ("release", "released"), ("close", "closed")]


def _events(db, incident_id):
    return db.session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                              .order_by(IncidentEvent.id)).all()


def test_full_rescue_by_the_crew(db, f):
    _, [(user, member)], unit = world(f)
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor")
    assert inc.status == "dispatched" and inc.crew_id == member.id and inc.dispatched_at
    actor = f.actor(user)
    at_the_unit = {"lat": 26.0805, "lon": 119.30}  # the crew's phone, about 55 m from the unit
    for action, state in PATH:
        inc = service.transition(actor=actor, incident_id=inc.id, action=action, cause="door_system",
                                 proof=at_the_unit)
        assert inc.status == state
    assert inc.accepted_at <= inc.arrived_at <= inc.released_at <= inc.closed_at
    assert inc.cause == "door_system"
    evs = _events(db, inc.id)
    assert [e.kind for e in evs][-4:] == ["accepted", "on_site", "released", "closed"]
    assert all(e.actor_name == user.username for e in evs[-4:])
    offer = db.session.scalar(select(Dispatch).where(Dispatch.incident_id == inc.id))
    assert offer.status == "done"
    rescue = db.session.scalars(select(HistoryEvent.data).where(HistoryEvent.equipment_id == unit.id,
                                                                HistoryEvent.kind == "rescue")).all()
    assert [r["event"] for r in rescue] == ["reported", "closed"]


def _incident_in(f, state, desk):
    """Drive a fresh incident to `state` through the service (the dispatcher acts for the crew)."""
    _, _, unit = world(f)
    inc, _ = service.open_incident(equipment_id=unit.id, source="manual")
    steps = {"reported": [], "dispatched": [], "accepted": ["accept"], "on_site": ["accept", "arrive"],
             "released": ["accept", "arrive", "release"], "closed": ["accept", "arrive", "release", "close"],
             "false_alarm": ["false_alarm"], "cancelled": ["cancel"]}[state]
    if state == "reported":  # only transient in practice (auto-dispatch follows at once); set for the matrix
        inc.status = "reported"
        f.db.session.commit()
    for action in steps:
        service.transition(actor=desk, incident_id=inc.id, action=action, cause="other")
    assert inc.status == state
    return inc


@pytest.mark.parametrize("state", ALL_STATES)
def test_every_action_from_every_state(db, f, state):
    desk = f.actor(dispatcher(f))
    for action, (sources, target, _) in MACHINE.items():
        inc = _incident_in(f, state, desk)
        if state in sources and not (action == "accept" and state == "reported"):
            assert service.transition(actor=desk, incident_id=inc.id, action=action, cause="other").status == target
        else:
            with pytest.raises(InvalidState):
                service.transition(actor=desk, incident_id=inc.id, action=action, cause="other")
            assert inc.status == state


def test_close_needs_a_cause(db, f):
    desk = f.actor(dispatcher(f))
    inc = _incident_in(f, "released", desk)
    with pytest.raises(Invalid):
        service.transition(actor=desk, incident_id=inc.id, action="close")
    with pytest.raises(Invalid):
        service.transition(actor=desk, incident_id=inc.id, action="close", cause="gremlins")


def test_other_crew_and_roles_are_refused(db, f):
    _, [(user, _)], unit = world(f)
    other_org, [(stranger, _)], _ = world(f)
    inc, _ = service.open_incident(equipment_id=unit.id, source="sensor")
    with pytest.raises(NotFound):
        service.transition(actor=f.actor(stranger), incident_id=inc.id, action="accept")
    with pytest.raises(Forbidden):
        service.transition(actor=f.actor(f.user("regulator")), incident_id=inc.id, action="cancel")
    with pytest.raises(Forbidden):
        service.transition(actor=f.actor(user), incident_id=inc.id, action="cancel")
    assert inc.status == "dispatched"
