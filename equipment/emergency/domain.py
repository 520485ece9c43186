"""The emergency domain: 96333 incidents, dispatch, escalation, crews, notifications, live stream, statistics."""
from equipment.core.domain import Domain
from equipment.emergency import choice, cli, demo, jobs, models, pages, public_pages, text, views
from equipment.registry import pages as registry_pages


def setup(app) -> None:
    registry_pages.add_unit_panel(app, pages.unit_panel)
    app.jinja_env.globals["report_form"] = public_pages.report_form  # the scan page's family actions
    _check_policy(app)


def _check_policy(app) -> None:
    """A mistyped dispatch policy stops the start, instead of failing at the first incident."""
    try:
        choice.policy_from_settings(app.config)
    except ValueError as err:
        raise RuntimeError(f"EQUIPMENT_DISPATCH_POLICY / LEVEL2_AFTER_S / DISPATCH_PARALLEL: {err}") from None


DOMAIN = Domain(name="emergency", models=models, api_blueprints=tuple(views.api_blueprints),
                page_blueprints=tuple(pages.page_blueprints), cli_groups=(cli.emergency_group,),
                jobs=tuple(jobs.JOBS), text={**text.TEXT, **public_pages.TEXT}, setup=setup,
                demo_seed=demo.demo_seed)
