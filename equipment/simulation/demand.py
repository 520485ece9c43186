"""Entrapments for one run: Poisson by hour with the published daily profile, a surge, IoT false alarms.

Real entrapments and false alarms come from separate streams, so the same seed gives the same real
incidents whatever the false-alarm share, the policy or the number of crews.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from equipment.simulation.city import City

SCENARIOS = ("normal", "high", "surge")


@dataclass(frozen=True)
class Call:
    t: float  # seconds from day 0, 00:00 local
    lift: int
    real: bool
    iot: bool
    surge: bool = False


def _poisson_times(rng, per_hour: np.ndarray, days: int) -> np.ndarray:
    rates = np.tile(per_hour, days)
    counts = rng.poisson(rates)
    starts = np.repeat(np.arange(len(rates)) * 3600.0, counts)
    return starts + rng.uniform(0, 3600, len(starts))


def hourly_rate(city: City, multiplier: float = 1.0) -> np.ndarray:
    d = city.params["demand"]
    per_day = d["entrapments_per_10k_lifts_year"] * len(city.lat) / 10_000 / 365 * multiplier
    w = np.asarray(d["hourly_weights"], dtype=float)
    return per_day * w / w.sum()


def _surge(city: City, rng, days: int) -> list[Call]:
    s = city.params["demand"]["surge"]
    district = int(np.bincount(city.lift_district).argmax())  # the densest district
    lifts = rng.choice(np.flatnonzero(city.lift_district == district), size=s["count"], replace=False)
    t0 = (days // 2) * 86400 + s["start_hour"] * 3600
    times = np.sort(t0 + rng.uniform(0, s["minutes"] * 60, s["count"]))
    return [Call(float(t), int(lift), True, bool(rng.random() < 0.5), True) for t, lift in zip(times, lifts)]


def calls(city: City, *, seed: int, scenario: str = "normal", false_alarm: float = 0.0,
          days: int | None = None) -> list[Call]:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
    if not 0 <= false_alarm < 1:
        raise ValueError("false_alarm is a share in [0, 1)")
    d = city.params["demand"]
    days = days or d["days_per_seed"]
    rng = np.random.default_rng([seed, 3])
    rate = hourly_rate(city, d["high_multiplier"] if scenario == "high" else 1.0)
    times = _poisson_times(rng, rate, days)
    lifts = rng.integers(0, len(city.lat), len(times))
    iot = rng.random(len(times)) < d["iot_share"]
    out = [Call(float(t), int(lift), True, bool(i)) for t, lift, i in zip(times, lifts, iot)]
    if scenario == "surge":
        out += _surge(city, np.random.default_rng([seed, 4]), days)
    if false_alarm > 0:  # terminals' false alarms: a share of all terminal alarms
        frng = np.random.default_rng([seed, 5])
        ftimes = _poisson_times(frng, rate * d["iot_share"] * false_alarm / (1 - false_alarm), days)
        out += [Call(float(t), int(lift), False, True) for t, lift in
                zip(ftimes, frng.integers(0, len(city.lat), len(ftimes)))]
    return sorted(out, key=lambda c: (c.t, c.lift))
