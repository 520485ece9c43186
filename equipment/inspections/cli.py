"""`equipment inspections ...`: rules table, daily refresh, reminders, spot-check draws."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from equipment.core.actor import SYSTEM, acting_as
from equipment.core.errors import AppError
from equipment.inspections import draws, jobs, rules, service


@click.group("inspections")
def inspections_group():
    """Inspections and maintenance / 检验与维保."""


@inspections_group.group("rules")
def rules_group():
    """Versioned rules table / 检验周期规则."""


@rules_group.command("load")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="rules JSON (default: the shipped equipment/inspections/rules.json)")
@with_appcontext
def rules_load(path):
    """Store the rules file as a new version (if it differs) and recompute the due dates it changes."""
    try:
        with acting_as(SYSTEM):
            row = service.load_defaults(actor=SYSTEM, path=path)
    except AppError as err:
        raise click.ClickException(f"{err.message}: {err.details}") from None
    click.echo("rules unchanged" if row is None else f"rules version {row.version} stored")


@rules_group.command("show")
@with_appcontext
def rules_show():
    version, doc = rules.current()
    click.echo(json.dumps({"version": version, "rules": doc}, ensure_ascii=False, indent=2))


@inspections_group.command("refresh")
@with_appcontext
def refresh():
    """Run the daily refresh now (new units' obligations, statuses, reminder queue)."""
    with acting_as(SYSTEM):
        click.echo(json.dumps(jobs.daily_refresh(), default=str))


@inspections_group.command("remind")
@with_appcontext
def remind():
    """Send the queued reminders now."""
    with acting_as(SYSTEM):
        click.echo(f"sent {jobs.send_reminders()}")


@inspections_group.command("draw")
@click.option("--category", default=None)
@click.option("--district", "district_code", default=None)
@click.option("--status", default=None)
@click.option("--size", "sample_size", type=int, required=True)
@click.option("--seed", type=int, default=None, help="reuse a seed to reproduce a draw")
@with_appcontext
def draw(category, district_code, status, sample_size, seed):
    """Draw a random spot check (双随机) and print it with its seed."""
    filters = {"category": category, "district_code": district_code, "status": status}
    try:
        with acting_as(SYSTEM):
            row = draws.create_draw(actor=SYSTEM, filters=filters, sample_size=sample_size, seed=seed)
    except AppError as err:
        raise click.ClickException(f"{err.message}: {err.details}") from None
    click.echo(json.dumps({"draw_id": row.id, "seed": row.seed, "filters": row.filters, "result": row.result},
                          ensure_ascii=False))


@inspections_group.command("draw-verify")
@click.argument("draw_id", type=int)
@with_appcontext
def draw_verify(draw_id):
    """Re-run a stored draw from its seed and inputs; exit 1 if the result differs."""
    with acting_as(SYSTEM):
        out = draws.verify(actor=SYSTEM, draw_id=draw_id)
    click.echo(json.dumps(out, ensure_ascii=False))
    if not out["matches"]:
        raise SystemExit(1)

