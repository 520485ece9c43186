"""SIGKILL the consumer process during a QoS 1 burst, restart it: nothing lost, nothing duplicated.

The suite uses a bounded burst (20,000 messages, PostgreSQL only) to keep CI fast; the 100,000-message
run of the acceptance criteria belongs in bench/bench_ingest.py (`--crash`), which uses the same code.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.telemetry.conftest import wait_until

TERMINALS = 10
PER_TERMINAL = 2000
# 2,000 messages per terminal in seconds: far over a real terminal's budget (test_broker_abuse.py), lifted
# here (broker and consumer) because this test is about loss and duplicates, not limits
LIFTED = "1000000/1000000"
TERMINAL_BUDGETS = (LIFTED, LIFTED)
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="the crash burst runs on PostgreSQL")


def start_consumer(db_url: str, mqtt_url: str, instance: str, client_id: str) -> subprocess.Popen:
    env = {**os.environ, "EQUIPMENT_DATABASE_URL": db_url, "EQUIPMENT_MQTT_URL": mqtt_url,
           "EQUIPMENT_INSTANCE_DIR": instance, "EQUIPMENT_TERMINAL_STATE_BUDGET": LIFTED,
           "EQUIPMENT_TERMINAL_EVENT_BUDGET": LIFTED}
    return subprocess.Popen([str(Path(sys.executable).parent / "equipment"), "telemetry", "consume",
                             "--client-id", client_id], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(Path(instance) / "consumer.log", "ab"))


def publish_burst(broker, creds: list[dict], per_terminal: int) -> list[subprocess.Popen]:
    """One `mosquitto_pub -l` per terminal (C speed, QoS 1), each reading its lines from a file."""
    procs = []
    now_ms = int(time.time() * 1000)
    for c in creds:
        tid = c["terminal_id"]
        lines = "".join(f'{{"seq":{i},"ts":{now_ms},"moving":true,"floor":{i % 20},"occupied":true}}\n'
                        for i in range(1, per_terminal + 1))
        path = Path(tempfile.mkstemp(prefix="burst-")[1])
        path.write_text(lines)
        procs.append(subprocess.Popen(
            ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-u", tid, "-P", c["mqtt_password"],
             "-i", tid, "-q", "1", "-t", f"equipment/{tid}/state", "-l"],
            stdin=open(path, "rb"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    return procs


def counts(app) -> tuple[int, int]:
    from equipment.extensions import db
    with app.app_context():
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT count(*), count(DISTINCT (terminal_id, seq)) FROM telemetry_states"))
            return tuple(row.one())


def test_sigkill_during_burst_loses_and_duplicates_nothing(live, tmp_path):
    if live.backend != "postgresql":
        pytest.skip("PostgreSQL only")
    live.stop_consumer()  # this test runs its own consumer process
    from equipment.telemetry.mqtt import brokerctl
    user, pwd = brokerctl.service_credentials(live.app)
    mqtt_url = f"mqtt://{user}:{pwd}@{live.broker.host}:{live.broker.port}"
    with live.app.app_context():
        from equipment.extensions import db
        db.session.execute(text("TRUNCATE telemetry_states"))
        db.session.commit()
    creds = [live.provision(live.unit()) for _ in range(TERMINALS)]
    # Take over the rig's persistent session: a second session in the share group would hold half the burst.
    client_id = live.client_id
    connects = lambda: live.broker.log_tail(100000).count(f" as {client_id} ")  # noqa: E731
    before = connects()
    consumer = start_consumer(live.url, mqtt_url, str(tmp_path), client_id)
    try:
        # the persistent session (and its subscription) must exist before the burst
        assert wait_until(lambda: connects() > before, 20), live.broker.log_tail()
        time.sleep(0.5)
        total = TERMINALS * PER_TERMINAL
        pubs = publish_burst(live.broker, creds, PER_TERMINAL)
        assert wait_until(lambda: counts(live.app)[0] >= total // 5, 60), counts(live.app)
        consumer.send_signal(signal.SIGKILL)
        consumer.wait(10)
        killed_at = counts(live.app)[0]
        for p in pubs:
            assert p.wait(120) == 0, p.stderr.read()
        consumer = start_consumer(live.url, mqtt_url, str(tmp_path), client_id)
        assert wait_until(lambda: counts(live.app)[0] >= total, 120, 0.5), counts(live.app)
        time.sleep(1.0)  # anything extra (a duplicate) would show up now
        assert killed_at < total, "the kill came too late to test anything"
        assert counts(live.app) == (total, total)
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(30) == 0  # SIGTERM drains and exits cleanly
    finally:
        if consumer.poll() is None:
            consumer.kill()
        live.start_consumer()
