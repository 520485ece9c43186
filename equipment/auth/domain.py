"""The auth domain: users, tokens, login."""
from equipment.auth import cli, jobs, models, text, views
from equipment.core.domain import Domain

DOMAIN = Domain(name="auth", models=models, api_blueprints=(views.blp, views.users_blp),
                page_blueprints=(views.pages,), cli_groups=(cli.users_group,), jobs=tuple(jobs.JOBS),
                text=text.TEXT)
