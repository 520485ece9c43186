"""`equipment telemetry provision|revoke|consume` and `equipment simulate`."""
from __future__ import annotations

import json
import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from equipment.core.actor import SYSTEM, acting_as
from equipment.core.logs import configure as configure_logs
from equipment.telemetry import service
from equipment.telemetry.mqtt import brokerctl, brokerguard
from equipment.telemetry.mqtt.consumer import Consumer, serve_metrics


@click.group("telemetry")
def telemetry_group():
    """Terminals and MQTT ingestion / 电梯监测终端与数据接入."""


@telemetry_group.command("provision")
@click.argument("equipment_id", type=int)
@with_appcontext
def provision(equipment_id):
    """Create a terminal for a unit; prints its credentials once as JSON."""
    with acting_as(SYSTEM):
        creds = service.provision_terminal(actor=SYSTEM, equipment_id=equipment_id)
    click.echo(json.dumps(creds))


@telemetry_group.command("revoke")
@click.argument("terminal_id")
@with_appcontext
def revoke(terminal_id):
    """Revoke a terminal: refused by the broker and the consumer from now on."""
    with acting_as(SYSTEM):
        terminal = service.revoke_terminal(actor=SYSTEM, terminal_id=terminal_id)
    click.echo(f"revoked {terminal.terminal_id}")


@telemetry_group.command("broker-guard")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="where to build equipment_guard.so (default: the per-user cache)")
@click.option("--service-user", "service_users", multiple=True, envvar="EQUIPMENT_MQTT_USERNAME",
              help="the consumers' broker account(s): any client id, no topic limits from the guard")
def broker_guard(output, service_users):
    """Build the broker guard plugin and print the mosquitto.conf lines an operator's broker needs."""
    from pathlib import Path
    try:
        plugin = brokerguard.build_guard(Path(output).resolve()) if output else brokerguard.guard_plugin_path()
    except brokerguard.GuardBuildError as err:
        raise click.ClickException(str(err)) from None
    for line in brokerguard.conf_lines(list(service_users) or ["platform-ingest"], plugin):
        click.echo(line)


@telemetry_group.command("consume")
@click.option("--client-id", envvar="EQUIPMENT_MQTT_CLIENT_ID", default=None,
              help="stable MQTT client id (persistent session); default equipment-ingest-<host>")
@click.option("--batch-size", default=1000, show_default=True)
@click.option("--batch-ms", default=50, show_default=True)
@click.option("--metrics-listen", envvar="EQUIPMENT_CONSUMER_METRICS", default=None, metavar="HOST:PORT",
              help="serve this consumer's Prometheus metrics (ingest, rejects, lag) on HOST:PORT/metrics")
@with_appcontext
def consume(client_id, batch_size, batch_ms, metrics_listen):
    """Run one telemetry consumer until SIGTERM/SIGINT (drains, acks, exits 0)."""
    configure_logs()
    if metrics_listen:
        try:
            serve_metrics(metrics_listen)
        except (ValueError, OSError) as err:
            raise click.BadParameter(str(err), param_hint="--metrics-listen") from None
    app = current_app._get_current_object()
    consumer = Consumer(app, conn=brokerctl.consumer_connection(app), client_id=client_id,
                        batch_size=batch_size, batch_ms=batch_ms)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    consumer.run(stop)
    sys.exit(0)
