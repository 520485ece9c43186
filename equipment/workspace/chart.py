"""The dossier's 24-hour telemetry chart as plain SVG geometry (no script: the page policy allows none
inline, and a server-drawn chart works on any phone). Pure: states in, shapes out."""
from __future__ import annotations

import datetime as dt

WIDTH, FLOOR_H, BAND_H = 720, 160, 14


def _x(ts: dt.datetime, start: dt.datetime, span_s: float) -> float:
    return round(max(0.0, min(1.0, (ts - start).total_seconds() / span_s)) * WIDTH, 1)


def _segments(points, key, start, span_s) -> list[dict]:
    """Runs of one value: [{x, w, value}], each lasting until the next change or the window's end."""
    out = []
    for ts, body in points:
        value = body.get(key)
        if value is None:
            continue
        x = _x(ts, start, span_s)
        if out and out[-1]["value"] == value:
            continue
        if out:
            out[-1]["w"] = round(x - out[-1]["x"], 1)
        out.append({"x": x, "w": 0.0, "value": value})
    if out:
        out[-1]["w"] = round(WIDTH - out[-1]["x"], 1)
    return out


def runs(points) -> int | None:
    """Runs in the window: the terminal's run counter difference, else the number of starts seen."""
    counts = [b["run_count"] for _, b in points if isinstance(b.get("run_count"), int)]
    if len(counts) >= 2:
        return max(0, counts[-1] - counts[0])
    moving = [bool(b.get("moving")) for _, b in points if "moving" in b]
    starts = sum(1 for a, b in zip(moving, moving[1:]) if b and not a)
    return starts if moving else None


def build(points, *, end: dt.datetime, hours: int = 24) -> dict | None:
    """points: [(ts, body)] oldest first. None when there is nothing to draw."""
    if not points:
        return None
    start = end - dt.timedelta(hours=hours)
    span_s = hours * 3600.0
    floors = [b["floor"] for _, b in points if isinstance(b.get("floor"), int)]
    lo, hi = (min(floors), max(floors)) if floors else (0, 1)
    hi = hi if hi > lo else lo + 1

    def y(floor):
        return round(FLOOR_H - 8 - (floor - lo) / (hi - lo) * (FLOOR_H - 16), 1)
    line, last_y = [], None
    for ts, body in points:  # a step line: the car stays at a floor until the next state
        if not isinstance(body.get("floor"), int):
            continue
        x, fy = _x(ts, start, span_s), y(body["floor"])
        if last_y is not None:
            line.append(f"{x},{last_y}")
        line.append(f"{x},{fy}")
        last_y = fy
    if last_y is not None:
        line.append(f"{WIDTH},{last_y}")
    ticks = [{"x": round(h / hours * WIDTH, 1), "hour": (start + dt.timedelta(hours=h))} for h in range(0, hours + 1, 6)]
    return {"width": WIDTH, "floor_h": FLOOR_H, "band_h": BAND_H, "line": " ".join(line), "lo": lo, "hi": hi,
            "doors": _segments(points, "door_closed", start, span_s),
            "modes": _segments(points, "mode", start, span_s), "ticks": ticks, "runs": runs(points),
            "count": len(points)}
