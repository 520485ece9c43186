"""Trapped event -> crew notified, end to end, while telemetry flows (issue 5's bench).

    python bench/bench_trapped.py [--probes 120] [--load-rate 5000] [--seconds 60] [--fast-pg] [--quick]

Everything runs as the platform runs it: PostgreSQL with durable defaults, a LocalMosquitto with terminal
credentials, `equipment telemetry consume` and `equipment jobs run` as processes (the jobs leader runs
`emergency.deliver` every 1 s), the webhook channel (EQUIPMENT_WEBHOOK_URL) pointing at a real HTTP server
in this process. `--load-rate` state msgs/s flow from 50 terminals for `--seconds`; `--probes` units, each
of one maintenance unit with on-duty crews around, send event 11 (trapped passengers: an explicit signal,
so no debounce applies; the state-based detection would add TRAPPED_AFTER_S, 45 s by default, on top),
spaced evenly, each from its own terminal connection. Latency = the webhook server's receive time of the
unit's `crew_dispatch` notification - the publish time (same clock). Writes trapped_to_notified_p99_ms.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_ingest import Pacer, Rig, carried, durable_cluster, run_probes, stop, summarise  # noqa: E402
from bench.results import machine, record  # noqa: E402

LAT, LON = 26.08, 119.30


class Webhook:
    """A real local webhook receiver: the first `crew_dispatch` per unit, stamped on arrival."""

    def __init__(self):
        self.received: dict[int, float] = {}
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                at = time.time()
                outer.requests += 1
                try:
                    payload = json.loads(body)
                    if payload.get("kind") == "crew_dispatch":
                        outer.received.setdefault(payload["incident"]["equipment_id"], at)
                except (ValueError, KeyError, TypeError):
                    pass
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def check(self, pending: list[int]) -> dict[int, float]:
        return {eid: self.received[eid] for eid in pending if eid in self.received}

    def close(self) -> None:
        self.server.shutdown()


def crews_and_units(rig: Rig, probes: int) -> list[int]:
    """One maintenance unit with probes + 20 on-duty crews within ~1 km, and `probes` units it maintains."""
    from equipment.core.actor import SYSTEM, acting_as
    from equipment.emergency import crews
    from equipment.extensions import db
    from tests.factories import Factory
    rnd = random.Random(7)
    with rig.app.app_context(), acting_as(SYSTEM):
        f = Factory(db)
        maint = f.org("maintenance_unit")
        db.session.commit()
        for _ in range(probes + 20):
            user = f.user("crew", maint)
            db.session.commit()
            crews.register_crew(user_id=user.id, org_id=maint.id, on_duty=True,
                                lat=LAT + rnd.uniform(-0.01, 0.01), lon=LON + rnd.uniform(-0.01, 0.01))
        db.session.commit()
        maint_ref = SimpleNamespace(id=maint.id)  # the factory needs only the id, in its own app context
    return rig.elevators(probes, maint_org=maint_ref, lat=LAT, lon=LON)


def queued_ms(rig: Rig, samples: dict) -> float:
    """p50 of outbox row creation (inside the consumer's batch transaction) - publish time."""
    created = {}
    for eid in samples:
        at = rig.scalar("SELECT extract(epoch FROM n.created_at) FROM notifications n JOIN incidents i "
                        "ON i.id = n.incident_id WHERE i.equipment_id = :e AND n.kind = 'crew_dispatch' "
                        "ORDER BY n.id LIMIT 1", e=eid)
        if at is not None:
            created[eid] = (float(at) - samples[eid][0]) * 1000
    return statistics.median(created.values()) if created else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--probes", type=int, default=120)
    ap.add_argument("--terminals", type=int, default=50)
    ap.add_argument("--load-rate", type=float, default=5000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--fast-pg", action="store_true", help="fsync/synchronous_commit off (the test cluster)")
    ap.add_argument("--quick", action="store_true", help="100 probes over 25 s")
    args = ap.parse_args()
    if args.quick:
        args.probes, args.seconds = 100, 25
    hook = Webhook()
    with durable_cluster(args.fast_pg) as cluster, tempfile.TemporaryDirectory() as tmp:
        rig = Rig(cluster, tmp, "bench_trapped")
        rig.env.update(EQUIPMENT_WEBHOOK_URL=hook.url, EQUIPMENT_NOTIFY_CHANNELS="webhook")
        load = rig.provision(rig.elevators(args.terminals))
        probes = rig.provision(crews_and_units(rig, args.probes))
        consumer = rig.consumer("bench-trapped")
        jobs = rig.start("jobs", "run", log="jobs.log")
        time.sleep(2)  # leadership + scheduler start
        stored0 = rig.scalar("SELECT count(*) FROM telemetry_states")
        pacer = Pacer(rig, load, args.load_rate, args.seconds, seq0=1)
        pacer.start()
        samples = run_probes(rig, probes, args.seconds - 2, hook.check)
        pacer.join()
        drained = carried(rig, pacer, stored0)
        stats = summarise(samples)
        queued = queued_ms(rig, samples)
        rc_consumer, rc_jobs = stop(consumer), stop(jobs)
        hook.close()
        print(f"trapped event 11 -> crew notified (webhook received), under {pacer.sent / args.seconds:,.0f} "
              f"telemetry msg/s for {args.seconds:.0f} s: p50 {stats['p50']:.0f} ms, p99 {stats['p99']:.0f} ms, "
              f"max {stats['max']:.0f} ms over {stats['samples']} probes ({stats['missing']} missing); "
              f"outbox row written p50 {queued:.0f} ms after publish; load drained {drained} s after it stopped; "
              f"exits: consumer {rc_consumer}, jobs {rc_jobs}")
        cmd = "python bench/bench_trapped.py " + " ".join(sys.argv[1:])
        record("trapped_to_notified_p99_ms", stats["p99"], "ms", "< 1000 beyond the debounce (event 11: none)",
               cmd, p50_ms=round(stats["p50"], 1), max_ms=round(stats["max"], 1), samples=stats["samples"],
               missing=stats["missing"], outbox_written_p50_ms=round(queued, 1),
               background_msgs_per_s=round(pacer.sent / args.seconds), seconds=args.seconds,
               detection="event 11 (no debounce)", channel="webhook to a local HTTP server",
               load_average_1m_at_end=round(os.getloadavg()[0], 1), machine=machine(),
               postgres="test settings (fsync off)" if args.fast_pg else "durable defaults (fsync on)")
        rig.close()


if __name__ == "__main__":
    main()
