"""Two `equipment jobs run` processes on one database: one leader at a time, no job run twice at once,
and when the leader is SIGKILLed the other takes over and fires the escalation timer set before the kill.

Who leads is read from pg_locks (the advisory lock's holder, named by its application_name); which process
ran a job, and when, from the probe job of tests/reliability/jobs_probe.py.
"""
from __future__ import annotations

import threading
import time

import psycopg
import pytest

from equipment.core.jobs import LEADER_LOCK_KEY
from tests.reliability.jobs_probe import TABLE_DDL
from tests.reliability.support import with_app_name
from tests.telemetry.conftest import wait_until

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

ACCEPT_S = 3.0  # the crew's accept window: it runs out after the leader is killed
HOLDERS_SQL = """
    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid::bigint = %s AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"""


class LockWatch(threading.Thread):
    """Samples the leader lock's holders every 50 ms for the whole test."""

    def __init__(self, conninfo: str):
        super().__init__(daemon=True)
        self.conninfo, self.samples, self.stop = conninfo, [], threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self.stop.wait(0.05):
                holders = [r[0] for r in conn.execute(HOLDERS_SQL, (LEADER_LOCK_KEY,))]
                self.samples.append((time.monotonic(), holders))

    def leader(self) -> str | None:
        holders = self.samples[-1][1] if self.samples else []
        return holders[0] if len(holders) == 1 else None


def start_jobs(rig, procs, tmp_path, name: str):
    env = {"EQUIPMENT_DATABASE_URL": with_app_name(rig.url, name),
           "EQUIPMENT_INSTANCE_DIR": str(tmp_path / name)}
    (tmp_path / name).mkdir()
    return procs.spawn(name, [".venv/bin/python", "-m", "tests.reliability.jobs_probe"], env=env)


def open_incident(rig) -> tuple[int, int]:
    """A unit with one crew 1 km away; the sensor incident is offered to it with a deadline on the row."""
    from equipment.core.actor import SYSTEM, acting_as
    from equipment.emergency import service
    from equipment.emergency.models import Dispatch
    from equipment.extensions import db
    from tests.emergency.helpers import world
    from tests.factories import Factory
    rig.app.config["ACCEPT_DEADLINE_S"] = ACCEPT_S
    with rig.app.app_context(), acting_as(SYSTEM):
        _, _, unit = world(Factory(db), crews_near=1)
        db.session.commit()
        incident, _ = service.open_incident(equipment_id=unit.id, source="sensor")
        offer = db.session.query(Dispatch).filter_by(incident_id=incident.id).one()
        ids = incident.id, offer.id
        db.session.remove()
    return ids


def offers(rig, incident_id: int) -> list[tuple]:
    return rig.db.rows("SELECT status, accept_deadline > now() FROM dispatches WHERE incident_id = %s ORDER BY id",
                       (incident_id,))


@pytest.mark.timeout(120)
def test_one_leader_takes_over_after_sigkill_and_fires_the_pending_timer(rig, procs, tmp_path):
    rig.db.execute(TABLE_DDL)
    watch = LockWatch(rig.db.conninfo)
    watch.start()
    try:
        a = start_jobs(rig, procs, tmp_path, "jobs-a")
        assert wait_until(lambda: watch.leader() == "jobs-a", 30), a.tail()
        b = start_jobs(rig, procs, tmp_path, "jobs-b")
        # b is up and contending: its lock session exists, and it did not get the lock
        assert wait_until(lambda: rig.db.rows("SELECT 1 FROM pg_stat_activity WHERE application_name = 'jobs-b'"),
                          30), b.tail()
        assert wait_until(lambda: _runs(rig).get("jobs-a", 0) >= 2, 30), procs.tails()
        assert _runs(rig).get("jobs-b", 0) == 0, "the follower ran jobs"

        incident_id, _ = open_incident(rig)
        a_pid = a.pid
        a.kill()
        killed_at = time.monotonic()
        assert offers(rig, incident_id) == [("offered", True)], "the timer fired before the kill"

        assert wait_until(lambda: watch.leader() == "jobs-b", 15), procs.tails()
        takeover_s = time.monotonic() - killed_at
        assert takeover_s <= 10.0, f"takeover took {takeover_s:.1f} s"
        # the accept deadline passes with nobody but b alive: b's escalation job must act on it
        assert wait_until(lambda: offers(rig, incident_id)[0][0] == "passed_over", 20), procs.tails()
        assert wait_until(lambda: _runs(rig).get("jobs-b", 0) >= 2, 15), procs.tails()
        b_pid = b.pid
        assert b.stop() == 0, b.tail()  # SIGTERM: the scheduler shuts down cleanly
    finally:
        watch.stop.set()
        watch.join(5)

    # the only crew was passed over once; nobody else within reach, so the fire brigade was called once
    assert [s for s, _ in offers(rig, incident_id)] == ["passed_over", "notified"]
    assert rig.db.one("SELECT level, fire_notified_at IS NOT NULL FROM incidents WHERE id = %s",
                      (incident_id,)) == (3, True)
    assert max(len(h) for _, h in watch.samples) == 1, "two processes held the leader lock at once"
    runs = rig.db.rows("SELECT pid, app, started, finished FROM reliability_job_runs ORDER BY started")
    assert {(pid, app) for pid, app, _, _ in runs} == {(a_pid, "jobs-a"), (b_pid, "jobs-b")}, runs
    for earlier, later in zip(runs, runs[1:]):
        assert earlier[3] <= later[2], f"job runs overlap: {earlier} {later}"
    switch = [app for _, app, _, _ in runs]
    assert switch == sorted(switch), "leadership went back and forth"  # all of a's runs, then all of b's


def _runs(rig) -> dict[str, int]:
    return dict(rig.db.rows("SELECT app, count(*) FROM reliability_job_runs GROUP BY app"))


@pytest.mark.timeout(90)
def test_postgres_restart_leaves_exactly_one_leader_and_a_live_standby(rig, procs, tmp_path):
    rig.db.execute(TABLE_DDL)
    watch = LockWatch(rig.db.conninfo)
    watch.start()
    try:
        a = start_jobs(rig, procs, tmp_path, "jobs-a")
        assert wait_until(lambda: watch.leader() == "jobs-a", 30), a.tail()
        b = start_jobs(rig, procs, tmp_path, "jobs-b")
        assert wait_until(lambda: rig.db.rows("SELECT 1 FROM pg_stat_activity WHERE application_name = 'jobs-b'"),
                          30), b.tail()
        watch.stop.set()
        watch.join(5)
        rig.cluster.restart()
        restarted = time.monotonic()
        watch = LockWatch(rig.db.conninfo)
        watch.start()
        # someone holds the lock again within a leader poll or two, and nobody died of the outage
        wait_until(lambda: not (a.alive() and b.alive()) or watch.leader() is not None, 15)
        assert a.alive() and b.alive(), procs.tails()
        time.sleep(max(0.0, restarted + 8.0 - time.monotonic()))  # a lock-less leader has stepped down by now
        leader = watch.leader()
        assert leader in ("jobs-a", "jobs-b"), f"nobody holds the leader lock; runs: {_runs(rig)}"
        recent = rig.db.rows("SELECT DISTINCT app FROM reliability_job_runs WHERE started > now() - interval '2.5 s'")
        assert recent == [(leader,)], f"jobs ran in {recent}, the lock is held by {leader}"
    finally:
        watch.stop.set()
        watch.join(5)
