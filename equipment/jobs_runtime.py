"""Jobs inside `equipment serve`, and the `equipment jobs run` command."""
from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext
from equipment.core import backup
from equipment.core.jobs import JobStatus, all_specs, run_leader
from equipment.core.logs import configure as configure_logs
from equipment.core.process import freeze_startup_heap
from equipment.extensions import db


def start(app):
    stop = threading.Event()
    thread = threading.Thread(target=run_leader, args=(app, stop), name="jobs", daemon=True)
    thread.start()

    def stopper():
        stop.set()
        thread.join(timeout=15)
    return stopper


@click.group("jobs")
def jobs_group():
    """Scheduled jobs / 定时任务."""


@jobs_group.command("run")
@with_appcontext
def run():
    """Run the scheduler (only the leader among several such processes executes jobs)."""
    configure_logs()
    freeze_startup_heap()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_leader(current_app._get_current_object(), stop)


@jobs_group.command("list")
@with_appcontext
def list_jobs():
    """Show declared jobs and their last outcome."""
    for spec in all_specs():
        row = db.session.get(JobStatus, spec.id)
        when = f"every {spec.seconds:g}s" if spec.seconds else f"cron {spec.cron}"
        state = f"runs={row.runs} failures={row.failures} last={row.last_run_at}" if row else "never run"
        click.echo(f"{spec.id:40} {when:20} {state}")




@click.group("backup")
def backup_group():
    """Backup and restore / 备份与恢复."""


@backup_group.command("create")
@click.argument("dest", type=click.Path(dir_okay=False))
@with_appcontext
def backup_create(dest):
    """Write a consistent backup of the configured database to DEST."""
    backup.backup(current_app.config["SQLALCHEMY_DATABASE_URI"], dest)
    click.echo(f"backup written to {dest}")


@backup_group.command("restore")
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="confirm replacing the current data")
@with_appcontext
def backup_restore(src, yes):
    """Replace the configured database with the backup SRC (stop the platform first)."""
    if not yes:
        raise click.ClickException("restoring replaces all current data; add --yes to confirm")
    db.engine.dispose()
    backup.restore(current_app.config["SQLALCHEMY_DATABASE_URI"], src)
    click.echo(f"restored {src}; run `equipment trace verify` to check the history chains")


def commands():
    return [jobs_group, backup_group]
