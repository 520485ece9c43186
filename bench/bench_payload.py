"""Single-core throughput of parse_message on a realistic state/event mix, vs orjson.loads alone.

Run: .venv/bin/python bench/bench_payload.py
"""
from __future__ import annotations

import random
import time

import orjson

from equipment.telemetry.payload import parse_message

NOW_MS = 1_795_400_000_000
N_TERMINALS = 2000
ROUNDS = 5


def state_payload(rng: random.Random, seq: int) -> bytes:
    moving = rng.random() < 0.4
    return orjson.dumps({
        "seq": seq, "ts": NOW_MS - rng.randint(0, 5000),
        "mode": "normal", "moving": moving,
        "direction": rng.choice(["up", "down"]) if moving else "none",
        "floor": rng.randint(-2, 30), "door_zone": not moving, "door_closed": True,
        "occupied": rng.random() < 0.5, "speed": round(rng.uniform(0.5, 2.5), 2) if moving else 0,
        "mains_power": True, "run_count": rng.randint(0, 10**6), "run_hours": rng.uniform(0, 9e4),
    })


def event_payload(rng: random.Random, seq: int) -> bytes:
    body = {"seq": seq, "ts": NOW_MS - rng.randint(0, 5000),
            "code": rng.choice(["02", "03", "04", "11", "40", "90"]), "active": rng.random() < 0.8}
    if rng.random() < 0.3:
        body["detail"] = {"floor": rng.randint(1, 30)}
    return orjson.dumps(body)


def workload(n: int = 20_000) -> list[tuple[str, bytes]]:
    """~90 % state (incl. heartbeats), ~10 % events, like a fleet of terminals."""
    rng = random.Random(7)
    out = []
    for seq in range(n):
        terminal = f"LT-{rng.randrange(N_TERMINALS):06d}"
        if rng.random() < 0.9:
            out.append((f"equipment/{terminal}/state", state_payload(rng, seq)))
        else:
            out.append((f"equipment/{terminal}/event", event_payload(rng, seq)))
    return out


def best_rate(fn, messages) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn(messages)
        best = min(best, time.perf_counter() - start)
    return len(messages) / best


def run_parse(messages) -> None:
    for topic, payload in messages:
        parse_message(topic, payload, now_ms=NOW_MS)


def run_loads(messages) -> None:
    loads = orjson.loads
    for _topic, payload in messages:
        loads(payload)


def main() -> None:
    messages = workload()
    size = sum(len(p) for _, p in messages) / len(messages)
    parse_rate = best_rate(run_parse, messages)
    loads_rate = best_rate(run_loads, messages)
    print(f"messages: {len(messages)}, mean payload {size:.0f} bytes, best of {ROUNDS} rounds")
    print(f"parse_message: {parse_rate:>12,.0f} msgs/s  ({1e6 / parse_rate:.2f} us/msg)")
    print(f"orjson.loads : {loads_rate:>12,.0f} msgs/s  ({1e6 / loads_rate:.2f} us/msg)")


if __name__ == "__main__":
    main()
