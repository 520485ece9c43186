"""Jobs as data: each domain lists JobSpecs in its jobs.py; one leader process runs them.

APScheduler 3 with a SQLAlchemy job store keeps next run times across restarts. Leadership: a PostgreSQL
advisory lock held on a dedicated connection (released by the server if the process dies), or an
exclusive file lock beside a SQLite database. Non-leaders wait and take over when the leader goes.
"""
from __future__ import annotations

import fcntl
import importlib
import logging
import os
import threading
import traceback
from dataclasses import dataclass

from sqlalchemy import Integer, String, Text, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.pool import NullPool

from equipment.core.actor import SYSTEM, acting_as
from equipment.core.db import flask_db
from equipment.core.domain import job_specs
from equipment.core.models import Base, UTCDateTime, utcnow

log = logging.getLogger("equipment.jobs")
LEADER_LOCK_KEY = 7_333_960  # arbitrary, fixed: every jobs process contends for the same lock
_app = None  # the app the scheduler thread runs jobs in


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str  # "package.module:function"
    seconds: float | None = None  # interval trigger
    cron: dict | None = None  # cron trigger fields, e.g. {"hour": 2, "minute": 0}


class JobStatus(Base):
    """Last outcome of each job, for /metrics and the admin view."""
    __tablename__ = "job_status"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at = mapped_column(UTCDateTime, nullable=True)
    last_ok_at = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text)


def all_specs() -> list[JobSpec]:
    """Every domain's JobSpecs (Domain.jobs) of the app the jobs run in."""
    return job_specs(_app)


def resolve(func: str):
    module, _, attr = func.partition(":")
    return getattr(importlib.import_module(module), attr)


def run_job(job_id: str) -> None:
    """Entry point APScheduler persists (a text reference plus the job id), so stored jobs survive code moves."""
    spec = next((s for s in all_specs() if s.id == job_id), None)
    if spec is None or _app is None:
        return
    with _app.app_context(), acting_as(SYSTEM):
        started = utcnow()
        error = None
        try:
            resolve(spec.func)()
        except Exception:  # a failing job is recorded and retried on its next run, never kills the scheduler
            error = traceback.format_exc(limit=5)
            log.exception("job %s failed", job_id)
        _record(job_id, started, error)


def _record(job_id: str, at, error: str | None) -> None:
    db = flask_db()
    try:
        db.session.rollback()
        row = db.session.get(JobStatus, job_id) or JobStatus(id=job_id, runs=0, failures=0)
        row.runs += 1
        row.last_run_at = at
        if error:
            row.failures += 1
            row.last_error = error[-2000:]
        else:
            row.last_ok_at = at
        db.session.add(row)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record job status for %s", job_id)
    finally:
        db.session.remove()


class Leadership:
    """Blocks in acquire() until this process is the single jobs leader."""

    def __init__(self, url: str, instance_dir: str):
        self.url, self.instance_dir = url, instance_dir
        self._conn = None
        self._fh = None

    def try_acquire(self) -> bool:
        if self.url.startswith("sqlite"):
            self._fh = self._fh or open(os.path.join(self.instance_dir, "jobs.leader.lock"), "w")
            try:
                fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
        try:
            if self._conn is None:
                self._conn = create_engine(self.url, poolclass=NullPool).connect()
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY}).scalar()
            self._conn.commit()
            return bool(got)
        except SQLAlchemyError:
            # The database went away (restart, failover): contend again later on a fresh connection.
            log.warning("jobs leader election: database unavailable, retrying")
            self._drop()
            return False

    def still_held(self) -> bool:
        """The advisory lock lives and dies with its session: a lost session means lost leadership."""
        if self._fh is not None:
            return True
        try:
            held = self._conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :k "
                "AND pid = pg_backend_pid() AND granted"), {"k": LEADER_LOCK_KEY}).scalar()
            self._conn.commit()
            return bool(held)
        except (SQLAlchemyError, AttributeError):
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None

    def release(self) -> None:
        # Unlock before closing: the server drops a closed session's locks only once its backend has exited,
        # a moment later, so a standby asking right away would still be refused.
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK_KEY})
                self._conn.commit()
            except SQLAlchemyError:
                pass  # the session is gone already, and its lock with it
        self._drop()
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def build_scheduler(app):
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    with app.app_context():
        store = SQLAlchemyJobStore(engine=flask_db(app).engine)
    scheduler = BackgroundScheduler(jobstores={"default": store}, executors={"default": ThreadPoolExecutor(4)},
                                    job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
    return scheduler


def sync_jobs(scheduler) -> list[str]:
    """Make the store match the code's JobSpecs: add/replace each, drop the ones no longer declared."""
    specs = all_specs()
    for spec in specs:
        trigger = ("interval", {"seconds": spec.seconds}) if spec.seconds else ("cron", spec.cron or {})
        scheduler.add_job("equipment.core.jobs:run_job", trigger[0], args=[spec.id], id=spec.id,
                          replace_existing=True, **trigger[1])
    wanted = {s.id for s in specs}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            job.remove()
    return sorted(wanted)


def run_leader(app, stop: threading.Event, poll_s: float = 5.0) -> None:
    """Wait for leadership, run the scheduler until `stop` is set or leadership is lost."""
    global _app
    _app = app
    leadership = Leadership(app.config["SQLALCHEMY_DATABASE_URI"], app.config["INSTANCE_DIR"])
    while not stop.is_set():
        if not leadership.try_acquire():
            stop.wait(poll_s)
            continue
        log.info("jobs leader acquired (pid %s)", os.getpid())
        scheduler = build_scheduler(app)
        scheduler.start(paused=True)
        log.info("jobs scheduled: %s", ", ".join(sync_jobs(scheduler)))
        scheduler.resume()
        try:
            while not stop.wait(poll_s):
                if not leadership.still_held():
                    log.error("jobs leadership lost (database session gone); stopping jobs and contending again")
                    break
        finally:
            scheduler.shutdown(wait=True)
            leadership.release()
    log.info("jobs runner stopped")
