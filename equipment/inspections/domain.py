"""The inspections domain: rules table, obligations, inspections, maintenance, spot checks, filling."""
from equipment.core.domain import Domain
from equipment.inspections import cli, demo, jobs, models, pages, service, views
from equipment.registry import pages as registry_pages


def setup(app) -> None:
    registry_pages.add_scan_action(app, {"inspector", "regulator"}, "action.record_inspection", "/inspect/{id}",
                                   allowed=lambda actor, unit: service.may_inspect(actor, unit.id))
    registry_pages.add_scan_action(app, {"crew"}, "action.start_maintenance", "/maintain/{id}")
    registry_pages.add_public_facts(app, service.public_facts)


DOMAIN = Domain(name="inspections", models=models, api_blueprints=tuple(views.api_blueprints),
                page_blueprints=(pages.bp,), cli_groups=(cli.inspections_group,), jobs=tuple(jobs.JOBS),
                text=pages.TEXT, setup=setup, demo_seed=demo.demo_seed)
