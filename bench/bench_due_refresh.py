"""The daily due/overdue refresh over 1,000,000 units (2,000,000 obligations) on PostgreSQL.

Usage: .venv/bin/python bench/bench_due_refresh.py [--units 1000000]
EQUIPMENT_DATABASE_URL, when given, must name an empty scratch PostGIS database (the bench migrates and fills
it); otherwise a throwaway PostGIS cluster is started (tests/support/pg.py). Units and obligations
are generated set-based (generate_series), statuses settled as of yesterday, then the real job code
(equipment.inspections.jobs.refresh) is timed for today: the day boundary where due dates pass.
Goal: under 10 s. Writes `due_refresh_1m_s` into bench/results.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import machine, record  # noqa: E402

GENERATE = """
INSERT INTO organizations (kind, name, code, phone, created_at)
SELECT 'user_unit', '单位' || g, 'R' || lpad(g::text, 17, '0'), '0591-' || lpad(g::text, 8, '0'), now()
FROM generate_series(1, 1000) g;
INSERT INTO equipment (family, category_code, device_code, address, district_code, user_org_id, status, attributes,
                       history_count, created_at, updated_at, next_inspection_due, last_inspection_date,
                       last_inspection_conclusion)
SELECT 'elevator', '3110', 'R' || lpad(g::text, 17, '0'), '福州市测试路' || g || '号', '350102',
       (SELECT min(id) FROM organizations) + g % 1000, 'in_service', '{}'::jsonb, 0, now(), now(),
       current_date - 30 + (g % 400), current_date - 395 + (g % 400), 'pass'
FROM generate_series(1, %(units)s) g;
INSERT INTO obligations (equipment_id, kind, rule_key, rule_version, anchor, last_done, next_due, allowed, status,
                         data, updated_at)
SELECT id, 'inspection', 'elevator.inspection', 1, last_inspection_date, last_inspection_date, next_inspection_due,
       true, 'ok', '{}'::jsonb, now() FROM equipment;
INSERT INTO obligations (equipment_id, kind, rule_key, rule_version, anchor, last_done, next_due, allowed, status,
                         data, updated_at)
SELECT id, 'maintenance', 'elevator.maintenance', 1, current_date - 20 + id % 15, current_date - 20 + id % 15,
       current_date - 5 + id % 15, true, 'ok', '{}'::jsonb, now() FROM equipment;
VACUUM ANALYZE organizations;
VACUUM ANALYZE equipment;
VACUUM ANALYZE obligations;
"""


def _database(units: int):
    from tests.support.pg import PgCluster
    cluster = PgCluster()
    cluster.start()
    return cluster, cluster.create_database("bench_due")


def _generate(url: str, units: int) -> None:
    import psycopg
    env = {**os.environ, "EQUIPMENT_DATABASE_URL": url, "EQUIPMENT_INSTANCE_DIR": tempfile.mkdtemp()}
    subprocess.run([str(ROOT / ".venv/bin/equipment"), "db", "upgrade", "heads"], env=env, check=True,
                   capture_output=True)
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    started = time.time()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in GENERATE.replace("%(units)s", str(units)).split(";\n"):
            if statement.strip():
                conn.execute(statement)
    print(f"generated {units:,} units and {2 * units:,} obligations in {time.time() - started:.1f} s", flush=True)


def _timed_refresh(url: str) -> tuple[float, float, dict]:
    os.environ["EQUIPMENT_DATABASE_URL"] = url
    os.environ.setdefault("EQUIPMENT_INSTANCE_DIR", tempfile.mkdtemp())
    from equipment import create_app
    from equipment.core.actor import SYSTEM, acting_as
    from equipment.inspections import jobs
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context(), acting_as(SYSTEM):
        today = jobs.obligations.today_local()
        started = time.perf_counter()
        jobs.refresh(today - dt.timedelta(days=1))  # first run: every status computed from scratch
        first = time.perf_counter() - started
        started = time.perf_counter()
        counts = jobs.refresh(today)  # the daily run: one day's worth of due dates cross a boundary
        daily = time.perf_counter() - started
    return first, daily, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=1_000_000)
    args = parser.parse_args()
    cluster = None
    url = os.environ.get("EQUIPMENT_DATABASE_URL")
    if not url:
        cluster, url = _database(args.units)
    try:
        _generate(url, args.units)
        first, daily, counts = _timed_refresh(url)
    finally:
        if cluster is not None:
            cluster.stop()
    print(f"first refresh (all statuses): {first:.2f} s; daily refresh: {daily:.2f} s; changes {counts}")
    if args.units == 1_000_000:
        record("due_refresh_1m_s", daily, "s", "< 10 s", "python bench/bench_due_refresh.py",
               first_run_s=round(first, 3), machine=machine(),
               note="1M elevators, 2M obligations, PostgreSQL; daily = the day-boundary run, first = from scratch")


if __name__ == "__main__":
    main()
