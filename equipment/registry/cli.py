import sys

import click
from flask.cli import with_appcontext
from tqdm import tqdm

from equipment.core.actor import SYSTEM, acting_as


@click.group("trace")
def trace_group():
    """Tamper-evident history / 履历哈希链."""


@trace_group.command("verify")
@click.argument("equipment_id", type=int, required=False)
@with_appcontext
def verify(equipment_id):
    """Check the hash chain of one unit or all; exit 1 naming the first broken record."""
    from equipment.registry import history
    from equipment.registry.models import Equipment
    from equipment.extensions import db
    if equipment_id is not None:
        if db.session.get(Equipment, equipment_id) is None:
            raise click.ClickException(f"no equipment {equipment_id}")
        problem = history.verify(equipment_id)
        broken = [(equipment_id, problem)] if problem else []
    else:
        total = db.session.query(Equipment).count()
        with tqdm(total=total, unit="unit", desc="verify", file=sys.stderr, disable=total < 1000) as bar:
            broken = list(history.verify_all(progress=bar.update))
    for eid, problem in broken:
        click.echo(f"equipment {eid}: {problem}")
    if broken:
        sys.exit(1)
    click.echo("history chain verified")


@click.group("registry")
def registry_group():
    """Registry import/export / 设备登记导入导出."""


@registry_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="validate only")
@with_appcontext
def import_cmd(path, dry_run):
    """Import a CSV or XLSX registry: every bad row is reported and nothing is written unless all are good."""
    from equipment.registry import importer
    from equipment.core.errors import AppError
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
    from equipment.registry import importer
    with open(path, "w", newline="", encoding="utf-8") as fh, tqdm(unit="unit", desc="export", file=sys.stderr) as bar:
        count = importer.export_csv(fh, actor=SYSTEM, progress=bar.update)
    click.echo(f"exported {count} units to {path}")
