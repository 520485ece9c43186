"""Fixtures for the reliability tests: a fresh committed PostgreSQL database, a real Mosquitto, child processes.

These scenarios are about several processes sharing one PostgreSQL database (restarts, the advisory-lock
leader, shared subscriptions feeding concurrent writers, web processes behind a load balancer): the
production scale-out path of DESIGN.md. The embedded SQLite mode runs everything in one process, so these
tests do not use the backend-parametrised `app` fixture and skip when PostgreSQL is not among the backends.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from tests.conftest import BACKENDS
from tests.reliability.support import LIFTED_BUDGET, Db, Procs, consumer_argv, consumer_env, with_app_name

PG_ONLY = ("reliability scenarios run on PostgreSQL: several processes on one database (restart, advisory-lock "
           "leader, shared subscription); EQUIPMENT_TEST_BACKENDS does not include postgresql")


@dataclass
class Rig:
    cluster: object
    name: str
    url: str
    app: object
    db: Db


@pytest.fixture()
def rig(request):
    """A fresh database (all processes see committed data) and an app on it, dropped afterwards."""
    if "postgresql" not in BACKENDS:
        pytest.skip(PG_ONLY)
    from equipment.extensions import db
    from tests.conftest import make_app
    cluster = request.getfixturevalue("pg_cluster")
    name = f"rel_{uuid.uuid4().hex[:8]}"
    url = cluster.create_database(name)
    app = make_app(url)
    try:
        yield Rig(cluster, name, url, app, Db(cluster.conninfo(name)))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        cluster.drop_database(name)


@pytest.fixture()
def procs(tmp_path):
    children = Procs(tmp_path)
    try:
        yield children
    finally:
        children.kill_all()


@pytest.fixture()
def broker(rig, tmp_path):
    """A real Mosquitto with persistence, password and ACL files, driven by the terminals table."""
    from equipment.telemetry.mqtt import brokerctl
    from equipment.telemetry.mqtt.broker import LocalMosquitto
    mosq = LocalMosquitto(tmp_path / "mosquitto", admit_terminals_after=brokerctl.SHARE_PREFIX,  # as embedded
                          terminal_budgets=(LIFTED_BUDGET, LIFTED_BUDGET))
    user, pwd = brokerctl.service_credentials(rig.app)
    mosq.set_service_user(user, pwd)
    mosq.service = (user, pwd)
    mosq.start()
    rig.app.extensions[brokerctl.EXTENSION_KEY] = mosq
    try:
        yield mosq
    finally:
        rig.app.extensions.pop(brokerctl.EXTENSION_KEY, None)
        mosq.kill()


def provision_terminals(rig: Rig, count: int) -> list[dict]:
    """`count` elevators, each with a provisioned terminal; returns their one-time credentials."""
    from equipment.core.actor import SYSTEM, acting_as
    from equipment.extensions import db
    from equipment.telemetry import service
    from tests.factories import Factory
    creds = []
    with rig.app.app_context(), acting_as(SYSTEM):
        for _ in range(count):
            unit = Factory(db).elevator()
            db.session.commit()
            creds.append(service.provision_terminal(actor=SYSTEM, equipment_id=unit.id))
        db.session.remove()
    return creds


def start_consumer(rig: Rig, broker, procs: Procs, tmp_path, client_id: str, name: str = "consumer"):
    """`equipment telemetry consume` as its own process; its database sessions are named `name`."""
    user, pwd = broker.service
    env = consumer_env(with_app_name(rig.url, name), broker, user, pwd, tmp_path / name)
    return procs.spawn(name, consumer_argv(client_id), env=env)
