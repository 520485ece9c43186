"""`equipment jobs run` with one extra job, `reliability.probe`, that records which process ran it and when.

Run as `python -m tests.reliability.jobs_probe`: it adds a probe Domain to equipment.domains.ALL and hands over to
the real CLI, so leadership, scheduling and the emergency jobs are exactly those of `equipment jobs run`.
Each probe run lasts PROBE_S and writes (pid, application_name, start, end) with the database clock, so
two processes running jobs at the same time would show as overlapping rows.
"""
from __future__ import annotations

import os
import sys
import time

from equipment.core.jobs import JobSpec

PROBE_S = 0.4
JOBS = [JobSpec(id="reliability.probe", func="tests.reliability.jobs_probe:probe", seconds=1)]
TABLE_DDL = ("CREATE TABLE reliability_job_runs (pid integer NOT NULL, app text NOT NULL, "
             "started timestamptz NOT NULL, finished timestamptz NOT NULL)")


def probe() -> None:
    from sqlalchemy import text

    from equipment.extensions import db
    started = db.session.execute(text("SELECT clock_timestamp()")).scalar()
    time.sleep(PROBE_S)  # widen the window in which a second runner would overlap
    db.session.execute(text("INSERT INTO reliability_job_runs VALUES "
                            "(:pid, current_setting('application_name'), :started, clock_timestamp())"),
                       {"pid": os.getpid(), "started": started})
    db.session.commit()


def main() -> None:
    from equipment import domains
    from equipment.cli import main as equipment
    from equipment.core.domain import Domain
    domains.ALL = (*domains.ALL, Domain(name="reliability_probe", jobs=tuple(JOBS)))
    equipment(["jobs", "run"])


if __name__ == "__main__":
    sys.exit(main())
