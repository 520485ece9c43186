"""Critical fault codes reach the maintenance unit as a 故障 notice; 05 with people in the car is a rescue."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from equipment.emergency.models import Notification
from equipment.telemetry import codes
from equipment.telemetry.rules import CriticalFault, RuleConfig, Trapped, UnitRuleState, apply_event, apply_state
from tests.emergency.helpers import world
from tests.telemetry.test_ingest import IDLE, Rig


def test_the_critical_list_is_the_data_not_a_copy():
    assert codes.CRITICAL_FAULTS == {"01", "05", "09", "10", "61", "62", "63", "64"}


@pytest.mark.parametrize("code", sorted(codes.CRITICAL_FAULTS - {"05"}))
def test_rules_report_each_critical_fault_once_per_episode(code):
    rs, cfg = UnitRuleState(), RuleConfig()
    assert CriticalFault(code) in apply_event(rs, code, True, 0.0, cfg)
    assert CriticalFault(code) not in apply_event(rs, code, True, 1.0, cfg)  # a repeat: the alarm counts it
    apply_event(rs, code, False, 2.0, cfg)
    assert CriticalFault(code) in apply_event(rs, code, True, 3.0, cfg)  # a new episode


def test_rules_unintended_movement_is_a_rescue_only_with_people_in_the_car():
    cfg = RuleConfig()
    empty, occupied = UnitRuleState(), UnitRuleState()
    apply_state(empty, {**IDLE, "occupied": False}, 0.0, cfg)
    apply_state(occupied, {**IDLE, "occupied": True}, 0.0, cfg)
    assert CriticalFault("05") in apply_event(empty, "05", True, 1.0, cfg)
    effects = apply_event(occupied, "05", True, 1.0, cfg)
    assert Trapped("event_05") in effects and CriticalFault("05") not in effects


def test_non_critical_faults_only_raise_an_alarm():
    effects = apply_event(UnitRuleState(), "02", True, 0.0, RuleConfig())
    assert not any(isinstance(e, (CriticalFault, Trapped)) for e in effects)


@pytest.fixture()
def rig(db, f):
    rig = Rig(db, f)
    maint, _team, unit = world(f)
    rig.unit.maintenance_org_id = maint.id  # the rig's unit, maintained by a unit with an on-duty crew
    db.session.flush()
    return rig


def _notices(rig):
    return list(rig.db.session.scalars(select(Notification).where(Notification.kind == "fault_notice")
                                       .where(Notification.incident_id.in_([i.id for i in rig.incidents()]))))


def test_safety_circuit_event_opens_a_fault_notice_and_notifies_at_once(rig):
    result = rig.run(rig.msg("event", code="01", active=True))
    [incident] = rig.incidents()
    assert incident.kind == "fault" and incident.fault_code == "01" and incident.reason == "运行中安全回路断路"
    assert result.incidents == [(incident.id, True)]  # its notices go out once the batch commits
    assert len(_notices(rig)) == 2  # the maintenance unit and its on-duty crew
    assert [a.status for a in rig.alarms("01")] == ["open"]
    rig.run(rig.msg("event", code="01", active=True))
    assert len(rig.incidents()) == 1 and len(_notices(rig)) == 2 and rig.alarms("01")[0].count == 2


def test_escalator_fault_and_overrun_each_share_the_one_open_notice(rig):
    rig.run(rig.msg("event", code="09", active=True), rig.msg("event", code="62", active=True))
    [incident] = rig.incidents()
    assert incident.kind == "fault" and incident.fault_code == "09" and incident.signals == 2


def test_unintended_movement_with_people_inside_opens_a_rescue(rig):
    rig.run(rig.msg("state", **{**IDLE, "occupied": True}))
    rig.run(rig.msg("event", code="05", active=True))
    [incident] = rig.incidents()
    assert incident.kind == "rescue" and incident.reason == "event_05" and incident.arrival_deadline is not None
    assert _notices(rig) == []
