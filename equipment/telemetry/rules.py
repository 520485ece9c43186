"""Derived detections (PROTOCOL.md 'What the platform derives') over a small per-unit state.

Pure: the consumer loads UnitRuleState from the unit's latest-state row (to_dict/from_dict), calls
apply_state / apply_event for each accepted message and tick() from a periodic job, applies the
returned effects and saves the state back. Keeping the timers in that row (instead of in memory) is
what lets detection survive consumer restarts and be shared by several consumers.

Clock: `at` (apply_*) and `now` (tick) must be on the same clock, in epoch seconds. Timers start at
the `at` of the message that started the condition.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from equipment.telemetry import codes

STATE_VERSION = 1
_CAR_FIELDS = ("moving", "door_closed", "door_zone", "occupied", "mode", "mains_power")


@dataclass
class RuleConfig:
    trapped_after_s: float = 45
    stop_outside_zone_after_s: float = 45


@dataclass(frozen=True)
class RaiseAlarm:
    code: str
    detail: dict | None = None


@dataclass(frozen=True)
class ClearAlarm:
    code: str


@dataclass(frozen=True)
class Trapped:
    reason: str  # 'event_11' | 'alarm_button' | 'condition'


@dataclass(frozen=True)
class TrappedCleared:
    # 'levelled_doors_open' | 'car_empty' | 'event_11_cleared': what the sensors saw, for the timeline
    reason: str = "levelled_doors_open"


@dataclass(frozen=True)
class CriticalFault:
    code: str  # codes.CRITICAL_FAULTS: a new episode the maintenance unit must hear about at once


Effect = RaiseAlarm | ClearAlarm | Trapped | TrappedCleared | CriticalFault


@dataclass
class UnitRuleState:
    # Last known car state; None = never reported (a condition needing it is then not met).
    moving: bool | None = None
    door_closed: bool | None = None
    door_zone: bool | None = None
    occupied: bool | None = None
    mode: str | None = None
    mains_power: bool | None = None
    trap_since: float | None = None       # when the trapped condition began to hold
    trapped: bool = False                 # a Trapped was emitted and not yet cleared
    outside_zone_since: float | None = None
    outside_zone_alarmed: bool = False    # derived '04' raised in this stop-outside episode
    door_open_fault: bool = False         # event 03 active
    open_codes: set[str] = field(default_factory=set)  # alarm codes raised and not cleared

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["open_codes"] = sorted(self.open_codes)
        out["v"] = STATE_VERSION
        return out

    @classmethod
    def from_dict(cls, data: dict | None) -> "UnitRuleState":
        """Tolerant of missing/extra keys so older rows (or an empty row) still load."""
        data = data or {}
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["open_codes"] = set(data.get("open_codes") or ())
        return cls(**kwargs)


def apply_state(rs: UnitRuleState, body: dict, at: float, cfg: RuleConfig) -> list[Effect]:
    """A validated state body (fields may be partial: missing ones keep their last value)."""
    for name in _CAR_FIELDS:
        if name in body:
            setattr(rs, name, body[name])
    effects: list[Effect] = []
    _mains_power(rs, effects)
    _stop_outside_zone(rs, at, cfg, effects)
    _trap_condition(rs, at, cfg, effects)
    return effects


def apply_event(rs: UnitRuleState, code: str, active: bool, at: float,
                cfg: RuleConfig) -> list[Effect]:
    effects: list[Effect] = []
    info = codes.lookup(code)
    new_episode = active and code not in rs.open_codes
    if info is None:
        _raise_or_clear(rs, code, active, effects, {"unknown_code": True})
    elif code == codes.BACK_TO_NORMAL:
        _back_to_normal(rs, effects)
    elif code == codes.ALARM_BUTTON_CODE:
        _alarm_button(rs, active, effects)
    else:
        _raise_or_clear(rs, code, active, effects, None)
    if code == codes.TRAPPED:
        _trapped_event(rs, active, at, effects)
    elif code == codes.DOOR_OPEN_FAILURE:
        rs.door_open_fault = active
    if new_episode and code in codes.CRITICAL_FAULTS:
        _critical_fault(rs, code, effects)
    _trap_condition(rs, at, cfg, effects)
    return effects


def tick(rs: UnitRuleState, now: float, cfg: RuleConfig) -> list[Effect]:
    """Timer path: terminals report only on change or every 60 s, so timers fire from here too."""
    effects: list[Effect] = []
    _fire_outside_zone_timer(rs, now, cfg, effects)
    _fire_trap_timer(rs, now, cfg, effects)
    return effects


# --- trapped -----------------------------------------------------------------------------------

def _could_be_trapped(rs: UnitRuleState) -> bool:
    """Stopped, shut in and occupied: the precondition shared by the timer and the alarm button."""
    return rs.moving is False and rs.door_closed is True and rs.occupied is True


def _trap_condition_holds(rs: UnitRuleState) -> bool:
    return _could_be_trapped(rs) and (rs.door_zone is False or rs.door_open_fault)


def _trap_released(rs: UnitRuleState) -> bool:
    return (rs.door_zone is True and rs.door_closed is False) or rs.occupied is False


def _trap_condition(rs: UnitRuleState, at: float, cfg: RuleConfig, effects: list) -> None:
    if rs.trapped and _trap_released(rs):
        rs.trapped = False
        effects.append(TrappedCleared("car_empty" if rs.occupied is False else "levelled_doors_open"))
    if not _trap_condition_holds(rs):
        rs.trap_since = None  # continuity broken: the debounce starts over
        return
    if rs.trap_since is None:
        rs.trap_since = at
    _fire_trap_timer(rs, at, cfg, effects)


def _fire_trap_timer(rs: UnitRuleState, now: float, cfg: RuleConfig, effects: list) -> None:
    if rs.trap_since is None or rs.trapped:
        return
    if now - rs.trap_since >= cfg.trapped_after_s:
        _emit_trapped(rs, "condition", effects)


def _emit_trapped(rs: UnitRuleState, reason: str, effects: list) -> None:
    if not rs.trapped:  # once per episode
        rs.trapped = True
        effects.append(Trapped(reason))


def _trapped_event(rs: UnitRuleState, active: bool, at: float, effects: list) -> None:
    if active:
        _emit_trapped(rs, "event_11", effects)
    elif rs.trapped:
        # The terminal declares the entrapment over; if the sensors still say otherwise the
        # condition timer restarts from now and will open a new episode after the debounce.
        rs.trapped = False
        rs.trap_since = at if _trap_condition_holds(rs) else None
        effects.append(TrappedCleared("event_11_cleared"))


def _critical_fault(rs: UnitRuleState, code: str, effects: list) -> None:
    # A car that moved on its own with people inside may have shut them in between floors: a rescue.
    if code == codes.UNINTENDED_CAR_MOVEMENT and rs.occupied is True:
        _emit_trapped(rs, "event_05", effects)
    else:
        effects.append(CriticalFault(code))


def _alarm_button(rs: UnitRuleState, active: bool, effects: list) -> None:
    # Recorded as an alarm either way so a press is never lost, even when the car looks fine.
    _raise_or_clear(rs, codes.ALARM_BUTTON_CODE, active, effects, None)
    if active and _could_be_trapped(rs):
        _emit_trapped(rs, "alarm_button", effects)


# --- stop outside the door zone, mains power ---------------------------------------------------

def _stop_outside_zone(rs: UnitRuleState, at: float, cfg: RuleConfig, effects: list) -> None:
    if rs.door_zone is True:
        rs.outside_zone_since = None
        if rs.outside_zone_alarmed or codes.STOPPED_OUTSIDE_DOOR_ZONE in rs.open_codes:
            _clear(rs, codes.STOPPED_OUTSIDE_DOOR_ZONE, effects)
        rs.outside_zone_alarmed = False
        return
    if rs.moving is False and rs.door_zone is False:
        if rs.outside_zone_since is None:
            rs.outside_zone_since = at
        _fire_outside_zone_timer(rs, at, cfg, effects)
    else:
        # Moving between floors is normal; an alarm already raised waits for the door zone.
        rs.outside_zone_since = None


def _fire_outside_zone_timer(rs: UnitRuleState, now: float, cfg: RuleConfig,
                             effects: list) -> None:
    if rs.outside_zone_since is None or rs.outside_zone_alarmed:
        return
    if now - rs.outside_zone_since >= cfg.stop_outside_zone_after_s:
        rs.outside_zone_alarmed = True
        code = codes.STOPPED_OUTSIDE_DOOR_ZONE
        if code not in rs.open_codes:  # the terminal may have raised 04 itself already
            rs.open_codes.add(code)
            effects.append(RaiseAlarm(code, {"derived": True, "since": rs.outside_zone_since}))


def _mains_power(rs: UnitRuleState, effects: list) -> None:
    # Only transitions emit, so heartbeats do not inflate the alarm's repeat count.
    code = codes.MAINS_POWER_LOST
    if rs.mains_power is False and code not in rs.open_codes:
        rs.open_codes.add(code)
        effects.append(RaiseAlarm(code, {"derived": True}))
    elif rs.mains_power is True and code in rs.open_codes:
        _clear(rs, code, effects)


# --- plain alarm codes -------------------------------------------------------------------------

def _raise_or_clear(rs: UnitRuleState, code: str, active: bool, effects: list,
                    detail: dict | None) -> None:
    if active:
        rs.open_codes.add(code)
        effects.append(RaiseAlarm(code, detail))
    else:
        # Always emitted: clearing an alarm that is not open is a no-op for the consumer.
        _clear(rs, code, effects)


def _clear(rs: UnitRuleState, code: str, effects: list) -> None:
    rs.open_codes.discard(code)
    effects.append(ClearAlarm(code))


def _back_to_normal(rs: UnitRuleState, effects: list) -> None:
    # 40 clears the alarms; the entrapment itself only ends on the release condition or 11 false.
    for code in sorted(rs.open_codes):
        effects.append(ClearAlarm(code))
    rs.open_codes.clear()
    rs.door_open_fault = False
