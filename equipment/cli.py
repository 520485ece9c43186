"""The `equipment` command group. Domains add their groups through their Domain (equipment/domains.py);
the process commands (serve, web, jobs, backup, demo) are added here."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup
from equipment import create_app, demo, jobs_runtime, serve


def _create_app():
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, add_default_commands=False)
def main():
    """特种设备追溯与应急平台 / special-equipment traceability and emergency platform."""


def register(app) -> None:
    """Attach the process commands to the app (so `flask --app wsgi` sees them too)."""
    for group in (*serve.serve_commands(), *jobs_runtime.commands(), *demo.commands()):
        if group.name not in app.cli.commands:
            app.cli.add_command(group)
