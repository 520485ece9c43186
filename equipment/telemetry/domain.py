"""The telemetry domain: terminals, MQTT ingestion, rules, alarms; the consumer runs beside `serve`."""
from equipment.core.domain import Domain
from equipment.registry import pages as registry_pages
from equipment.simulation.cli import simulate_group
from equipment.telemetry import cli, jobs, models, pages, simulator, views
from equipment.telemetry.mqtt import brokerctl, runtime


def setup(app) -> None:
    registry_pages.add_unit_panel(app, pages.unit_panel)


DOMAIN = Domain(name="telemetry", models=models, api_blueprints=tuple(views.api_blueprints),
                page_blueprints=(pages.bp,), cli_groups=(cli.telemetry_group, simulate_group(simulator.simulate_command)),
                jobs=tuple(jobs.JOBS), text=pages.TEXT, background=runtime.start, setup=setup,
                readiness={"broker": brokerctl.reachable})
