"""`equipment simulate rescue`: the rescue simulation from the command line (no database)."""
from __future__ import annotations

import time
from pathlib import Path

import click

from equipment.simulation.demand import SCENARIOS


def _shares(text: str) -> tuple[float, ...]:
    try:
        shares = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter("comma-separated shares, e.g. 0,0.1,0.3") from None
    if not shares or any(not 0 <= s < 1 for s in shares):
        raise click.BadParameter("each share in [0, 1)")
    return shares


@click.command("rescue")
@click.option("--policy", "policies", multiple=True, default=("contract", "ladder", "eta(10)", "pool"),
              show_default=True, help="contract | ladder | eta(SLACK_MIN) | pool; repeat for several")
@click.option("--scenario", "scenarios", multiple=True, type=click.Choice(SCENARIOS), default=SCENARIOS,
              show_default=True, help="repeat for several")
@click.option("--false-alarms", default="0,0.1,0.3", show_default=True,
              help="shares of terminal alarms that are false (swept on the normal scenario)")
@click.option("--seeds", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--lifts", default=None, type=click.IntRange(100, 2_000_000), help="default: the data file's")
@click.option("--days", default=None, type=click.IntRange(1, 366), help="simulated days per seed")
@click.option("--crew-scale", default=1.0, show_default=True, type=click.FloatRange(0.1, 10),
              help="multiply the crews (same lifts and contracts)")
@click.option("--params", "params_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="parameter file (default: equipment/simulation/rescue.json)")
@click.option("--jobs", default=None, type=click.IntRange(1, 64), help="processes (default: up to 2)")
@click.option("--out", default="rescue-simulation", show_default=True, type=click.Path(file_okay=False))
def rescue_command(policies, scenarios, false_alarms, seeds, lifts, days, crew_scale, params_path, jobs, out):
    """Rescue dispatch simulation / 困人救援仿真: arrival times per dispatch policy, seeded, no database."""
    from equipment.simulation import report, runner
    setup = runner.Setup(lifts=lifts, crew_scale=crew_scale, days=days, params_path=params_path)
    started = time.monotonic()
    try:
        results = report.sweep(policies=policies, scenarios=scenarios, false_alarms=_shares(false_alarms),
                               seeds=seeds, setup=setup, jobs=jobs)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--policy") from None
    paths = report.write(results, Path(out), setup=setup, seeds=seeds)
    click.echo(report.table(results))
    click.echo(f"\n{len(results)} configurations x {seeds} seeds in {time.monotonic() - started:.1f} s; "
               f"wrote {paths['json']}, {paths['table']}, {paths['chart']}")


def simulate_group(terminal_command: click.Command) -> click.Group:
    """`equipment simulate` keeps running the terminal simulator; `equipment simulate rescue` is this one."""

    @click.pass_context
    def callback(ctx, **kwargs):
        if ctx.invoked_subcommand is None:
            return ctx.invoke(terminal_command.callback, **kwargs)
        return None

    group = click.Group("simulate", params=terminal_command.params, callback=callback,
                        invoke_without_command=True, help=terminal_command.help)
    group.add_command(rescue_command)
    return group
