"""Standby points for the `pool` policy: a greedy maximal-covering heuristic over simulated demand picks
ranked points; at night the free on-call crews hold the best-ranked points, and after each dispatch or
return the nearest spare crew moves up into the best vacant point (relocation kilometres are counted).
"""
from __future__ import annotations

import numpy as np

from equipment.core.geo import haversine_m
from equipment.simulation import city as citymod


def covering_points(city: citymod.City, k: int, *, seed: int) -> np.ndarray:
    """k ranked (lat, lon) points; a point is a demand location, demand is the lifts (uniform risk)."""
    pool = city.params["pool"]
    rng = np.random.default_rng([seed, 6])
    sample = rng.choice(len(city.lat), size=min(pool["demand_sample"], len(city.lat)), replace=False)
    lat, lon = city.lat[sample], city.lon[sample]
    y = (lat - lat.mean()) * citymod.KM_PER_DEG_LAT
    x = (lon - lon.mean()) * citymod.KM_PER_DEG_LAT * np.cos(np.radians(lat.mean()))
    covers = ((x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2) <= pool["cover_km"] ** 2
    uncovered = np.ones(len(sample), dtype=bool)
    chosen: list[int] = []
    for _ in range(k):
        if not uncovered.any():  # all covered once: the next points add a second layer
            uncovered[:] = True
        gain = covers[:, uncovered].sum(axis=1)
        gain[chosen] = -1
        best = int(gain.argmax())
        chosen.append(best)
        uncovered &= ~covers[best]
    return np.stack([lat[chosen], lon[chosen]], axis=1)


class Standby:
    def __init__(self, points: np.ndarray):
        self.points = points
        self.at: dict[int, int] = {}  # crew -> point rank
        self.km = 0.0  # move-up after dispatches and returns
        self.placement_km = 0.0  # the evening trips to the points (instead of home)

    def spot_of(self, crew: int):
        rank = self.at.get(crew)
        return None if rank is None else (float(self.points[rank, 0]), float(self.points[rank, 1]))

    def schedule(self, sim) -> None:
        start, end = sim.p["rota"]["day_shift_hours"]
        days = sim.city.day_jobs.shape[1] * sim.p["rota"]["day_job_minutes"] // 1440
        for day in range(days):
            sim.push(day * 86400 + end * 3600, self.rebalance, sim, True)
            sim.push(day * 86400 + start * 3600, self.clear)

    def clear(self, t: float) -> None:
        self.at.clear()  # the day shift: crews go back to their maintenance jobs

    def left(self, sim, crew: int, t: float) -> None:
        self.at.pop(crew, None)
        self.rebalance(t, sim)

    def rebalance(self, t: float, sim, evening: bool = False) -> None:
        if citymod.day_shift(sim.city, t):
            return
        held_now = np.zeros(sim.city.n_crews, dtype=bool)
        held_now[list(self.at)] = True
        # on duty at night (the day shift returned above) and free, or holding a point (even with an offer open)
        free = np.flatnonzero(sim._on_call[:, int(t // 86400)] & (sim._free | held_now)).tolist()
        for crew in list(self.at):
            if crew not in free:
                del self.at[crew]
        target = set(range(min(len(free), len(self.points))))
        held = {rank for rank in self.at.values()}
        movers = [c for c in free if self.at.get(c) not in target and sim.status[c] is None]
        if not movers:
            return
        here = np.array([sim.position(c, t) for c in movers])
        spare = np.ones(len(movers), dtype=bool)
        vacant = sorted(target - held)
        apart = _planar_km2(here[:, None, :], self.points[vacant][None, :, :])  # movers x vacant points, once
        for col, rank in enumerate(vacant):
            if not spare.any():
                break
            d = np.where(spare, apart[:, col], np.inf)
            pick = int(d.argmin())
            spare[pick] = False
            crew = movers[pick]
            km = haversine_m(*here[pick], *self.points[rank]) / 1000 * sim.policy.circuity
            if evening:
                self.placement_km += km
            else:
                self.km += km
            self.at[crew] = rank
            sim.parked.pop(crew, None)


def _planar_km2(lat_lon: np.ndarray, to: np.ndarray) -> np.ndarray:
    """Squared planar km between (..., 2) lat/lon arrays (broadcast): enough to rank inside one city."""
    dy = (lat_lon[..., 0] - to[..., 0]) * citymod.KM_PER_DEG_LAT
    dx = (lat_lon[..., 1] - to[..., 1]) * citymod.KM_PER_DEG_LAT * np.cos(np.radians(to[..., 0]))
    return dx * dx + dy * dy
