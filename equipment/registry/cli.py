import sys

import click
from flask.cli import with_appcontext
from tqdm import tqdm

from equipment.core.actor import SYSTEM, acting_as
from equipment.core.errors import AppError
from equipment.extensions import db
from equipment.registry import checkpoints, history, importer
from equipment.registry.models import Equipment


@click.group("trace")
def trace_group():
    """Tamper-evident history / 履历哈希链."""


@trace_group.command("verify")
@click.argument("equipment_id", type=int, required=False)
@click.option("--checkpoint", "checkpoint_path", type=click.Path(exists=True),
              help="a signed checkpoint file, or a folder of them (the newest is used): also finds chains "
                   "cut back or deleted since")
@with_appcontext
def verify(equipment_id, checkpoint_path):
    """Check the hash chain of one unit or all; exit 1 naming the first broken record."""
    checkpoint = None
    if checkpoint_path:
        try:
            checkpoint = checkpoints.load(checkpoint_path)
        except checkpoints.CheckpointError as err:
            click.echo(f"checkpoint rejected: {err}")
            sys.exit(1)
    if equipment_id is not None:
        exists = db.session.get(Equipment, equipment_id) is not None
        if not exists and checkpoint is None:
            raise click.ClickException(f"no equipment {equipment_id}")
        problem = history.verify(equipment_id) if exists else None  # a deleted unit: the checkpoint says so
        broken = [(equipment_id, problem)] if problem else []
    else:
        total = db.session.query(Equipment).count()
        with tqdm(total=total, unit="unit", desc="verify", file=sys.stderr, disable=total < 1000) as bar:
            broken = list(history.verify_all(progress=bar.update))
    if checkpoint is not None:
        seen = {eid for eid, _ in broken}
        broken += [(eid, p) for eid, p in checkpoints.compare(checkpoint, equipment_id) if eid not in seen]
    for eid, problem in broken:
        click.echo(f"equipment {eid}: {problem}")
    if broken:
        sys.exit(1)
    click.echo("history chain verified" + (f" (and extends the checkpoint of {checkpoint['created_at']})"
                                           if checkpoint else ""))


@trace_group.command("checkpoint")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True),
              help="where to write it (default: a new file in the instance folder's checkpoints/)")
@with_appcontext
def checkpoint_cmd(out):
    """Write a signed checkpoint (each unit's record count and head hash); keep copies off this database's host."""
    if out is None:
        checkpoints.write_scheduled()
        out = sorted(checkpoints.folder().glob("checkpoint-*.json"))[-1]
        written = checkpoints.load(out)
    else:
        written = checkpoints.write(out)
    click.echo(f"checkpoint of {len(written['units'])} units written to {out}")


@trace_group.command("anchor")
@with_appcontext
def anchor_cmd():
    """Once after upgrading: sign chains written before records were signed (a signed 'anchor' record each)."""
    total = db.session.query(Equipment).count()
    with acting_as(SYSTEM), tqdm(total=total, unit="unit", desc="anchor", file=sys.stderr,
                                 disable=total < 1000) as bar:
        count = history.anchor_unsigned(progress=bar.update)
    click.echo(f"anchored {count} chains")


@click.group("registry")
def registry_group():
    """Registry import/export / 设备登记导入导出."""


@registry_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="validate only")
@with_appcontext
def import_cmd(path, dry_run):
    """Import a CSV or XLSX registry: every bad row is reported and nothing is written unless all are good."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        rows = importer.read_rows(data, path)
    except AppError as err:
        raise click.ClickException(err.message) from None
    with acting_as(SYSTEM), tqdm(total=len(rows), unit="row", desc="validate", file=sys.stderr) as bar:
        if dry_run:
            report, _ = importer.validate_rows(rows, progress=bar.update)
        else:
            report = importer.import_rows(rows=rows, progress=bar.update)
    for err in report.errors[:200]:
        click.echo(f"row {err['row']}: " + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in err["errors"].items()))
    if not report.ok:
        click.echo(f"{len(report.errors)} bad rows of {report.rows}; nothing imported", err=True)
        sys.exit(1)
    click.echo(f"{report.rows} rows valid" + ("" if dry_run else f", {report.imported} imported"))


@registry_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_cmd(path):
    """Export the registry as CSV (re-importable)."""
    with open(path, "w", newline="", encoding="utf-8") as fh, tqdm(unit="unit", desc="export", file=sys.stderr) as bar:
        count = importer.export_csv(fh, actor=SYSTEM, progress=bar.update)
    click.echo(f"exported {count} units to {path}")
