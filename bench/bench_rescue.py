"""Rescue simulation (issue 14): arrival-time figures per dispatch policy on the generated city.

Usage: .venv/bin/python bench/bench_rescue.py [--seeds 10] [--quick]
Runs `equipment simulate rescue`'s sweep (seeded, no database), writes bench/rescue_results.json,
bench/rescue_table.md, bench/rescue.png and the issue's figures to bench/results.json. Every policy sees the
same city, crews, rota and entrapments as `ladder` (normal scenario, no false alarms for the headline keys).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import machine, record  # noqa: E402

HERE = ROOT / "bench"


def headline(results: dict) -> dict:
    normal = {r["policy"]: r for r in results.values() if r["scenario"] == "normal" and r["false_alarm"] == 0}
    surge = {r["policy"]: r for r in results.values() if r["scenario"] == "surge"}
    best = min(normal, key=lambda p: normal[p]["mean_min"][0])
    return {"best": best, "normal": normal, "surge": surge}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="3 seeds, 7 days each")
    args = ap.parse_args()
    from equipment.simulation import report, runner
    setup = runner.Setup(days=7 if args.quick else None)
    seeds = 3 if args.quick else args.seeds
    started, cpu = time.monotonic(), _cpu_s()
    results = report.sweep(seeds=seeds, setup=setup)
    wall = time.monotonic() - started
    cpu_s = _cpu_s() - cpu
    report.write(results, HERE, setup=setup, seeds=seeds)
    h = headline(results)
    best, normal, surge = h["best"], h["normal"], h["surge"]
    cmd = "python bench/bench_rescue.py" + (" --quick" if args.quick else "")
    extra = {"seeds": seeds, "wall_s": round(wall, 1), "cpu_s": round(cpu_s, 1), "machine": machine(),
             "load_average_1m_at_end": round(os.getloadavg()[0], 1)}

    def fig(name, value, unit, goal, **more):
        if "ci95" in more:
            more["ci95"] = [round(x, 4) for x in more["ci95"]]
        record(name, value, unit, goal, cmd, **extra, **more)

    b = normal[best]
    fig("rescue_mean_arrival_min", b["mean_min"][0], "min", "<= 9.5 (best policy, normal)", policy=best,
        ci95=b["mean_min"][1:])
    fig("rescue_p90_arrival_min", b["p90_min"][0], "min", "<= 15 (best policy, normal)", policy=best,
        ci95=b["p90_min"][1:])
    fig("rescue_within_30_share", b["within_30"][0], "share", ">= 0.995 (best policy, normal)", policy=best,
        ci95=b["within_30"][1:])
    fig("rescue_surge_within_30_share", surge[best]["surge_within_30"][0], "share",
        ">= 0.99 (best policy, the 40 surge entrapments)", policy=best, ci95=surge[best]["surge_within_30"][1:])
    lad, con = normal["ladder"], normal["contract"]
    fig("rescue_ladder_mean_arrival_min", lad["mean_min"][0], "min", "baseline: published band 10-13.5",
        ci95=lad["mean_min"][1:], contract_mean_min=round(con["mean_min"][0], 3),
        ladder_within_30=round(lad["within_30"][0], 4), ladder_level1=round(lad["level1"][0], 4))
    eta = normal["eta(10)"]
    fig("rescue_eta10_mean_arrival_min", eta["mean_min"][0], "min", "<= 12.5", ci95=eta["mean_min"][1:])
    fig("rescue_eta10_cross_company_share", eta["cross_company"][0], "share", "<= 0.25",
        ci95=eta["cross_company"][1:])
    if not args.quick and seeds == 10:  # the sweep `equipment simulate rescue` runs by default
        fig("rescue_default_run_s", wall, "s", "<= 60 s on 2 cores (the default `equipment simulate rescue`)",
            note="wall of the default sweep (4 policies x 5 configurations x 10 seeds, 2 worker processes) "
                 "on a shared machine: read it with cpu_s and the load average")
    print(report.table(results))
    print(f"best policy {best}; {len(results)} configurations x {seeds} seeds: {wall:.1f} s wall, "
          f"{cpu_s:.1f} s CPU (this process and its workers)")


def _cpu_s() -> float:
    """User + system seconds of this process and its finished workers (the sweep's real cost on a busy box)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
