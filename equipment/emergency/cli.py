"""`equipment emergency ...`: crews, one-off runs of the timers and the outbox, manual incidents."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from equipment.auth import service as auth
from equipment.core.actor import SYSTEM, acting_as
from equipment.emergency import crews, jobs, service


@click.group("emergency")
def emergency_group():
    """96333 emergency dispatch / 应急救援."""


@emergency_group.command("crew")
@click.argument("username")
@click.option("--lat", type=float)
@click.option("--lon", type=float)
@click.option("--on-duty/--off-duty", default=True)
@click.option("--phone")
@click.option("--email")
@with_appcontext
def crew(username, lat, lon, on_duty, phone, email):
    """Register (or update) USERNAME, a crew user of a maintenance unit, as a rescue crew member."""
    user = auth.find_user(username)
    if user is None or user.role != "crew":
        raise click.ClickException(f"no crew user {username}")
    with acting_as(SYSTEM):
        member = crews.register_crew(user_id=user.id, on_duty=on_duty, lat=lat, lon=lon, phone=phone, email=email)
    click.echo(f"crew {member.id} ({member.name}) org {member.org_id} on_duty={member.on_duty}")


@emergency_group.command("open")
@click.argument("equipment_id", type=int)
@click.option("--source", type=click.Choice(["manual", "phone", "sensor"]), default="manual")
@click.option("--reason")
@click.option("--caller-phone")
@with_appcontext
def open_(equipment_id, source, reason, caller_phone):
    """Open (or attach to) the incident of a unit, as the system."""
    with acting_as(SYSTEM):
        inc, created = service.open_incident(equipment_id=equipment_id, source=source, reason=reason,
                                             caller_phone=caller_phone)
    click.echo(json.dumps({"id": inc.id, "created": created, "status": inc.status, "level": inc.level}))


@emergency_group.command("tick")
@with_appcontext
def tick():
    """Run the escalation and delivery jobs once (the jobs runner does this every few seconds)."""
    with acting_as(SYSTEM):
        click.echo(json.dumps({"escalate": jobs.escalate(), "deliver": jobs.deliver()}))

