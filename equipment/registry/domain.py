"""The registry domain: organisations, equipment, components, history chain, QR tags."""
from equipment.core.domain import Domain
from equipment.registry import cli, jobs, models, pages, views

DOMAIN = Domain(name="registry", models=models, api_blueprints=tuple(views.api_blueprints),
                page_blueprints=(pages.bp,), text=pages.TEXT, cli_groups=(cli.trace_group, cli.registry_group),
                jobs=tuple(jobs.JOBS))
