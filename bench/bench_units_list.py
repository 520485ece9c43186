"""/units (the registry list page) on PostgreSQL with 100,000 units: p95 server time over a mix of searches,
filters, sorts and deep pages, as a regulator (every unit) and as an owner (its organisation's units).

Usage: .venv/bin/python bench/bench_units_list.py [--units 100000] [--rounds 15]
Starts a throwaway PostGIS cluster (tests/support/pg.py), generates the units set-based in SQL (5 districts,
200 maintenance units, 5 % overdue, 20 % with a terminal, half of those online), then renders the pages in
process through the Flask test client (the whole request: query, count, template) and writes
`units_list_p95_ms` to bench/results.json. Goal: < 300 ms.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import machine, record  # noqa: E402
from tests.support.pg import PgCluster  # noqa: E402

GENERATE = """
INSERT INTO organizations (kind, name, code, phone, created_at)
SELECT CASE WHEN g <= 1000 THEN 'user_unit' ELSE 'maintenance_unit' END, '单位' || g, 'B' || lpad(g::text, 17, '0'),
       '0591-' || lpad(g::text, 8, '0'), now() FROM generate_series(1, 1200) g;
INSERT INTO equipment (family, category_code, device_code, rescue_code, address, district_code, location,
                       user_org_id, maintenance_org_id, status, attributes, history_count, created_at, updated_at,
                       next_inspection_due, last_inspection_date, last_inspection_conclusion)
SELECT 'elevator', CASE WHEN g % 10 = 0 THEN '3310' ELSE '3110' END, 'D' || lpad(g::text, 17, '0'),
       lpad((g - 1)::text, 6, '0'), '福州市' || (ARRAY['五四路','工业路','湖东路','六一路','杨桥路'])[1 + g % 5] || g || '号',
       (ARRAY['350102','350103','350104','350105','350111'])[1 + g % 5],
       ST_SetSRID(ST_MakePoint(119.2 + random() * 0.4, 25.9 + random() * 0.3), 4326),
       1 + g % 1000, 1001 + g % 200, CASE WHEN g % 20 = 0 THEN 'overdue' ELSE 'in_service' END,
       '{"floors": 18}'::jsonb, 0, now(), now(),
       CASE WHEN g % 20 = 0 THEN current_date - (g % 60) ELSE current_date + (g % 365) END,
       current_date - (365 - g % 365), 'pass'
FROM generate_series(1, %(units)s) g;
INSERT INTO terminals (terminal_id, equipment_id, mqtt_password_hash, status, online, created_at)
SELECT 'LT-' || lpad(id::text, 12, '0'), id, 'x', 'active', id % 10 = 0, now() FROM equipment WHERE id % 5 = 0;
INSERT INTO telemetry_latest (equipment_id, terminal_id, body, online, timers_armed, last_seen_at)
SELECT equipment_id, terminal_id, '{"floor": 1}'::jsonb, online, false, now() FROM terminals;
VACUUM ANALYZE;  -- the steady state autovacuum keeps: visibility map set, statistics fresh
"""
QUERIES = ["", "q=五四路", "q=D00000000000054321", "q=054320", "status=overdue", "district=350103",
           "maintenance_org_id=1050", "overdue=true", "has_terminal=true", "online=true", "online=false",
           "category=3310&district=350102", "sort=next_due", "sort=address&page=40", "page=1500",
           "has_terminal=true&overdue=false&sort=next_due&page=3"]


def prepare(cluster: PgCluster, units: int) -> str:
    import subprocess
    import psycopg
    url = cluster.create_database("bench_units")
    env = {**os.environ, "EQUIPMENT_DATABASE_URL": url, "EQUIPMENT_INSTANCE_DIR": tempfile.mkdtemp(),
           "PYTHONPATH": str(ROOT)}  # this tree's migrations, not the installed package's
    subprocess.run([str(ROOT / ".venv/bin/equipment"), "db", "upgrade", "heads"], env=env, check=True,
                   capture_output=True)
    started = time.time()
    with psycopg.connect(cluster.conninfo("bench_units"), autocommit=True) as conn:
        for statement in GENERATE.replace("%(units)s", str(units)).split(";\n"):
            if statement.strip():
                conn.execute(statement)
    print(f"generated {units:,} units in {time.time() - started:.1f} s", flush=True)
    return url


PASSWORD = "bench-password-1"


def _users(app) -> dict[str, str]:
    from equipment.auth import service
    from equipment.core.actor import SYSTEM, acting_as
    with app.app_context(), acting_as(SYSTEM):
        service.create_user(username="bench-regulator", role="regulator", password=PASSWORD)
        service.create_user(username="bench-owner", role="owner", org_id=7, password=PASSWORD)
    return {"regulator": "bench-regulator", "owner": "bench-owner"}


def _login(client, username: str) -> None:
    """Through the login form, as a browser does (a page session is a credential row, not a bare cookie)."""
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code in (302, 303), (username, resp.status_code)


def measure(app, users: dict, rounds: int) -> dict[str, list[float]]:
    client = app.test_client()
    timings: dict[str, list[float]] = {}
    for role, username in users.items():
        _login(client, username)
        for query in QUERIES:
            path = f"/units?{query}"
            assert client.get(path).status_code == 200, path  # warm
            for _ in range(rounds):
                t0 = time.perf_counter()
                resp = client.get(path)
                timings.setdefault(f"{role} {path}", []).append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200, (path, resp.status_code)
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    cluster = PgCluster()
    cluster.start()
    try:
        url = prepare(cluster, args.units)
        from equipment import create_app
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": tempfile.mkdtemp()})
        timings = measure(app, _users(app), args.rounds)
        with app.app_context():
            from equipment.extensions import db
            db.engine.dispose()
    finally:
        cluster.stop()
    every = [v for values in timings.values() for v in values]
    worst = sorted(((p95(v), k) for k, v in timings.items()), reverse=True)[:5]
    for value, key in worst:
        print(f"  p95 {value:7.1f} ms  {key}")
    overall = p95(every)
    print(f"units_list_p95_ms = {overall:.1f} over {len(every)} requests")
    record("units_list_p95_ms", overall, "ms", "< 300 ms", "python bench/bench_units_list.py",
           units=args.units, requests=len(every), median_ms=round(statistics.median(every), 1),
           slowest=[{"p95_ms": round(v, 1), "request": k} for v, k in worst], machine=machine(),
           load_average_1m_at_end=round(os.getloadavg()[0], 1),
           note="PostgreSQL + PostGIS, in-process Flask test client (query + count + template), "
                "regulator (all units) and owner (its organisation)")


if __name__ == "__main__":
    main()
