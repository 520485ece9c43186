"""Derived detections: trapped, stop outside the door zone, mains power, event codes."""
from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st

from equipment.telemetry.rules import (
    ClearAlarm, CriticalFault, RaiseAlarm, RuleConfig, Trapped, TrappedCleared, UnitRuleState, apply_event,
    apply_state, tick,
)

CFG = RuleConfig()
T0 = 1_795_400_000.0
STUCK = {"moving": False, "door_closed": True, "occupied": True, "door_zone": False,
         "mains_power": True}


def stuck_unit(at=T0) -> UnitRuleState:
    rs = UnitRuleState()
    assert apply_state(rs, STUCK, at, CFG) == []
    return rs


def traps(effects):
    """Only the entrapment effects (a stuck car also raises the derived '04' alarm)."""
    return [e for e in effects if isinstance(e, (Trapped, TrappedCleared))]


def reload(rs: UnitRuleState) -> UnitRuleState:
    """What a consumer restart does: the state goes through JSON in the DB row and back."""
    return UnitRuleState.from_dict(json.loads(json.dumps(rs.to_dict())))


# --- trapped by condition ----------------------------------------------------------------------

def test_trapped_not_before_debounce_then_exactly_at_it():
    rs = stuck_unit()
    assert tick(rs, T0 + 44.9, CFG) == []
    assert traps(tick(rs, T0 + 45, CFG)) == [Trapped("condition")]
    assert traps(tick(rs, T0 + 100, CFG)) == []  # once per episode


def test_heartbeat_state_after_debounce_also_fires():
    rs = stuck_unit()
    assert traps(apply_state(rs, {"occupied": True}, T0 + 60, CFG)) == [Trapped("condition")]


def test_door_opening_in_between_resets_the_timer():
    rs = stuck_unit()
    apply_state(rs, {"door_closed": False}, T0 + 30, CFG)
    apply_state(rs, {"door_closed": True}, T0 + 31, CFG)
    assert traps(tick(rs, T0 + 45, CFG)) == []
    assert traps(tick(rs, T0 + 75.9, CFG)) == []
    assert traps(tick(rs, T0 + 76, CFG)) == [Trapped("condition")]


def test_in_door_zone_is_not_trapped_unless_door_fails_to_open():
    rs = UnitRuleState()
    apply_state(rs, {**STUCK, "door_zone": True}, T0, CFG)
    assert tick(rs, T0 + 100, CFG) == []
    assert apply_event(rs, "03", True, T0 + 100, CFG) == [RaiseAlarm("03")]
    assert tick(rs, T0 + 144.9, CFG) == []
    assert tick(rs, T0 + 145, CFG) == [Trapped("condition")]


def test_unknown_fields_never_start_the_timer():
    rs = UnitRuleState()
    apply_state(rs, {"moving": False, "door_closed": True, "door_zone": False}, T0, CFG)
    assert tick(rs, T0 + 1000, CFG) == [RaiseAlarm("04", {"derived": True, "since": T0})]


def test_round_trip_mid_episode_fires_at_the_right_time():
    rs = reload(stuck_unit())
    assert rs.trap_since == T0
    assert tick(rs, T0 + 44.9, CFG) == []
    rs = reload(rs)
    assert Trapped("condition") in tick(rs, T0 + 45, CFG)
    rs = reload(rs)
    assert rs.trapped and tick(rs, T0 + 200, CFG) == []
    assert apply_state(rs, {"door_zone": True, "door_closed": False}, T0 + 300, CFG) == [
        ClearAlarm("04"), TrappedCleared()]


def test_from_dict_tolerates_empty_and_extra_keys():
    assert UnitRuleState.from_dict(None) == UnitRuleState()
    assert UnitRuleState.from_dict({"v": 9, "future": 1, "trapped": True}).trapped


# --- trapped by event / button, clearing ---------------------------------------------------------

def test_event_11_is_immediate_and_single():
    rs = UnitRuleState()
    assert apply_event(rs, "11", True, T0, CFG) == [RaiseAlarm("11"), Trapped("event_11")]
    assert apply_event(rs, "11", True, T0 + 1, CFG) == [RaiseAlarm("11")]


def test_event_11_inactive_clears():
    rs = UnitRuleState()
    apply_event(rs, "11", True, T0, CFG)
    assert apply_event(rs, "11", False, T0 + 5, CFG) == [ClearAlarm("11"), TrappedCleared("event_11_cleared")]
    assert not rs.trapped


def test_alarm_button_traps_only_a_shut_occupied_stopped_car():
    rs = UnitRuleState()
    apply_state(rs, {"moving": True, "door_closed": True, "occupied": True}, T0, CFG)
    assert apply_event(rs, "90", True, T0, CFG) == [RaiseAlarm("90")]
    apply_state(rs, {"moving": False, "door_zone": True}, T0 + 1, CFG)
    assert apply_event(rs, "90", True, T0 + 2, CFG) == [RaiseAlarm("90"), Trapped("alarm_button")]
    # The condition timer must not open a second episode.
    apply_state(rs, {"door_zone": False}, T0 + 3, CFG)
    assert Trapped("condition") not in tick(rs, T0 + 100, CFG)


def test_unoccupied_clears_trapped():
    rs = stuck_unit()
    tick(rs, T0 + 45, CFG)
    assert apply_state(rs, {"occupied": False}, T0 + 50, CFG) == [TrappedCleared("car_empty")]
    assert rs.trap_since is None and not rs.trapped


def test_moving_alone_does_not_clear_trapped():
    rs = stuck_unit()
    tick(rs, T0 + 45, CFG)
    assert traps(apply_state(rs, {"moving": True}, T0 + 50, CFG)) == []
    assert rs.trapped


def test_new_episode_after_clear():
    rs = stuck_unit()
    tick(rs, T0 + 45, CFG)
    apply_state(rs, {"occupied": False}, T0 + 50, CFG)
    apply_state(rs, {"occupied": True}, T0 + 60, CFG)
    assert tick(rs, T0 + 104.9, CFG) == []
    assert tick(rs, T0 + 105, CFG) == [Trapped("condition")]


# --- stop outside the door zone, mains power, codes ---------------------------------------------

def test_stop_outside_zone_even_unoccupied_and_cleared_in_zone():
    rs = UnitRuleState()
    apply_state(rs, {"moving": False, "door_zone": False, "occupied": False}, T0, CFG)
    assert tick(rs, T0 + 44.9, CFG) == []
    assert tick(rs, T0 + 45, CFG) == [RaiseAlarm("04", {"derived": True, "since": T0})]
    assert tick(rs, T0 + 90, CFG) == []
    assert apply_state(rs, {"moving": True}, T0 + 100, CFG) == []
    assert apply_state(rs, {"moving": False, "door_zone": True}, T0 + 110, CFG) == [
        ClearAlarm("04")]


def test_stop_outside_zone_not_raised_when_terminal_already_did():
    rs = UnitRuleState()
    apply_event(rs, "04", True, T0, CFG)
    apply_state(rs, {"moving": False, "door_zone": False}, T0, CFG)
    assert tick(rs, T0 + 60, CFG) == []


def test_mains_power_transitions_only():
    rs = UnitRuleState()
    assert apply_state(rs, {"mains_power": False}, T0, CFG) == [RaiseAlarm("41", {"derived": True})]
    assert apply_state(rs, {"mains_power": False}, T0 + 60, CFG) == []
    assert apply_state(rs, {"mains_power": True}, T0 + 120, CFG) == [ClearAlarm("41")]
    assert apply_state(rs, {"mains_power": True}, T0 + 180, CFG) == []


def test_fault_status_unknown_and_back_to_normal():
    rs = UnitRuleState()
    assert apply_event(rs, "01", True, T0, CFG) == [RaiseAlarm("01"), CriticalFault("01")]
    assert apply_event(rs, "43", True, T0, CFG) == [RaiseAlarm("43")]
    assert apply_event(rs, "77", True, T0, CFG) == [RaiseAlarm("77", {"unknown_code": True})]
    assert apply_event(rs, "02", True, T0, CFG) == [RaiseAlarm("02")]
    assert apply_event(rs, "02", False, T0, CFG) == [ClearAlarm("02")]
    assert apply_event(rs, "40", True, T0, CFG) == [
        ClearAlarm("01"), ClearAlarm("43"), ClearAlarm("77")]
    assert rs.open_codes == set()
    assert apply_event(rs, "40", True, T0, CFG) == []


def test_back_to_normal_ends_door_open_fault():
    rs = UnitRuleState()
    apply_state(rs, {**STUCK, "door_zone": True}, T0, CFG)
    apply_event(rs, "03", True, T0, CFG)
    apply_event(rs, "40", True, T0 + 10, CFG)
    assert not rs.door_open_fault and tick(rs, T0 + 100, CFG) == []


# --- property: one Trapped per episode -----------------------------------------------------------

car_fields = st.fixed_dictionaries({}, optional={
    "moving": st.booleans(), "door_closed": st.booleans(), "door_zone": st.booleans(),
    "occupied": st.booleans(), "mains_power": st.booleans()})
steps = st.lists(st.tuples(
    st.sampled_from(["state", "tick", "event", "reload"]),
    st.floats(min_value=0, max_value=120),
    car_fields,
    st.sampled_from(["03", "11", "40", "90", "04", "77"]),
    st.booleans()), max_size=40)


@settings(max_examples=300)
@given(steps=steps)
def test_never_two_trapped_without_a_clear(steps):
    rs, now, trapped_open = UnitRuleState(), T0, False
    for action, dt, body, code, active in steps:
        now += dt
        if action == "state":
            effects = apply_state(rs, body, now, CFG)
        elif action == "event":
            effects = apply_event(rs, code, active, now, CFG)
        elif action == "tick":
            effects = tick(rs, now, CFG)
        else:
            rs, effects = reload(rs), []
        for effect in effects:
            if isinstance(effect, Trapped):
                assert not trapped_open
                trapped_open = True
            elif isinstance(effect, TrappedCleared):
                assert trapped_open
                trapped_open = False
        assert rs.trapped == trapped_open


def test_mixed_simulation_keeps_playing_episodes():
    """The demo's simulator does not fall silent after its first episodes: each car gets another one."""
    from equipment.telemetry import simulator
    creds = [{"terminal_id": f"T{i}", "mqtt_password": "x"} for i in range(7)]
    sim = simulator.Simulator(broker_url="mqtt://127.0.0.1:1", credentials=creds, scenario="mixed")
    car = sim.cars[3]  # a "normal" car: nothing scripted at first
    assert car.script == []
    sim._run_script(car, now=5000.0)
    assert car.script and all(at > 5000.0 for at, _ in car.script)
    once = simulator.Simulator(broker_url="mqtt://127.0.0.1:1", credentials=creds, scenario="normal")
    once._run_script(once.cars[0], now=5000.0)
    assert once.cars[0].script == []  # the named scenarios still play once (tests rely on it)
