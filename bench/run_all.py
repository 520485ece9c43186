"""Run every benchmark, then write bench/results.json (each bench merges its figures) and bench/README.md
with the machine, the date, every figure against its goal, and PNG charts.

Usage: .venv/bin/python bench/run_all.py [--quick]
Each bench is bounded in time and talks to loopback only; a bench that fails is reported and the rest run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = str(ROOT / ".venv/bin/python")
BENCHES = [  # (script, full args, quick args, time limit in seconds)
    ("bench_payload.py", [], [], 300),
    ("bench_public.py", ["--units", "1000000"], ["--units", "100000", "--seconds", "10"], 1800),
    ("bench_ingest.py", [], ["--quick"], 1800),
    ("bench_dispatch.py", [], ["--quick"], 1200),
    ("bench_trapped.py", [], ["--quick"], 900),
    ("bench_due_refresh.py", [], ["--quick"], 1800),
    ("bench_rescue.py", [], ["--quick"], 900),
]


def run(quick: bool) -> list[tuple[str, str, float]]:
    outcomes = []
    for script, full, short, limit in BENCHES:
        path = HERE / script
        if not path.exists():
            outcomes.append((script, "missing", 0.0))
            continue
        started = time.time()
        print(f"== {script}", flush=True)
        try:
            proc = subprocess.run([PY, str(path), *(short if quick else full)], cwd=ROOT, timeout=limit)
            status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            status = f"timed out after {limit} s"
        outcomes.append((script, status, time.time() - started))
    return outcomes


def machine() -> dict:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem_kb = int(next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "os": platform.platform(), "python": platform.python_version()}


def charts(results: dict) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    made = []
    ingest = results.get("ingest_msgs_per_s")
    if ingest:
        bare = ingest.get("bare_msgs_per_s") or (ingest["value"] / results.get("ingest_vs_bare_ratio", {}).get("value", 1))
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.barh(["bare paho subscriber", "platform consumer"], [bare, ingest["value"]], color=["#999", "#0b3d91"])
        ax.axvline(0.7 * bare, color="#c0262d", linestyle="--", label="goal: 70% of bare")
        ax.set_xlabel("messages/s (QoS 1)")
        ax.legend(loc="lower right")
        ax.set_title("Ingest rate, same broker, same run")
        fig.tight_layout()
        fig.savefig(HERE / "ingest_rate.png", dpi=120)
        made.append("ingest_rate.png")
    latencies = [(k, v) for k, v in results.items() if v.get("unit") == "ms"]
    if latencies:
        fig, ax = plt.subplots(figsize=(6, 0.6 + 0.5 * len(latencies)))
        ax.barh([k for k, _ in latencies], [v["value"] for _, v in latencies], color="#0b3d91")
        ax.set_xscale("log")
        ax.set_xlabel("ms (log scale)")
        ax.set_title("Latencies (goals in README table)")
        fig.tight_layout()
        fig.savefig(HERE / "latency.png", dpi=120)
        made.append("latency.png")
    if (HERE / "rescue.png").exists():  # drawn by bench_rescue.py itself
        made.append("rescue.png")
    return made


def write_readme(outcomes, results: dict, pngs: list[str]) -> None:
    m = machine()
    lines = ["# Benchmarks", "",
             f"Latest run: {dt.date.today().isoformat()} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
             f"{m['os']}, Python {m['python']}.", "",
             "Run them all: `.venv/bin/python bench/run_all.py` (each bench alone: `.venv/bin/python bench/<name>.py`).",
             "Every server is on 127.0.0.1, every load is bounded in count and time.", "",
             "| figure | value | unit | goal | command | date |", "|---|---|---|---|---|---|"]
    for name, r in sorted(results.items()):
        lines.append(f"| `{name}` | {r['value']} | {r['unit']} | {r['goal']} | `{r['command']}` | {r['date']} |")
    if outcomes:
        lines += ["", "| bench | outcome | seconds |", "|---|---|---|"]
        lines += [f"| {s} | {status} | {secs:.0f} |" for s, status, secs in outcomes]
    lines += [""] + [f"![{p}]({p})" for p in pngs]
    notes = HERE / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8")]
    (HERE / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    ap.add_argument("--report-only", action="store_true", help="only rewrite README.md and charts")
    args = ap.parse_args()
    outcomes = [] if args.report_only else run(args.quick)
    results = json.loads((HERE / "results.json").read_text()) if (HERE / "results.json").exists() else {}
    write_readme(outcomes, results, charts(results))
    print((HERE / "README.md").read_text())
    if any(status != "ok" and status != "missing" for _, status, _ in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
