"""Read-modify-write of bench/results.json: {"name": {"value","unit","goal","command","date"}}."""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import platform
import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def record(name: str, value: float, unit: str, goal: str, command: str, **extra) -> None:
    RESULTS.touch(exist_ok=True)
    with open(RESULTS, "r+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # several benches may finish at once
        text = fh.read().strip()
        data = json.loads(text) if text else {}
        data[name] = {"value": round(value, 3), "unit": unit, "goal": goal, "command": command,
                      "date": dt.date.today().isoformat(), **extra}
        fh.seek(0)
        fh.truncate()
        json.dump(data, fh, indent=2, ensure_ascii=False, sort_keys=True)
        fh.write("\n")


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"
