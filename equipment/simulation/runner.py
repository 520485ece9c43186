"""Runs of the rescue simulation: one (policy, scenario, false-alarm share, seed) run gives one row of
figures; rows over seeds give means with 95 % intervals (Student t over the seeds).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from equipment.emergency.choice import Policy, parse_policy
from equipment.simulation import city as citymod
from equipment.simulation import demand
from equipment.simulation.engine import Simulation
from equipment.simulation.standby import Standby, covering_points

T975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23, 15: 2.13,
        20: 2.09, 30: 2.04}


@dataclass(frozen=True)
class Setup:
    lifts: int | None = None
    crew_scale: float = 1.0
    days: int | None = None
    params_path: str | None = None


def policy_from(params: dict, text: str) -> Policy:
    lad = params["ladder"]
    return parse_policy(text, level2_after_s=lad["level2_after_s"], parallel=lad["parallel"],
                        radius_m=lad["level2_radius_m"], speeds_kmh=tuple(params["travel"]["speeds_kmh"]),
                        circuity=params["travel"]["circuity"])


@lru_cache(maxsize=16)
def _params(path: str | None) -> dict:
    return citymod.load_params(path)


def load(setup: Setup) -> dict:
    return _params(setup.params_path)


@lru_cache(maxsize=64)
def _city(seed: int, setup: Setup) -> citymod.City:
    return citymod.build_city(_params(setup.params_path), seed, lifts=setup.lifts, crew_scale=setup.crew_scale,
                              days=setup.days)


@lru_cache(maxsize=64)
def _points(seed: int, setup: Setup) -> np.ndarray:
    city = _city(seed, setup)
    on_call = sum(max(1, round(len(m) * city.params["rota"]["on_call_share"])) for m in city.org_crews if len(m))
    return covering_points(city, on_call, seed=seed)


def run_once(*, policy: str, scenario: str = "normal", seed: int = 1, false_alarm: float = 0.0,
             setup: Setup = Setup()) -> dict:
    city = _city(seed, setup)
    pol = policy_from(city.params, policy)
    standby = Standby(_points(seed, setup)) if pol.name == "pool" else None
    sim = Simulation(city, pol, seed=seed, standby=standby)
    incidents = sim.run(demand.calls(city, seed=seed, scenario=scenario, false_alarm=false_alarm,
                                     days=setup.days))
    return figures(sim, incidents)


def figures(sim: Simulation, incidents) -> dict:
    real = [i for i in incidents if i.call.real]
    mins = np.array([(i.arrived - i.call.t) / 60 for i in real])
    surge = np.array([(i.arrived - i.call.t) / 60 for i in real if i.call.surge])
    rescuers = np.array([i.rescuer for i in real])
    return {
        "incidents": len(real), "false_alarms": len(incidents) - len(real),
        "mean_min": float(mins.mean()), "p50_min": float(np.percentile(mins, 50)),
        "p90_min": float(np.percentile(mins, 90)), "p99_min": float(np.percentile(mins, 99)),
        "within_15": float((mins <= 15).mean()), "within_30": float((mins <= 30).mean()),
        "level1": float((rescuers == 1).mean()), "level2": float((rescuers == 2).mean()),
        "brigade": float((rescuers == 3).mean()),
        "called_119": float(np.mean([i.called_119 is not None for i in real])),
        "cross_company": float(np.mean([i.accepted_by is not None and
                                        sim.city.crew_org[i.accepted_by] != i.org for i in real])),
        "surge_within_30": float((surge <= 30).mean()) if len(surge) else float("nan"),
        "utilisation": sim.busy_s / _duty_seconds(sim),
        "relocation_km_day": (sim.standby.km if sim.standby is not None else 0.0) / _days(sim),
        "placement_km_day": (sim.standby.placement_km if sim.standby is not None else 0.0) / _days(sim),
        "crews": sim.city.n_crews,
    }


def _days(sim: Simulation) -> float:
    return float(sim.city.days)


def _duty_seconds(sim: Simulation) -> float:
    start, end = sim.p["rota"]["day_shift_hours"]
    day = (end - start) * 3600 * sim.city.n_crews
    night = (24 - end + start) * 3600 * sim._on_call.sum(axis=0).mean()
    return (day + night) * sim.city.days


def interval(values) -> tuple[float, float, float]:
    """Mean and its 95 % interval over seeds."""
    arr = np.array([v for v in values if v == v], dtype=float)
    if len(arr) == 0:
        return math.nan, math.nan, math.nan
    if len(arr) == 1:
        return float(arr[0]), math.nan, math.nan
    n = len(arr) - 1
    t = T975.get(n) or T975[max(k for k in T975 if k <= n)]
    half = t * arr.std(ddof=1) / math.sqrt(len(arr))
    return float(arr.mean()), float(arr.mean() - half), float(arr.mean() + half)


SHARES = ("within_15", "within_30", "level1", "level2", "brigade", "called_119", "cross_company",
          "surge_within_30")


def _clip(key: str, ci: tuple) -> tuple:
    """A t-interval can leave a share's [0, 1] (or go below 0 km) with few seeds: clip it to what is possible."""
    high = 1.0 if key in SHARES else math.inf
    return tuple(v if v != v else min(max(v, 0.0), high) for v in ci)


def aggregate(rows: list[dict]) -> dict:
    out = {k: _clip(k, interval([r[k] for r in rows])) for k in rows[0] if k != "crews"}
    out["crews"] = rows[0]["crews"]
    out["seeds"] = len(rows)
    return out


def run_many(*, policy: str, scenario: str = "normal", seeds=range(1, 11), false_alarm: float = 0.0,
             setup: Setup = Setup()) -> dict:
    return aggregate([run_once(policy=policy, scenario=scenario, seed=seed, false_alarm=false_alarm, setup=setup)
                      for seed in seeds])
