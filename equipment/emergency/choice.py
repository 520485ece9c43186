"""Which crews get the next offer for a trapped-passenger incident: one pure rule for live dispatch and the
rescue simulation (equipment/simulation), so that the simulation measures exactly what ships.

No database, no Flask: `choose_crew(state, incident, policy)` reads plain values and returns the offers.
Policies (DOMAIN.md §6 levels: 1 contracted unit, 2 another unit, 3 fire brigade 119):
- `contract`: the contracted unit's crews only; when it has none able, 119.
- `ladder` (the legal default): the contracted unit's nearest able crew; level 2 opens after
  `level2_after_s` without an accepted offer (whatever the unit's size) or at once when the unit has nobody;
  level 2 offers to the `parallel` nearest able crews of other units within `radius_m`.
- `eta`: the contracted crew unless another unit's crew would arrive more than `slack_min` minutes sooner;
  then as `ladder`.
- `pool`: the nearest able crew of any unit (the simulation moves idle crews to standby points).
Sending another unit's crew is the regulator's decision, so the policy is a setting and `ladder` the default.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from equipment.core.geo import haversine_m

POLICIES = ("contract", "ladder", "eta", "pool")
# Urban speed by local hour (km/h) and road circuity: equipment/simulation/rescue.json carries the sources.
DEFAULT_SPEEDS = (40, 40, 40, 40, 40, 38, 34, 30, 28, 28, 31, 32, 32, 32, 31, 30, 30, 29, 27, 28, 31, 34, 37, 39)
DEFAULT_CIRCUITY = 1.35


@dataclass(frozen=True)
class Crew:
    id: int
    org_id: int
    lat: float
    lon: float


@dataclass(frozen=True)
class State:
    """Able crews (on duty, positioned, no active job) and what this incident has already had."""
    crews: tuple[Crew, ...]
    tried: frozenset = frozenset()  # crews already offered this incident (answered, passed over or pending)
    pending: int = 0  # offers still open


@dataclass(frozen=True)
class Case:
    lat: float
    lon: float
    org_id: int | None  # contracted maintenance unit
    waited_s: float = 0.0  # since the first offer, without an accepted one
    hour: int = 12  # local hour, for the speed by hour


@dataclass(frozen=True)
class Policy:
    name: str = "ladder"
    slack_min: float = 10.0
    level2_after_s: float = 300.0
    parallel: int = 1
    radius_m: float = 10_000.0
    speeds_kmh: tuple = DEFAULT_SPEEDS
    circuity: float = DEFAULT_CIRCUITY

    def __post_init__(self):
        if self.name not in POLICIES:
            raise ValueError(f"unknown dispatch policy {self.name!r}; one of {', '.join(POLICIES)}")
        if self.parallel < 1 or self.level2_after_s < 0 or self.slack_min < 0 or self.radius_m <= 0:
            raise ValueError("parallel >= 1, level2_after_s >= 0, slack_min >= 0, radius_m > 0")
        if not math.isfinite(self.slack_min):  # eta(nan) would compare false everywhere: a silent contract
            raise ValueError("eta(SLACK_MIN) needs a finite number of minutes")

    @property
    def label(self) -> str:
        return f"eta({self.slack_min:g})" if self.name == "eta" else self.name


@dataclass(frozen=True)
class Offer:
    crew_id: int
    org_id: int
    level: int
    distance_m: float


@dataclass(frozen=True)
class Choice:
    offers: tuple[Offer, ...] = ()
    call_119: bool = False
    level: int = 1  # the level the rule reached (3: nobody able, the fire brigade is called)


@dataclass(frozen=True)
class _Ranked:
    crew: Crew
    distance_m: float = field(compare=True)


def parse_policy(text: str, **settings) -> Policy:
    """'ladder', 'contract', 'pool', 'eta' or 'eta(10)' (slack in minutes) plus numeric settings."""
    text = (text or "ladder").strip()
    if text.startswith("eta(") and text.endswith(")"):
        try:
            slack = float(text[4:-1])
        except ValueError:
            raise ValueError(f"eta(SLACK_MIN) needs minutes, not {text[4:-1]!r}") from None
        return Policy(name="eta", **{**settings, "slack_min": slack})
    return Policy(name=text, **settings)


def policy_from_settings(cfg, name: str | None = None) -> Policy:
    """The live policy from the app's settings (EQUIPMENT_DISPATCH_POLICY, _LEVEL2_AFTER_S, _DISPATCH_PARALLEL,
    _LEVEL2_RADIUS_M), `name` (the rules table's policy) before the setting; ValueError names what is wrong."""
    return parse_policy(str(name or cfg.get("DISPATCH_POLICY") or "ladder"),
                        level2_after_s=float(cfg.get("LEVEL2_AFTER_S", 300)),
                        parallel=int(cfg.get("DISPATCH_PARALLEL", 1)),
                        radius_m=float(cfg.get("LEVEL2_RADIUS_M", 10_000)))


def travel_min(distance_m: float, hour: int, policy: Policy) -> float:
    """Road minutes from straight-line metres: circuity over the hour's urban speed."""
    return distance_m / 1000 * policy.circuity / policy.speeds_kmh[hour % 24] * 60


def _ranked(state: State, case: Case, keep) -> list[_Ranked]:
    out = [_Ranked(c, haversine_m(case.lat, case.lon, c.lat, c.lon)) for c in state.crews
           if c.id not in state.tried and keep(c)]
    out.sort(key=lambda r: (r.distance_m, r.crew.id))  # id breaks ties: the same answer everywhere
    return out


def _offers(ranked: list[_Ranked], level: int, n: int) -> tuple[Offer, ...]:
    return tuple(Offer(r.crew.id, r.crew.org_id, level, r.distance_m) for r in ranked[:n])


def _level1(state, case):
    if case.org_id is None:
        return []
    return _ranked(state, case, lambda c: c.org_id == case.org_id)


def _level2(state, case, policy):
    return [r for r in _ranked(state, case, lambda c: c.org_id != case.org_id) if r.distance_m <= policy.radius_m]


def _nobody(state: State) -> Choice:
    # With an offer still open the brigade waits for its answer (or the 30-minute watchdog).
    return Choice((), call_119=state.pending == 0, level=3)


def _ladder(state: State, case: Case, policy: Policy) -> Choice:
    if case.waited_s < policy.level2_after_s:
        first = _level1(state, case)
        if first:
            return Choice(_offers(first, 1, 1), level=1)
    second = _level2(state, case, policy)
    if second:
        return Choice(_offers(second, 2, policy.parallel), level=2)
    return _nobody(state)


def _contract(state: State, case: Case, policy: Policy) -> Choice:
    first = _level1(state, case)
    return Choice(_offers(first, 1, 1), level=1) if first else _nobody(state)


def _eta(state: State, case: Case, policy: Policy) -> Choice:
    if case.waited_s < policy.level2_after_s:
        first, second = _level1(state, case), _level2(state, case, policy)
        if second and (not first or _minutes(first[0], case, policy) - _minutes(second[0], case, policy)
                       > policy.slack_min):
            return Choice(_offers(second, 2, 1), level=2)
    return _ladder(state, case, policy)


def _minutes(ranked: _Ranked, case: Case, policy: Policy) -> float:
    return travel_min(ranked.distance_m, case.hour, policy)


def _pool(state: State, case: Case, policy: Policy) -> Choice:
    ranked = _ranked(state, case, lambda c: True)
    if not ranked:
        return _nobody(state)
    best = ranked[0]
    level = 1 if best.crew.org_id == case.org_id else 2
    return Choice(_offers(ranked, level, 1), level=level)


RULES = {"contract": _contract, "ladder": _ladder, "eta": _eta, "pool": _pool}


def choose_crew(state: State, incident: Case, policy: Policy) -> Choice:
    """The next offers for `incident` given the able crews in `state`; `call_119` when nobody is left."""
    return RULES[policy.name](state, incident, policy)
