"""`equipment users ...`: create users, set passwords, deactivate, revoke credentials, clear login back-off."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from equipment.auth import service
from equipment.core.actor import ROLES, SYSTEM, acting_as
from equipment.core.errors import AppError


@click.group("users")
def users_group():
    """Manage users / 用户管理."""


@users_group.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", "org_id", type=int, default=None, help="organisation id")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@with_appcontext
def create_user(name, role, org_id, password_stdin):
    """Create a user; the password is read from stdin, never from the command line."""
    password = _password_from(password_stdin)
    try:
        with acting_as(SYSTEM):
            user = service.create_user(username=name, role=role, org_id=org_id, password=password)
    except AppError as err:
        raise click.ClickException(f"{err.message}: {err.details}") from None
    click.echo(f"created user {user.username} (id {user.id}, role {user.role})")


def _password_from(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _account_action(name: str, action) -> None:
    """Run one account change as the system actor on the named user; errors become a clean exit 1."""
    try:
        with acting_as(SYSTEM):
            action(service, service.user_by_name(name).id)
    except AppError as err:
        raise click.ClickException(f"{err.message}: {err.details}" if err.details else err.message) from None


@users_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the new password from standard input")
@with_appcontext
def passwd(name, password_stdin):
    """Set a user's password; every token and session of the user stops working."""
    password = _password_from(password_stdin)
    _account_action(name, lambda svc, uid: svc.set_password(actor=SYSTEM, user_id=uid, password=password))
    click.echo(f"password changed for {name}; the user's tokens and sessions are revoked")


@users_group.command("deactivate")
@click.argument("name")
@with_appcontext
def deactivate(name):
    """Deactivate a user: logins are refused and every token and session stops working at once."""
    _account_action(name, lambda svc, uid: svc.set_active(actor=SYSTEM, user_id=uid, active=False))
    click.echo(f"deactivated {name}")


@users_group.command("activate")
@click.argument("name")
@with_appcontext
def activate(name):
    """Reactivate a deactivated user (old tokens stay revoked)."""
    _account_action(name, lambda svc, uid: svc.set_active(actor=SYSTEM, user_id=uid, active=True))
    click.echo(f"activated {name}")


@users_group.command("revoke")
@click.argument("name")
@with_appcontext
def revoke(name):
    """Revoke every token and page session of a user."""
    _account_action(name, lambda svc, uid: svc.revoke_all(actor=SYSTEM, user_id=uid))
    click.echo(f"revoked every token and session of {name}")


@users_group.command("unlock")
@click.argument("name")
@with_appcontext
def unlock(name):
    """Clear the login back-off of a user on every client."""
    _account_action(name, lambda svc, uid: svc.unlock(actor=SYSTEM, user_id=uid))
    click.echo(f"unlocked {name}")
