"""The `equipment` command group; each domain adds its own sub-group in its cli.py."""
from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup, with_appcontext

from equipment.core.actor import SYSTEM, acting_as


def _create_app():
    from equipment import create_app
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, add_default_commands=False)
def main():
    """特种设备追溯与应急平台 / special-equipment traceability and emergency platform."""


def register(app) -> None:
    """Attach domain command groups to the app (so `flask --app wsgi` sees them too)."""
    for group in domain_groups():
        if group.name not in app.cli.commands:
            app.cli.add_command(group)


def domain_groups():
    from equipment.registry.cli import registry_group, trace_group
    from equipment.serve import serve_commands
    groups = [users_group, trace_group, registry_group, *serve_commands()]
    for optional in ("equipment.jobs_runtime", "equipment.telemetry.cli", "equipment.emergency.cli",
                     "equipment.inspections.cli", "equipment.demo"):
        try:
            module = __import__(optional, fromlist=["commands"])
        except ModuleNotFoundError as err:
            if err.name != optional:
                raise
            continue
        groups.extend(module.commands())
    return groups


@click.group("users")
def users_group():
    """Manage users / 用户管理."""


@users_group.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(
    ["admin", "regulator", "dispatcher", "inspector", "crew", "owner"]))
@click.option("--org", "org_id", type=int, default=None, help="organisation id")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@with_appcontext
def create_user(name, role, org_id, password_stdin):
    """Create a user; the password is read from stdin, never from the command line."""
    from equipment.auth import service
    from equipment.core.errors import AppError
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with acting_as(SYSTEM):
            user = service.create_user(username=name, role=role, org_id=org_id, password=password)
    except AppError as err:
        raise click.ClickException(f"{err.message}: {err.details}") from None
    click.echo(f"created user {user.username} (id {user.id}, role {user.role})")
