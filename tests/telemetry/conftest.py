"""Live rig for telemetry: a fresh database (committed data visible to all threads/processes), a real
LocalMosquitto with password+ACL files driven by the terminals table, and a consumer thread."""
from __future__ import annotations

import tempfile
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest

from tests.conftest import BACKENDS

TRAPPED_AFTER_S = 2.0


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Live:
    def __init__(self, app, broker, url):
        self.app, self.broker, self.url = app, broker, url
        self.stop = threading.Event()
        self.consumer = None
        self.thread = None
        # Stable, like production: a persistent session in the share group holds its share of messages
        # while it is away, so whoever takes over must reconnect with the same client id.
        self.client_id = f"test-ingest-{uuid.uuid4().hex[:6]}"

    def start_consumer(self):
        from equipment.telemetry.mqtt import brokerctl
        from equipment.telemetry.mqtt.consumer import Consumer
        user, pwd = brokerctl.service_credentials(self.app)
        conn = brokerctl.parse_url(self.broker.url, user, pwd)
        self.consumer = Consumer(self.app, conn=conn, client_id=self.client_id,
                                 batch_ms=20)
        self.thread = threading.Thread(target=self.consumer.run, args=(self.stop,), daemon=True)
        self.stop.clear()
        self.thread.start()
        assert self.consumer.connected.wait(10), self.broker.log_tail()
        time.sleep(0.2)  # the SUBACK follows the CONNACK

    def stop_consumer(self):
        self.stop.set()
        self.thread.join(timeout=15)

    def provision(self, unit_id: int) -> dict:
        from equipment.core.actor import SYSTEM, acting_as
        from equipment.telemetry import service
        with self.app.app_context(), acting_as(SYSTEM):
            return service.provision_terminal(actor=SYSTEM, equipment_id=unit_id)

    def revoke(self, terminal_id: str) -> None:
        from equipment.core.actor import SYSTEM, acting_as
        from equipment.telemetry import service
        with self.app.app_context(), acting_as(SYSTEM):
            service.revoke_terminal(actor=SYSTEM, terminal_id=terminal_id)

    def unit(self) -> int:
        from tests.factories import Factory
        from equipment.extensions import db
        with self.app.app_context():
            unit = Factory(db).elevator()
            db.session.commit()
            return unit.id

    def scalar(self, stmt):
        from equipment.extensions import db
        with self.app.app_context():
            try:
                return db.session.scalar(stmt)
            finally:
                db.session.remove()

    def connect(self, username: str, password: str, client_id: str | None = None):
        """A terminal-like paho client; returns (client, connack reason code)."""
        result = {}
        done = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or username,
                             protocol=mqtt.MQTTv5)
        client.username_pw_set(username, password)

        def on_connect(c, u, flags, rc, props):
            result["rc"] = rc
            done.set()
        client.on_connect = on_connect
        client.on_disconnect = lambda *a: result.setdefault("disconnected", True)
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        done.wait(5)
        return client, result

    def service_client(self):
        from equipment.telemetry.mqtt import brokerctl
        user, pwd = brokerctl.service_credentials(self.app)
        client, result = self.connect(user, pwd, client_id=f"svc-{uuid.uuid4().hex[:6]}")
        assert not result["rc"].is_failure
        return client


@pytest.fixture(scope="module", params=BACKENDS)
def live(request, tmp_path_factory):
    from equipment.extensions import db
    from equipment.telemetry.mqtt import brokerctl
    from equipment.telemetry.mqtt.broker import LocalMosquitto
    from tests.conftest import make_app
    url, cluster, name = _fresh_database(request)
    app = make_app(url)
    app.config["TRAPPED_AFTER_S"] = TRAPPED_AFTER_S
    app.config["STOP_OUTSIDE_ZONE_AFTER_S"] = TRAPPED_AFTER_S
    # A module that pushes a fleet's load through few terminals names budgets it lifts (test_crash.py)
    budgets = getattr(request.module, "TERMINAL_BUDGETS", None)
    if budgets:
        app.config["TERMINAL_STATE_BUDGET"], app.config["TERMINAL_EVENT_BUDGET"] = budgets
        broker = LocalMosquitto(tmp_path_factory.mktemp("mosq"), terminal_budgets=budgets)
    else:
        broker = LocalMosquitto(tmp_path_factory.mktemp("mosq"))
    user, pwd = brokerctl.service_credentials(app)
    broker.set_service_user(user, pwd)
    broker.start()
    app.extensions[brokerctl.EXTENSION_KEY] = broker
    rig = Live(app, broker, url)
    rig.backend = request.param
    rig.start_consumer()
    yield rig
    rig.stop_consumer()
    broker.stop()
    with app.app_context():
        db.engine.dispose()
    if cluster is not None:
        cluster.drop_database(name)


def _fresh_database(request):
    name = f"tl_{uuid.uuid4().hex[:8]}"
    if request.param == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        return cluster.create_database(name), cluster, name
    return f"sqlite:///{tempfile.mkdtemp(prefix='equipment-live-')}/{name}.db", None, name
