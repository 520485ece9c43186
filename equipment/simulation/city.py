"""A generated city for the rescue simulation: districts of lifts, maintenance companies holding contracts
mostly in their home district, 2-person crews at the published lifts-per-worker ratio, and where each crew is
at any hour (at its contracts' lifts by day, at home or a standby point when on call at night).
Everything is drawn from one numpy generator seeded by the run's seed, so the same seed is the same city.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PARAMS_PATH = Path(__file__).with_name("rescue.json")
KM_PER_DEG_LAT = 111.32


def load_params(path: str | Path | None = None) -> dict:
    """The data file flattened to {section: {name: value}} (sources stay in the file)."""
    raw = json.loads(Path(path or PARAMS_PATH).read_text(encoding="utf-8"))
    return {sec: {k: v["value"] for k, v in body.items() if isinstance(v, dict) and "value" in v}
            | ({"center": body["center"]} if "center" in body else {})
            for sec, body in raw.items() if not sec.startswith("_")}


@dataclass
class City:
    lat: np.ndarray  # lifts
    lon: np.ndarray
    lift_org: np.ndarray
    lift_district: np.ndarray
    crew_org: np.ndarray  # crews
    crew_home: np.ndarray  # (n, 2) lat, lon of home (on call outside the day shift)
    org_lifts: list  # per company: array of its lift indices
    org_crews: list  # per company: its crew indices
    day_jobs: np.ndarray  # (crews, job slots): the lift each crew is at, one maintenance job per slot
    params: dict
    days: int  # simulated days (the job slots run two days longer, for incidents past midnight)

    @property
    def n_crews(self) -> int:
        return len(self.crew_org)


def km_to_deg(center: dict, dx_km, dy_km):
    lat = center["lat"] + np.asarray(dy_km) / KM_PER_DEG_LAT
    lon = center["lon"] + np.asarray(dx_km) / (KM_PER_DEG_LAT * math.cos(math.radians(center["lat"])))
    return lat, lon


def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def _lifts(p: dict, rng, n_lifts: int):
    c = p["city"]
    n_d = c["districts"]
    angle, radius = rng.uniform(0, 2 * math.pi, n_d), c["district_spread_km"] * np.sqrt(rng.uniform(0, 1, n_d))
    radius[0] = 0.0  # the densest district is the old centre
    centres = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    sigma = rng.uniform(*c["district_sigma_km"], n_d)
    district = rng.choice(n_d, size=n_lifts, p=_zipf(n_d, c["district_weights_zipf"]))
    xy = centres[district] + rng.normal(0, 1, (n_lifts, 2)) * sigma[district, None]
    lat, lon = km_to_deg(c["center"], xy[:, 0], xy[:, 1])
    return lat, lon, district, centres


def _contracts(p: dict, rng, district: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each lift's company: likelier the bigger the company and the nearer its home district (gravity)."""
    co = p["companies"]
    n_c, n_d = co["count"], p["city"]["districts"]
    size = _zipf(n_c, co["size_zipf"])[rng.permutation(n_c)]
    home = rng.choice(n_d, size=n_c, p=np.bincount(district, minlength=n_d) / len(district))
    apart = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=2)  # district to district, km
    weights = size[None, :] * np.exp(-apart[:, home] / co["contract_decay_km"])
    weights[home, np.arange(n_c)] *= co["home_bonus"]
    weights /= weights.sum(axis=1, keepdims=True)
    org = np.empty(len(district), dtype=int)
    for d in range(n_d):
        idx = np.flatnonzero(district == d)
        org[idx] = rng.choice(n_c, size=len(idx), p=weights[d])
    return org, home


def _crews(p: dict, org: np.ndarray, n_c: int, crew_scale: float):
    co = p["companies"]
    per_crew = co["lifts_per_worker"] * co["crew_size"]
    counts = np.maximum(1, np.rint(np.bincount(org, minlength=n_c) * crew_scale / per_crew)).astype(int)
    return np.repeat(np.arange(n_c), counts)


def build_city(params: dict, seed: int, *, lifts: int | None = None, crew_scale: float = 1.0,
               days: int | None = None) -> City:
    """The city of `seed`; `crew_scale` multiplies the crews (more crews, same lifts and contracts)."""
    rng = np.random.default_rng([seed, 1])
    n_lifts = lifts or params["city"]["lifts"]
    lat, lon, district, centres = _lifts(params, rng, n_lifts)
    org, _ = _contracts(params, rng, district, centres)
    n_c = params["companies"]["count"]
    crew_org = _crews(params, org, n_c, crew_scale)
    org_lifts = [np.flatnonzero(org == c) for c in range(n_c)]
    org_crews = [np.flatnonzero(crew_org == c) for c in range(n_c)]
    crew_rng = np.random.default_rng([seed, 2])  # own stream: more crews leave the lifts as they were
    home_lift = np.array([crew_rng.choice(org_lifts[o]) if len(org_lifts[o]) else 0 for o in crew_org])
    days = int(days or params["demand"]["days_per_seed"])
    slots = (days + 2) * 1440 // params["rota"]["day_job_minutes"]
    pick = crew_rng.random((len(crew_org), slots))
    sizes = np.array([max(1, len(org_lifts[o])) for o in crew_org])
    day_jobs = np.array([org_lifts[o][(pick[i] * sizes[i]).astype(int)] if len(org_lifts[o]) else
                         np.zeros(slots, dtype=int) for i, o in enumerate(crew_org)])
    return City(lat=lat, lon=lon, lift_org=org, lift_district=district, crew_org=crew_org,
                crew_home=np.stack([lat[home_lift], lon[home_lift]], axis=1), org_lifts=org_lifts,
                org_crews=org_crews, day_jobs=day_jobs, params=params, days=days)


def on_duty(city: City, crew: int, t: float) -> bool:
    """Day shift: every crew; otherwise the company's on-call share, rotating by day (at least one crew)."""
    hour, day = int(t // 3600) % 24, int(t // 86400)
    start, end = city.params["rota"]["day_shift_hours"]
    if start <= hour < end:
        return True
    mates = city.org_crews[city.crew_org[crew]]
    n_call = max(1, round(len(mates) * city.params["rota"]["on_call_share"]))
    rank = int(np.searchsorted(mates, crew))
    return (rank - day * n_call) % len(mates) < n_call


def day_shift(city: City, t: float) -> bool:
    start, end = city.params["rota"]["day_shift_hours"]
    return start <= int(t // 3600) % 24 < end


def scheduled_position(city: City, crew: int, t: float) -> tuple[float, float]:
    """At a contract's lift by day (a new one about every job), at home when on call."""
    if day_shift(city, t):
        slot = int(t // (60 * city.params["rota"]["day_job_minutes"]))
        lift = city.day_jobs[crew, slot % city.day_jobs.shape[1]]
        return float(city.lat[lift]), float(city.lon[lift])
    return float(city.crew_home[crew, 0]), float(city.crew_home[crew, 1])
