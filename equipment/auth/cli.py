"""`equipment users ...`: accounts from the command line (passwords from stdin, never from arguments)."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from equipment.core.actor import SYSTEM, acting_as
from equipment.core.errors import AppError


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
