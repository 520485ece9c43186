"""Public tag lookups per second and p50/p99 latency under gunicorn on PostgreSQL with 1,000,000 units.

Usage: .venv/bin/python bench/bench_public.py [--units 1000000] [--seconds 20] [--rate 1000] [--workers 3]
       [--worker-class sync|gthread] [--threads 4]
Starts a throwaway PostGIS cluster (tests/support/pg.py), generates the units set-based in SQL, serves
/api/v1/public/<tag> with gunicorn on 127.0.0.1, and drives it from wrk (loopback only, bounded in time):
  1. paced open-loop at --rate requests/s over random tags -> latency percentiles (goal: p99 < 50 ms at 1,000/s);
  2. unpaced with 32 connections -> the ceiling in requests/s.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import machine, record  # noqa: E402
from tests.support.pg import PgCluster  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

GENERATE = """
INSERT INTO organizations (kind, name, code, phone, created_at)
SELECT CASE WHEN g <= 1000 THEN 'user_unit' ELSE 'maintenance_unit' END, '单位' || g, 'B' || lpad(g::text, 17, '0'),
       '0591-' || lpad(g::text, 8, '0'), now() FROM generate_series(1, 1200) g;
INSERT INTO equipment (family, category_code, device_code, rescue_code, address, district_code, location,
                       user_org_id, maintenance_org_id, status, attributes, history_count, created_at, updated_at,
                       next_inspection_due, last_inspection_date, last_inspection_conclusion)
SELECT 'elevator', '3110', 'D' || lpad(g::text, 17, '0'), lpad((g - 1)::text, 6, '0'), '福州市测试路' || g || '号',
       '350102', ST_SetSRID(ST_MakePoint(119.2 + random() * 0.4, 25.9 + random() * 0.3), 4326),
       1 + g % 1000, 1001 + g % 200, 'in_service', '{"floors": 18}'::jsonb, 0, now(), now(),
       current_date + (g % 365), current_date - (365 - g % 365), 'pass'
FROM generate_series(1, %(units)s) g;
INSERT INTO qr_tags (tag, equipment_id, active, issued_at)
SELECT rtrim(translate(encode(decode(replace(gen_random_uuid()::text, '-', ''), 'hex'), 'base64'), '+/', '-_'), '='),
       id, true, now() FROM equipment;
ANALYZE;
"""


class BenchCluster(PgCluster):
    def _server_options(self) -> str:
        return super()._server_options() + " -c shared_buffers=1GB -c effective_cache_size=4GB"


def prepare(cluster: PgCluster, units: int) -> str:
    url = cluster.create_database("bench_public")
    env = {**os.environ, "EQUIPMENT_DATABASE_URL": url, "EQUIPMENT_INSTANCE_DIR": tempfile.mkdtemp()}
    subprocess.run([str(ROOT / ".venv/bin/equipment"), "db", "upgrade", "heads"], env=env, check=True,
                   capture_output=True)
    import psycopg
    started = time.time()
    with psycopg.connect(cluster.conninfo("bench_public"), autocommit=True) as conn:
        for statement in GENERATE.replace("%(units)s", str(units)).split(";\n"):
            if statement.strip():
                conn.execute(statement)
        tags = [r[0] for r in conn.execute("SELECT tag FROM qr_tags TABLESAMPLE SYSTEM (5) LIMIT 20000")]
    print(f"generated {units:,} units in {time.time() - started:.1f} s", flush=True)
    return url, tags


def start_gunicorn(url: str, workers: int, worker_class: str, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "EQUIPMENT_DATABASE_URL": url, "EQUIPMENT_INSTANCE_DIR": tempfile.mkdtemp(),
           "EQUIPMENT_PUBLIC_RATE_LIMIT": "0/60"}  # the limiter would (rightly) stop one client at 1,000/s
    # `equipment web --worker-class sync` is the scan/API tier of docs/operations.md; gthread can be compared.
    threading = ["--threads", str(threads)] if worker_class == "gthread" else []
    proc = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-k", worker_class, "-w", str(workers), *threading,
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


LUA = """
local tags = {}
for line in io.lines("%(tags)s") do tags[#tags + 1] = line end
math.randomseed(%(seed)d)
request = function()
  return wrk.format("GET", "/api/v1/public/" .. tags[math.random(#tags)])
end
%(delay)s
response = function(status) if status ~= 200 then errors = (errors or 0) + 1 end end
"""

# Open-loop pacing: a per-connection delay after each response (closed loop) lets latency lower the
# rate (64 connections x (64 ms + 25 ms) gives ~720/s, not 1,000/s). Instead every request claims the
# next slot of one global schedule (1 ms apart at 1,000/s) on the monotonic clock; slots missed while
# every connection is busy are dropped, so the achieved rate reported is what was really served.
PACED = """
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } bench_ts; int clock_gettime(int, bench_ts *); ]]
local ts = ffi.new("bench_ts")
local function now_ms() ffi.C.clock_gettime(1, ts); return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6 end
local interval, next_slot = %(interval).6f, 0
delay = function()
  local t = now_ms()
  if next_slot < t then next_slot = t end
  local wait = next_slot - t
  next_slot = next_slot + interval
  return wait
end
"""


def run_wrk(base: str, tags_file: str, seconds: int, connections: int, rate: int | None) -> dict:
    delay = PACED % {"interval": 1000.0 / rate} if rate else ""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(LUA % {"tags": tags_file, "seed": random.randrange(1 << 30), "delay": delay})
    script.close()
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency",
                          "-s", script.name, base], capture_output=True, text=True, timeout=seconds + 60).stdout
    print(out, flush=True)
    return parse_wrk(out)


def parse_wrk(out: str) -> dict:
    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    pct = {int(p): ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": pct.get(50), "p99": pct.get(99), "non2xx": int(non2xx.group(1)) if non2xx else 0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    ap.add_argument("--threads", type=int, default=4, help="per gthread worker")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    command = "bench/bench_public.py " + " ".join(sys.argv[1:])
    with BenchCluster() as cluster:
        url, tags = prepare(cluster, args.units)
        tags_file = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
        tags_file.write("\n".join(tags))
        tags_file.close()
        proc, base = start_gunicorn(url, args.workers, args.worker_class, args.threads)
        try:
            run_wrk(base, tags_file.name, 5, 16, None)  # warm the caches
            paced = run_wrk(base, tags_file.name, args.seconds, 64, args.rate)
            ceiling = run_wrk(base, tags_file.name, args.seconds, 32, None)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"machine: {machine()}")
    print(f"paced at {args.rate}/s: achieved {paced['rps']:.0f}/s, p50 {paced['p50']:.2f} ms, p99 {paced['p99']:.2f} ms, "
          f"non-2xx {paced['non2xx']}")
    print(f"ceiling: {ceiling['rps']:.0f} requests/s, p50 {ceiling['p50']:.2f} ms, p99 {ceiling['p99']:.2f} ms")
    if paced["non2xx"] or ceiling["non2xx"]:
        raise SystemExit("some lookups failed; figures not recorded")
    record("public_lookup_rps", ceiling["rps"], "requests/s", ">= 1000", command, units=args.units,
           workers=args.workers, worker_class=args.worker_class, p99_ms_at_ceiling=ceiling["p99"])
    record("public_lookup_p99_ms", paced["p99"], "ms", f"< 50 at {args.rate} requests/s", command,
           achieved_rps=paced["rps"], p50_ms=paced["p50"], units=args.units)


if __name__ == "__main__":
    main()
