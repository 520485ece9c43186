"""Telemetry ingest: one consumer (QoS 1, persisted on PostgreSQL, deduped, rules applied) against a bare
paho subscriber on the same broker in the same run, plus trapped event -> incident latency under load.

    python bench/bench_ingest.py [--messages 100000] [--terminals 50] [--crash]

Publisher: one `mosquitto_pub -l -q 1` per terminal (C), so the publisher is not the limit. Both rates are
messages / (last message handled - first message handled). `--crash` also SIGKILLs the consumer mid-burst
and checks the 100,000 messages for loss and duplicates (the suite does the same with 20,000).
Writes ingest_msgs_per_s, ingest_vs_bare_ratio, trapped_to_incident_p99_ms to bench/results.json.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.results import machine, record  # noqa: E402

BARE = r"""
import sys, time, paho.mqtt.client as mqtt
host, port, user, pwd, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
got, first = 0, None
def on_message(c, u, m):
    global got, first
    got += 1
    if first is None: first = time.time()
    if got == n:
        print(f"{first} {time.time()}", flush=True); c.disconnect()
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bare-bench", protocol=mqtt.MQTTv5)
c.username_pw_set(user, pwd)
c.on_message = on_message
c.on_connect = lambda c, u, f, rc, p: (c.subscribe("equipment/+/+", qos=1), print("ready", flush=True))
c.connect(host, port)
c.loop_forever()
"""


def burst(broker, creds, per_terminal: int, seq0: int) -> list[subprocess.Popen]:
    procs, now_ms = [], int(time.time() * 1000)
    for c in creds:
        tid = c["terminal_id"]
        path = Path(tempfile.mkstemp(prefix="ingest-burst-")[1])
        path.write_text("".join(
            f'{{"seq":{i},"ts":{now_ms},"mode":"normal","moving":true,"direction":"up","floor":{i % 30},'
            f'"door_zone":false,"door_closed":true,"occupied":true,"speed":1.5}}\n'
            for i in range(seq0, seq0 + per_terminal)))
        procs.append(subprocess.Popen(
            ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-u", tid, "-P", c["mqtt_password"],
             "-i", tid, "-q", "1", "-t", f"equipment/{tid}/state", "-l"], stdin=open(path, "rb")))
    return procs


def bare_rate(broker, user, pwd, creds, per_terminal) -> float:
    n = len(creds) * per_terminal
    sub = subprocess.Popen([sys.executable, "-c", BARE, broker.host, str(broker.port), user, pwd, str(n)],
                           stdout=subprocess.PIPE, text=True)
    assert sub.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    for p in burst(broker, creds, per_terminal, seq0=1):
        p.wait()
    first, last = map(float, sub.stdout.readline().split())
    sub.wait(30)
    return n / (last - first)


def consumer_proc(url, mqtt_url, inst, client_id):
    env = {**os.environ, "EQUIPMENT_DATABASE_URL": url, "EQUIPMENT_MQTT_URL": mqtt_url,
           "EQUIPMENT_INSTANCE_DIR": inst}
    return subprocess.Popen([str(Path(sys.executable).parent / "equipment"), "telemetry", "consume",
                             "--client-id", client_id], env=env, cwd=ROOT,
                            stderr=open(Path(inst) / "consumer.log", "ab"))


def count_states(app) -> tuple[int, int, float | None, float | None]:
    from equipment.extensions import db
    with app.app_context(), db.engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT count(*), count(DISTINCT (terminal_id, seq)), extract(epoch FROM min(received_at)),"
            " extract(epoch FROM max(received_at)) FROM telemetry_states")).one())


def trapped_probe(app, broker, trapped_creds, stop, latencies):
    """Every 0.5 s one unit sends event 11; latency = first time its incident is visible in the DB."""
    from equipment.extensions import db
    clients = []
    for c in trapped_creds:
        cl = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=c["terminal_id"], protocol=mqtt.MQTTv5)
        cl.username_pw_set(c["terminal_id"], c["mqtt_password"])
        cl.connect(broker.host, broker.port)
        cl.loop_start()
        clients.append((c, cl))
    with app.app_context():
        for c, cl in clients:
            if stop.is_set():
                break
            sent = time.time()
            cl.publish(f"equipment/{c['terminal_id']}/event",
                       orjson.dumps({"seq": 1, "ts": int(sent * 1000), "code": "11"}), qos=1)
            while time.time() - sent < 10:
                found = db.session.execute(text("SELECT 1 FROM incidents WHERE equipment_id = :e"),
                                           {"e": c["equipment_id"]}).first()
                db.session.rollback()
                if found:
                    latencies.append((time.time() - sent) * 1000)
                    break
                time.sleep(0.005)
            time.sleep(0.3)
    for _, cl in clients:
        cl.loop_stop()
        cl.disconnect()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--terminals", type=int, default=50)
    ap.add_argument("--trapped", type=int, default=20)
    ap.add_argument("--crash", action="store_true")
    args = ap.parse_args()
    from tests.support.pg import PgCluster
    from tests.conftest import make_app
    from equipment.core.actor import SYSTEM, acting_as
    from equipment.extensions import db
    from equipment.telemetry import brokerctl, service
    from equipment.telemetry.broker import LocalMosquitto
    from tests.factories import Factory
    per = args.messages // args.terminals
    n = per * args.terminals
    with PgCluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        url = cluster.create_database("bench_ingest")
        app = make_app(url)
        broker = LocalMosquitto(Path(tmp) / "mosq")
        user, pwd = brokerctl.service_credentials(app)
        broker.set_service_user(user, pwd)
        broker.start()
        app.extensions[brokerctl.EXTENSION_KEY] = broker
        with app.app_context(), acting_as(SYSTEM):
            f = Factory(db)
            creds = []
            for _ in range(args.terminals + args.trapped):
                unit = f.elevator()
                db.session.commit()
                creds.append(service.provision_terminal(actor=SYSTEM, equipment_id=unit.id))
        load, trapped = creds[:args.terminals], creds[args.terminals:]
        bare = bare_rate(broker, user, pwd, load, per)
        print(f"bare paho subscriber (QoS 1, auto-ack): {bare:,.0f} msg/s over {n:,} messages")

        mqtt_url = f"mqtt://{user}:{pwd}@{broker.host}:{broker.port}"
        consumer = consumer_proc(url, mqtt_url, tmp, "bench-ingest")
        time.sleep(3)
        stop, latencies = threading.Event(), []
        started = time.time()
        pubs = burst(broker, load, per, seq0=1)
        probe = threading.Thread(target=trapped_probe, args=(app, broker, trapped, stop, latencies))
        probe.start()
        killed = False
        while count_states(app)[0] < n and time.time() - started < 600:
            if args.crash and not killed and count_states(app)[0] > n // 3:
                consumer.send_signal(signal.SIGKILL)
                consumer.wait()
                consumer = consumer_proc(url, mqtt_url, tmp, "bench-ingest")
                killed = True
                print("consumer SIGKILLed and restarted mid-burst")
            time.sleep(0.2)
        stop.set()
        probe.join()
        for p in pubs:
            p.wait()
        time.sleep(1)
        total, distinct, first, last = count_states(app)
        rate = total / float(last - first)
        consumer.send_signal(signal.SIGTERM)
        rc = consumer.wait(60)
        ratio = rate / bare
        lat = sorted(latencies)
        p50 = statistics.median(lat) if lat else float("nan")
        p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))] if lat else float("nan")
        print(f"consumer ingest (PostgreSQL, deduped, rules): {rate:,.0f} msg/s; stored {total:,} rows, "
              f"{distinct:,} distinct (terminal, seq) of {n:,} sent; SIGTERM exit {rc}")
        print(f"ratio to bare: {ratio:.2f} (goal >= 0.70)")
        print(f"trapped event -> incident under load: p50 {p50:.0f} ms, p99 {p99:.0f} ms over {len(lat)} events")
        cmd = "python bench/bench_ingest.py " + " ".join(sys.argv[1:])
        extra = {"machine": machine(), "messages": n, "terminals": args.terminals}
        record("ingest_msgs_per_s", rate, "msg/s", ">= 70% of bare paho in the same run", cmd,
               bare_paho_msgs_per_s=round(bare), lost=n - distinct, duplicated=total - distinct,
               crash=args.crash, **extra)
        record("ingest_vs_bare_ratio", ratio, "ratio", ">= 0.70", cmd, **extra)
        record("trapped_to_incident_p99_ms", p99, "ms", "< 1000", cmd, p50_ms=round(p50, 1),
               samples=len(lat), **extra)
        broker.stop()
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
