"""The rescue event loop (heapq): intake, offers with the real accept deadline, accept / decline / no answer,
level 2 by time, travel, arrival, the 30-minute watchdog and 119. Every offer comes from the shipped rule,
`equipment.emergency.choice.choose_crew`, fed with the able crews at that moment.
"""
from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field

import numpy as np

from equipment.core.geo import EARTH_RADIUS_M, haversine_m
from equipment.emergency.choice import Case, Crew, Policy, State, choose_crew, travel_min
from equipment.simulation import city as citymod
from equipment.simulation.demand import Call
from equipment.simulation.standby import Standby


@dataclass
class Inc:
    idx: int
    call: Call
    lat: float
    lon: float
    org: int
    first_offer: float | None = None
    level: int = 1
    accepted_by: int | None = None
    pending: set = field(default_factory=set)
    tried: set = field(default_factory=set)
    offers: list = field(default_factory=list)  # (t, crew, level): what the rule offered, in order
    offered_at: dict = field(default_factory=dict)  # crew -> (lat, lon) where the rule saw it when offering
    accepted_at: float | None = None
    arrived: float | None = None
    rescuer: int | None = None  # 1 contracted crew, 2 another unit's crew, 3 fire brigade
    called_119: float | None = None


def _haversine_np(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """equipment.core.geo.haversine_m over arrays (same formula, metres)."""
    p1, p2 = np.radians(lat), np.radians(lats)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lons - lon) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


def _lognormal(rng: random.Random, spec: dict) -> float:
    return spec["median"] * math.exp(rng.gauss(0, spec["sigma"]))


class Simulation:
    def __init__(self, city: citymod.City, policy: Policy, *, seed: int, standby: Standby | None = None):
        self.city, self.policy, self.seed, self.p = city, policy, seed, city.params
        self.heap: list = []
        self.seq = itertools.count()
        self.status: list = [None] * city.n_crews  # None free, else ("offer"|"job", incident idx)
        self.parked: dict = {}  # crew -> (lat, lon, until): where a finished job left it
        self.busy_s = 0.0
        self.standby = standby if policy.name == "pool" else None
        self.incidents: list[Inc] = []
        self._on_call = self._rota()
        self._free = np.ones(city.n_crews, dtype=bool)

    # --- crews ------------------------------------------------------------------------------------
    def _rota(self) -> np.ndarray:
        """(crews, days): who is on call outside the day shift, rotating by day within each company."""
        days = self.city.day_jobs.shape[1] * self.p["rota"]["day_job_minutes"] // 1440
        share = self.p["rota"]["on_call_share"]
        out = np.zeros((self.city.n_crews, days), dtype=bool)
        for mates in self.city.org_crews:
            if len(mates):
                n_call, rank = max(1, round(len(mates) * share)), np.arange(len(mates))
                out[mates] = ((rank[:, None] - np.arange(days)[None, :] * n_call) % len(mates)) < n_call
        return out

    def on_duty(self, crew: int, t: float) -> bool:
        return citymod.day_shift(self.city, t) or bool(self._on_call[crew, int(t // 86400)])

    def position(self, crew: int, t: float) -> tuple[float, float]:
        parked = self.parked.get(crew)
        if parked and t < parked[2]:
            return parked[0], parked[1]
        if self.standby is not None and not citymod.day_shift(self.city, t):
            spot = self.standby.spot_of(crew)
            if spot is not None:
                return spot
        return citymod.scheduled_position(self.city, crew, t)

    def _where(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """On duty, free crews: (mask over crews, lat, lon of every crew now)."""
        city = self.city
        if citymod.day_shift(city, t):
            slot = int(t // (60 * self.p["rota"]["day_job_minutes"])) % city.day_jobs.shape[1]
            lifts = city.day_jobs[:, slot]
            lat, lon = city.lat[lifts], city.lon[lifts]
            duty = self._free
        else:
            lat, lon = city.crew_home[:, 0].copy(), city.crew_home[:, 1].copy()
            duty = self._free & self._on_call[:, int(t // 86400)]
        moved = {c for c, (_, _, until) in self.parked.items() if t < until}
        if self.standby is not None:
            moved |= set(self.standby.at)
        for c in moved:
            lat[c], lon[c] = self.position(c, t)
        return duty, lat, lon

    def candidates(self, t: float, inc: Inc) -> tuple[Crew, ...]:
        """The able crews the rule could pick for `inc`: every policy ranks by distance, so only the contracted
        unit's nearest untried crew and the `parallel` nearest of other units can be chosen (live dispatch
        likewise asks the spatial index for those only). Ranked here in numpy; a 1 m margin keeps every crew
        that the exact ranking in choose_crew could put first, ties included, so its answer is unchanged."""
        duty, lat, lon = self._where(t)
        ids = np.flatnonzero(duty)
        if inc.tried:
            ids = ids[~np.isin(ids, list(inc.tried))]
        dist = _haversine_np(inc.lat, inc.lon, lat[ids], lon[ids])
        own = self.city.crew_org[ids] == inc.org
        keep = np.zeros(len(ids), dtype=bool)
        for group, n in ((own, 1), (~own, self.policy.parallel)):
            d = dist[group]
            if len(d):
                cut = np.partition(d, min(n, len(d)) - 1)[min(n, len(d)) - 1] + 1.0
                keep |= group & (dist <= cut)
        org = self.city.crew_org
        return tuple(Crew(int(c), int(org[c]), float(lat[c]), float(lon[c])) for c in ids[keep])

    def _set(self, crew: int, status) -> None:
        self.status[crew] = status
        self._free[crew] = status is None

    # --- event loop -------------------------------------------------------------------------------
    def push(self, t: float, fn, *args) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), fn, args))

    def run(self, calls: list[Call]) -> list[Inc]:
        for i, call in enumerate(calls):
            lat, lon = float(self.city.lat[call.lift]), float(self.city.lon[call.lift])
            inc = Inc(i, call, lat, lon, int(self.city.lift_org[call.lift]))
            self.incidents.append(inc)
            spec = self.p["intake"]["iot_s" if call.iot else "phone_s"]
            self.push(call.t + _lognormal(self._rng(inc, "intake"), spec), self.intake, inc)
        if self.standby is not None:
            self.standby.schedule(self)
        while self.heap:
            t, _, fn, args = heapq.heappop(self.heap)
            fn(t, *args)
        return self.incidents

    def _rng(self, inc: Inc, what: str, n: int = 0) -> random.Random:
        return random.Random(f"{self.seed}/{inc.idx}/{inc.call.t:.3f}/{what}/{n}")

    def intake(self, t: float, inc: Inc) -> None:
        self.push(inc.call.t + self.p["ladder"]["arrival_deadline_s"], self.watchdog, inc)
        self.dispatch(t, inc)

    def dispatch(self, t: float, inc: Inc) -> None:
        waited = 0.0 if inc.first_offer is None else t - inc.first_offer
        state = State(self.candidates(t, inc), frozenset(inc.tried), len(inc.pending))
        case = Case(inc.lat, inc.lon, inc.org, waited, int(t // 3600) % 24)
        choice = choose_crew(state, case, self.policy)
        for offer in choice.offers:
            self.offer(t, inc, offer.crew_id, offer.level)
        if choice.call_119:
            self.call_119(t, inc)

    def offer(self, t: float, inc: Inc, crew: int, level: int) -> None:
        first = inc.first_offer is None
        inc.first_offer = t if first else inc.first_offer
        inc.level = max(inc.level, level)
        inc.tried.add(crew)
        inc.pending.add(crew)
        inc.offers.append((t, crew, level))
        inc.offered_at[crew] = self.position(crew, t)
        self._set(crew, ("offer", inc.idx))
        self._answer(t, inc, crew, level)
        self.push(t + self.p["ladder"]["accept_deadline_s"], self.expire, inc, crew)
        if first and self.policy.name in ("ladder", "eta"):  # after the expiry at a tie, as the jobs run
            self.push(t + self.policy.level2_after_s, self.level2_due, inc)

    def _answer(self, t: float, inc: Inc, crew: int, level: int) -> None:
        r, rng = self.p["crew_response"], self._rng(inc, "answer", crew)
        if rng.random() < r["no_answer_share"]:
            return
        day = citymod.day_shift(self.city, t)
        delay = _lognormal(rng, r["accept_s_day" if day else "accept_s_night"])
        if delay >= self.p["ladder"]["accept_deadline_s"]:
            return
        declines = rng.random() < r["decline_share_level1" if level == 1 else "decline_share_level2"]
        self.push(t + delay, self.decline if declines else self.accept, inc, crew)

    def _drop(self, t: float, inc: Inc, crew: int) -> None:
        """Offer passed over or declined: free the crew; with nothing open, the rule picks again."""
        if crew not in inc.pending:
            return
        inc.pending.discard(crew)
        self._set(crew, None)
        if inc.accepted_by is None and inc.arrived is None and not inc.pending:
            self.dispatch(t, inc)

    def expire(self, t: float, inc: Inc, crew: int) -> None:
        self._drop(t, inc, crew)

    def decline(self, t: float, inc: Inc, crew: int) -> None:
        self._drop(t, inc, crew)

    def level2_due(self, t: float, inc: Inc) -> None:
        """dispatch.open_level2: once, for an incident still at level 1 without an accepted offer."""
        if inc.accepted_by is None and inc.arrived is None and inc.level < 2:
            inc.level = 2
            self.dispatch(t, inc)

    def accept(self, t: float, inc: Inc, crew: int) -> None:
        if crew not in inc.pending:  # cancelled meanwhile (another crew accepted first)
            return
        inc.pending.discard(crew)
        for other in inc.pending:  # parallel offers end with the first acceptance
            self._set(other, None)
        inc.pending.clear()
        inc.accepted_by, inc.accepted_at = crew, t
        self._set(crew, ("job", inc.idx))
        # It leaves from where it was offered: answering takes minutes, and a day-job slot or the shift ending
        # meanwhile must not move it to its next lift or home (that made every 30-minute miss of `pool`).
        lat, lon = inc.offered_at[crew]
        if self.standby is not None:
            self.standby.left(self, crew, t)
        rng, r = self._rng(inc, "travel", crew), self.p["crew_response"]
        turnout = _lognormal(rng, r["turnout_s_day" if citymod.day_shift(self.city, t) else "turnout_s_night"])
        drive = travel_min(haversine_m(lat, lon, inc.lat, inc.lon), int(t // 3600) % 24, self.policy) * 60
        parking = _lognormal(rng, self.p["travel"]["parking_s"])
        self.push(t + turnout + drive + parking, self.crew_arrives, inc, crew, t)

    def crew_arrives(self, t: float, inc: Inc, crew: int, accepted_at: float) -> None:
        if inc.arrived is None:
            inc.arrived, inc.rescuer = t, 1 if self.city.crew_org[crew] == inc.org else 2
        rs = self.p["rescue"]
        work = _lognormal(self._rng(inc, "site"), rs["on_site_s"]) if inc.call.real else rs["false_alarm_check_s"]
        end = t + work + rs["wrap_up_s"]
        self.busy_s += end - accepted_at
        self.push(end, self.crew_free, crew, inc)

    def crew_free(self, t: float, crew: int, inc: Inc) -> None:
        self._set(crew, None)
        slot = 60 * self.p["rota"]["day_job_minutes"]
        self.parked[crew] = (inc.lat, inc.lon, (t // slot + 1) * slot)
        if self.standby is not None:
            self.standby.rebalance(t, self)

    def watchdog(self, t: float, inc: Inc) -> None:
        if inc.arrived is None:
            self.call_119(t, inc)

    def call_119(self, t: float, inc: Inc) -> None:
        inc.level = 3
        if inc.called_119 is not None:
            return
        inc.called_119 = t
        self.push(t + _lognormal(self._rng(inc, "119"), self.p["rescue"]["brigade_s"]), self.brigade, inc)

    def brigade(self, t: float, inc: Inc) -> None:
        if inc.arrived is None:
            inc.arrived, inc.rescuer = t, 3
