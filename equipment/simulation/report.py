"""A sweep of the rescue simulation (policies x scenarios x false-alarm shares x seeds, on up to N processes)
and its outputs: results.json, a Markdown table, a PNG chart."""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from equipment.simulation import runner

DEFAULT_POLICIES = ("contract", "ladder", "eta(10)", "pool")
COLUMNS = (("mean_min", "mean", 1), ("p50_min", "p50", 1), ("p90_min", "p90", 1), ("p99_min", "p99", 1),
           ("within_15", "≤15 min", 3), ("within_30", "≤30 min", 3), ("level1", "level 1", 3),
           ("level2", "level 2", 3), ("brigade", "119 first", 3), ("called_119", "119 called", 3),
           ("surge_within_30", "surge ≤30", 3), ("cross_company", "other unit", 3), ("utilisation", "crew util.", 5),
           ("relocation_km_day", "move-up km/day", 0))


def configs(policies, scenarios, false_alarms) -> list[tuple[str, str, float]]:
    """Every policy in every scenario; the false-alarm sweep on the normal scenario, the others at the first."""
    out = []
    for policy in policies:
        for scenario in scenarios:
            shares = false_alarms if scenario == "normal" else false_alarms[:1]
            out += [(policy, scenario, fa) for fa in shares]
    return out


def _task(args) -> list[tuple]:
    seed, policy, cases, setup = args
    return [((policy, scenario, fa), seed, runner.run_once(policy=policy, scenario=scenario, seed=seed,
                                                           false_alarm=fa, setup=setup))
            for (scenario, fa) in cases]


def sweep(*, policies=DEFAULT_POLICIES, scenarios=("normal", "high", "surge"), false_alarms=(0.0, 0.1, 0.3),
          seeds: int = 10, setup: runner.Setup = runner.Setup(), jobs: int | None = None, progress=True) -> dict:
    """{(policy, scenario, fa) label: aggregated figures with 95 % intervals over seeds}."""
    for policy in policies:
        runner.policy_from(runner.load(setup), policy)  # a bad policy name fails before any work
    cases = configs(policies, scenarios, list(false_alarms))
    by_policy = {p: [(s, fa) for (q, s, fa) in cases if q == p] for p in policies}
    tasks = [(seed, p, by_policy[p], setup) for seed in range(1, seeds + 1) for p in policies]
    rows: dict = {}
    bar = _bar(len(tasks), progress)
    jobs = jobs or min(2, os.cpu_count() or 1)
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            for done in pool.map(_task, tasks):
                _collect(rows, done, bar)
    else:
        for task in tasks:
            _collect(rows, _task(task), bar)
    if bar is not None:
        bar.close()
    return {label(*key): {"policy": key[0], "scenario": key[1], "false_alarm": key[2],
                          **runner.aggregate([r for _, r in sorted(rows[key])])} for key in cases}


def _bar(total, progress):
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc="simulate rescue", unit="run", leave=False)


def _collect(rows: dict, done: list, bar) -> None:
    for key, seed, figures in done:
        rows.setdefault(key, []).append((seed, figures))
    if bar is not None:
        bar.update(1)


def label(policy: str, scenario: str, fa: float) -> str:
    return f"{policy}/{scenario}/fa{round(fa * 100)}"


def table(results: dict) -> str:
    head = "| policy | scenario | false alarms | " + " | ".join(c[1] for c in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (3 + len(COLUMNS))]
    for r in results.values():
        cells = [_cell(r[key], digits) for key, _, digits in COLUMNS]
        lines.append(f"| {r['policy']} | {r['scenario']} | {r['false_alarm']:.0%} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value, digits: int) -> str:
    mean, low, high = value
    if mean != mean:
        return "-"
    if low != low or high - low < 10 ** -digits:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def chart(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    normal = [r for r in results.values() if r["scenario"] == "normal" and r["false_alarm"] == 0.0] or \
        [r for r in results.values() if r["scenario"] == "normal"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = [r["policy"] for r in normal]
    for offset, key, colour in ((-0.2, "mean_min", "#3b6ea5"), (0.2, "p90_min", "#c0504d")):
        vals = [r[key][0] for r in normal]
        err = [[max(0.0, r[key][0] - r[key][1]) if r[key][1] == r[key][1] else 0 for r in normal],
               [max(0.0, r[key][2] - r[key][0]) if r[key][2] == r[key][2] else 0 for r in normal]]
        left.bar([i + offset for i in range(len(names))], vals, 0.4, yerr=err, color=colour, capsize=3,
                 label="mean" if key == "mean_min" else "p90")
    left.axhline(30, color="grey", lw=0.8, ls="--")
    left.set_xticks(range(len(names)), names)
    left.set_ylabel("minutes from report to a rescuer on site")
    left.set_title("normal scenario, 95 % intervals over seeds")
    left.legend()
    for r in normal:
        scen = [x for x in results.values() if x["policy"] == r["policy"] and x["false_alarm"] == r["false_alarm"]]
        right.plot([x["scenario"] for x in scen], [x["within_30"][0] for x in scen], marker="o", label=r["policy"])
    right.set_ylabel("share on site within 30 min")
    right.set_title("by scenario")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _no_nan(value):
    """Strict JSON: a figure with nothing to measure (no surge in this scenario, one seed) is null."""
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def write(results: dict, out: Path, *, setup: runner.Setup, seeds: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    meta = {"seeds": seeds, "setup": asdict(setup), "results": results}
    (out / "rescue_results.json").write_text(json.dumps(_no_nan(meta), indent=1, ensure_ascii=False) + "\n")
    (out / "rescue_table.md").write_text(table(results) + "\n", encoding="utf-8")
    try:
        chart(results, out / "rescue.png")
    except ImportError:  # matplotlib is the optional [bench] extra
        return {"json": out / "rescue_results.json", "table": out / "rescue_table.md",
                "chart": "(no chart: install the [bench] extra for matplotlib)"}
    return {"json": out / "rescue_results.json", "table": out / "rescue_table.md", "chart": out / "rescue.png"}
