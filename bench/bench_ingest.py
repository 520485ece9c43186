"""Telemetry ingest: one consumer (QoS 1, persisted on PostgreSQL, deduped, rules applied) against a bare
paho subscriber on the same broker in the same run; two consumers on the shared subscription as an extra
figure; then trapped event -> incident latency under a sustained load the consumer carries.

    python bench/bench_ingest.py [--messages 100000] [--terminals 50] [--probes 120]
                                 [--load-rate 5000] [--load-seconds 60] [--crash] [--fast-pg] [--quick]

PostgreSQL runs with its durable defaults (fsync, synchronous_commit, full_page_writes on; `--fast-pg`
uses the test suite's throwaway settings instead). Publisher: one `mosquitto_pub -l -q 1` per terminal (C),
so the publisher is not the limit.

Rates. Bare: messages / (last received - first received), measured before and after the consumer phases
(the figure is their mean; this 2-core machine is shared, so both are recorded). Consumer: messages /
(last batch written - first message received), where "written" is telemetry_latest.updated_at
(clock_timestamp() of the batch's last statement, just before its commit) and "received" is the
consumer's receive stamp in telemetry_states.received_at.

Latency. `--load-rate` msgs/s of state messages (paced through the mosquitto_pub pipes every 20 ms) flow
for `--load-seconds`; `--probes` units each send one event 11 (trapped, no debounce), spaced evenly over
the run, each from its own terminal connection. Latency = the moment a poll (every 10 ms) first sees the
unit's incident committed - the publish time (an upper bound: it includes up to one poll interval).
`--crash` also SIGKILLs the consumer mid-burst and checks loss and duplicates by (terminal, seq).
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

LIFTED_BUDGET = "1000000/1000000"  # per-terminal budgets, "per second/burst": see Rig

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
c.on_connect = lambda c, u, f, rc, p: c.subscribe("equipment/+/+", qos=1)
c.on_subscribe = lambda *a: print("ready", flush=True)
c.connect(host, port)
c.loop_forever()
"""


def state_line(seq: int, now_ms: int) -> str:
    return (f'{{"seq":{seq},"ts":{now_ms},"mode":"normal","moving":true,"direction":"up","floor":{seq % 30},'
            f'"door_zone":false,"door_closed":true,"occupied":true,"speed":1.5}}\n')


def cpu_seconds(pids) -> float:
    """user + system CPU seconds of these processes so far (Linux /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))]


def durable_cluster(fast: bool):
    from tests.support.pg import PgCluster

    class DurablePg(PgCluster):
        """The test cluster with PostgreSQL's durable defaults back on (the platform's settings)."""

        def _server_options(self) -> str:
            opts = super()._server_options()
            for name in ("fsync", "synchronous_commit", "full_page_writes"):
                opts = opts.replace(f"-c {name}=off", f"-c {name}=on")
            return opts
    return PgCluster() if fast else DurablePg()


class Rig:
    """A PostgreSQL database, a LocalMosquitto, provisioned terminals, consumers as `equipment` processes."""

    def __init__(self, cluster, tmp: str, name: str):
        from tests.conftest import make_app
        from equipment.telemetry.mqtt import brokerctl
        from equipment.telemetry.mqtt.broker import LocalMosquitto
        self.cluster, self.tmp = cluster, tmp
        self.url = cluster.create_database(name)
        self.app = make_app(self.url)
        # 50 terminals carry a province's load here (thousands of messages each in seconds): the per-terminal
        # budgets that stop one real terminal from flooding (docs/operations.md, Broker limits) are lifted.
        self.broker = LocalMosquitto(Path(tmp) / "mosq", terminal_budgets=(LIFTED_BUDGET, LIFTED_BUDGET))
        self.user, self.pwd = brokerctl.service_credentials(self.app)
        self.broker.set_service_user(self.user, self.pwd)
        self.broker.start()
        self.app.extensions[brokerctl.EXTENSION_KEY] = self.broker
        self.mqtt_url = f"mqtt://{self.user}:{self.pwd}@{self.broker.host}:{self.broker.port}"
        self.env = {**os.environ, "EQUIPMENT_DATABASE_URL": self.url, "EQUIPMENT_MQTT_URL": self.mqtt_url,
                    "EQUIPMENT_INSTANCE_DIR": tmp, "EQUIPMENT_TERMINAL_STATE_BUDGET": LIFTED_BUDGET,
                    "EQUIPMENT_TERMINAL_EVENT_BUDGET": LIFTED_BUDGET}

    def provision(self, units: list[int]) -> list[dict]:
        from equipment.core.actor import SYSTEM, acting_as
        from equipment.telemetry import service
        with self.app.app_context(), acting_as(SYSTEM):
            return [service.provision_terminal(actor=SYSTEM, equipment_id=u) for u in units]

    def elevators(self, n: int, **kw) -> list[int]:
        from equipment.core.actor import SYSTEM, acting_as
        from equipment.extensions import db
        from tests.factories import Factory
        with self.app.app_context(), acting_as(SYSTEM):
            f, ids = Factory(db), []
            for _ in range(n):
                ids.append(f.elevator(**kw).id)
                db.session.commit()
            return ids

    def start(self, *args: str, log: str) -> subprocess.Popen:
        return subprocess.Popen([str(Path(sys.executable).parent / "equipment"), *args], env=self.env, cwd=ROOT,
                                stderr=open(Path(self.tmp) / log, "ab"), stdout=subprocess.DEVNULL)

    def consumer(self, client_id: str) -> subprocess.Popen:
        log = f"{client_id}.log"
        proc = self.start("telemetry", "consume", "--client-id", client_id, log=log)
        deadline = time.time() + 30
        while b"connected to" not in (Path(self.tmp) / log).read_bytes():
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError((Path(self.tmp) / log).read_text()[-2000:])
            time.sleep(0.05)
        time.sleep(0.5)  # the SUBACK follows the CONNACK
        return proc

    def scalar(self, sql: str, **params):
        from equipment.extensions import db
        with self.app.app_context(), db.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def row(self, sql: str, **params):
        from equipment.extensions import db
        with self.app.app_context(), db.engine.connect() as conn:
            return conn.execute(text(sql), params).one()

    def close(self) -> None:
        from equipment.extensions import db
        self.broker.stop()
        with self.app.app_context():
            db.engine.dispose()


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(60)


def end_session(rig: Rig, client_id: str) -> None:
    """Remove a stopped consumer's persistent session from the share group. While it exists, Mosquitto
    keeps routing that member's share of the messages into it, where they wait for the same client id
    to come back (so a bare run or a one-consumer phase after it would lose half its messages)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(rig.user, rig.pwd)
    client.connect(rig.broker.host, rig.broker.port, clean_start=True)  # session expiry 0: gone on disconnect
    client.loop_start()
    time.sleep(0.3)
    client.disconnect()
    client.loop_stop()


def burst(rig: Rig, creds, per_terminal: int, seq0: int) -> list[subprocess.Popen]:
    procs, now_ms = [], int(time.time() * 1000)
    for c in creds:
        tid = c["terminal_id"]
        path = Path(tempfile.mkstemp(prefix="ingest-burst-", dir=rig.tmp)[1])
        path.write_text("".join(state_line(i, now_ms) for i in range(seq0, seq0 + per_terminal)))
        procs.append(publisher(rig, c, "state", stdin=open(path, "rb")))
    return procs


def publisher(rig: Rig, cred: dict, kind: str, stdin) -> subprocess.Popen:
    tid = cred["terminal_id"]
    return subprocess.Popen(["mosquitto_pub", "-h", rig.broker.host, "-p", str(rig.broker.port), "-u", tid,
                             "-P", cred["mqtt_password"], "-i", tid, "-q", "1", "-t", f"equipment/{tid}/{kind}", "-l"],
                            stdin=stdin)


BARE_CPU: list[float] = []  # CPU microseconds per message of each bare run


def bare_rate(rig: Rig, creds, per_terminal: int, seq0: int) -> float:
    n = len(creds) * per_terminal
    sub = subprocess.Popen([sys.executable, "-c", BARE, rig.broker.host, str(rig.broker.port), rig.user, rig.pwd,
                            str(n)], stdout=subprocess.PIPE, text=True)
    assert sub.stdout.readline().strip() == "ready"
    cpu0 = cpu_seconds([sub.pid])
    for p in burst(rig, creds, per_terminal, seq0):
        p.wait()
    first, last = map(float, sub.stdout.readline().split())
    BARE_CPU.append((cpu_seconds([sub.pid]) - cpu0) / n * 1e6)
    sub.wait(30)
    return n / (last - first)


def consumer_phase(rig: Rig, creds, per: int, seq0: int, consumers: list, crash: bool = False) -> dict:
    """Burst `per` messages per terminal; wait until all are stored; rate from the database's own stamps."""
    n = per * len(creds)
    cpu0 = cpu_seconds([c.pid for c in consumers])
    pubs = burst(rig, creds, per, seq0)
    started, killed = time.time(), False
    where = f"seq >= {seq0} AND seq < {seq0 + per}"
    while rig.scalar(f"SELECT count(*) FROM telemetry_states WHERE {where}") < n and time.time() - started < 600:
        if crash and not killed and rig.scalar(f"SELECT count(*) FROM telemetry_states WHERE {where}") > n // 3:
            consumers[0].send_signal(signal.SIGKILL)
            consumers[0].wait()
            consumers[0] = rig.consumer("bench-ingest")
            killed = True
            print("consumer SIGKILLed and restarted mid-burst")
        time.sleep(0.5)
    for p in pubs:
        p.wait()
    total, distinct, first = rig.row(
        f"SELECT count(*), count(DISTINCT (terminal_id, seq)), extract(epoch FROM min(received_at)) "
        f"FROM telemetry_states WHERE {where}")
    last = rig.scalar("SELECT extract(epoch FROM max(updated_at)) FROM telemetry_latest")
    cpu = (cpu_seconds([c.pid for c in consumers]) - cpu0) / n * 1e6 if not killed else float("nan")
    return {"rate": distinct / (float(last) - float(first)), "stored": total, "lost": n - distinct,
            "duplicated": total - distinct, "sent": n, "cpu_us": cpu}


class Pacer(threading.Thread):
    """`rate` state msgs/s spread over the load terminals' mosquitto_pub pipes, written every 20 ms."""

    def __init__(self, rig: Rig, creds, rate: float, seconds: float, seq0: int):
        super().__init__(daemon=True)
        self.procs = [publisher(rig, c, "state", stdin=subprocess.PIPE) for c in creds]
        self.rate, self.seconds, self.seq = rate, seconds, seq0
        self.sent = 0

    def run(self) -> None:
        tick, per_tick = 0.02, self.rate * 0.02 / len(self.procs)
        start = time.monotonic()
        owed = 0.0
        while (now := time.monotonic()) - start < self.seconds:
            owed += per_tick
            k = int(owed)
            owed -= k
            if k:
                now_ms = int(time.time() * 1000)
                lines = "".join(state_line(self.seq + j, now_ms) for j in range(k)).encode()
                for p in self.procs:
                    p.stdin.write(lines)
                    p.stdin.flush()
                self.seq += k
                self.sent += k * len(self.procs)
            time.sleep(max(0.0, start + (int((now - start) / tick) + 1) * tick - time.monotonic()))
        for p in self.procs:
            p.stdin.close()
        for p in self.procs:
            p.wait()


def publish_trapped(rig: Rig, cred: dict, seq: int = 1) -> float:
    """Connect as the unit's terminal, publish event 11 (QoS 1); returns the publish time (epoch s)."""
    tid = cred["terminal_id"]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=tid, protocol=mqtt.MQTTv5)
    client.username_pw_set(tid, cred["mqtt_password"])
    ready = threading.Event()
    client.on_connect = lambda *a: ready.set()
    client.connect(rig.broker.host, rig.broker.port)
    client.loop_start()
    try:
        if not ready.wait(10):
            raise RuntimeError(f"probe terminal {tid} could not connect")
        sent = time.time()
        info = client.publish(f"equipment/{tid}/event", orjson.dumps({"seq": seq, "ts": int(sent * 1000),
                                                                      "code": "11"}), qos=1)
        info.wait_for_publish(10)
        return sent
    finally:
        client.disconnect()
        client.loop_stop()


def run_probes(rig: Rig, probes: list[dict], seconds: float, check, settle_s: float = 15.0) -> dict:
    """Publish one trapped event per probe unit, evenly spaced over `seconds`, while calling
    `check(pending_equipment_ids) -> {equipment_id: seen_at}` every 10 ms. Returns
    {equipment_id: (published_at, seen_at or None)} for every probe."""
    sent: dict[int, float] = {}
    seen: dict[int, float] = {}
    done = threading.Event()

    def publish_all():
        start = time.time()
        gap = seconds / max(1, len(probes))
        for k, cred in enumerate(probes):
            time.sleep(max(0.0, start + (k + 0.5) * gap - time.time()))
            sent[cred["equipment_id"]] = publish_trapped(rig, cred)
        done.set()

    thread = threading.Thread(target=publish_all, daemon=True)
    thread.start()
    deadline = None
    while True:
        pending = [eid for eid in list(sent) if eid not in seen]
        if pending:
            for eid, at in check(pending).items():
                seen.setdefault(eid, at)
        if done.is_set():
            deadline = deadline or time.time() + settle_s
            if len(seen) == len(sent) or time.time() > deadline:
                break
        time.sleep(0.01)
    thread.join()
    return {eid: (sent[eid], seen.get(eid)) for eid in sent}


def incident_poller(rig: Rig):
    """check() for run_probes: the time a poll first sees the unit's incident committed."""
    from equipment.extensions import db
    ctx = rig.app.app_context()
    ctx.push()
    conn = db.engine.connect()

    def check(pending: list[int]) -> dict[int, float]:
        rows = conn.execute(text("SELECT equipment_id FROM incidents WHERE equipment_id = ANY(:ids)"),
                            {"ids": pending}).scalars().all()
        conn.rollback()
        now = time.time()
        return {eid: now for eid in rows}

    def close():
        conn.close()
        ctx.pop()
    return check, close


def summarise(samples: dict) -> dict:
    lat = sorted((seen - sent) * 1000 for sent, seen in samples.values() if seen is not None)
    return {"p50": statistics.median(lat) if lat else float("nan"), "p99": percentile(lat, 0.99),
            "max": lat[-1] if lat else float("nan"), "samples": len(lat), "missing": len(samples) - len(lat)}


def carried(rig: Rig, pacer: "Pacer", stored0: int) -> float | None:
    """Seconds after the paced load stopped until all of it was stored (None: not within 30 s)."""
    end = time.time()
    while time.time() - end < 30:
        if rig.scalar("SELECT count(*) FROM telemetry_states") - stored0 >= pacer.sent:
            return time.time() - end
        time.sleep(0.1)
    return None


def latency_phase(rig: Rig, load, probes, rate: float, seconds: float, seq0: int) -> dict:
    stored0 = rig.scalar("SELECT count(*) FROM telemetry_states")
    pacer = Pacer(rig, load, rate, seconds, seq0)
    pacer.start()
    check, close = incident_poller(rig)
    try:
        samples = run_probes(rig, probes, seconds - 2, check)
    finally:
        close()
    pacer.join()
    return {**summarise(samples), "background_sent": pacer.sent, "background_rate": pacer.sent / seconds,
            "drained_after_s": carried(rig, pacer, stored0)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--terminals", type=int, default=50)
    ap.add_argument("--probes", type=int, default=120)
    ap.add_argument("--load-rate", type=float, default=5000)
    ap.add_argument("--load-seconds", type=float, default=60)
    ap.add_argument("--no-second-consumer", action="store_true")
    ap.add_argument("--crash", action="store_true")
    ap.add_argument("--fast-pg", action="store_true", help="fsync/synchronous_commit off (the test cluster)")
    ap.add_argument("--quick", action="store_true", help="20k messages, 100 probes over 25 s")
    ap.add_argument("--throughput-only", action="store_true", help="bare and one consumer, print only")
    args = ap.parse_args()
    if args.quick:
        args.messages, args.probes, args.load_seconds = 20_000, 100, 25
    per = args.messages // args.terminals
    n = per * args.terminals
    with durable_cluster(args.fast_pg) as cluster, tempfile.TemporaryDirectory() as tmp:
        rig = Rig(cluster, tmp, "bench_ingest")
        load = rig.provision(rig.elevators(args.terminals))
        probes = rig.provision(rig.elevators(args.probes))
        bare = [bare_rate(rig, load, per, seq0=1)]
        print(f"bare paho subscriber (QoS 1, auto-ack): {bare[0]:,.0f} msg/s over {n:,} messages")

        consumers = [rig.consumer("bench-ingest")]
        one = consumer_phase(rig, load, per, per + 1, consumers, crash=args.crash)
        print(f"one consumer: {one['rate']:,.0f} msg/s; {one['stored']:,} rows, lost {one['lost']}, "
              f"duplicated {one['duplicated']}; CPU {one['cpu_us']:.1f} us/msg (bare paho {BARE_CPU[0]:.1f})")
        if args.throughput_only:
            stop(consumers[0])
            end_session(rig, "bench-ingest")
            bare.append(bare_rate(rig, load, per, seq0=10**6))
            print(f"bare again {bare[1]:,.0f} (CPU {BARE_CPU[1]:.1f} us/msg); ratio {one['rate'] / statistics.mean(bare):.2f}")
            rig.close()
            return
        two = None
        if not args.no_second_consumer:
            consumers.append(rig.consumer("bench-ingest-2"))
            two = consumer_phase(rig, load, per, 2 * per + 1, consumers)
            print(f"two consumers (shared subscription): {two['rate']:,.0f} msg/s; lost {two['lost']}, "
                  f"duplicated {two['duplicated']}")
            stop(consumers.pop())
            end_session(rig, "bench-ingest-2")

        lat = latency_phase(rig, load, probes, args.load_rate, args.load_seconds, seq0=3 * per + 1)
        rc = stop(consumers[0])
        end_session(rig, "bench-ingest")
        bare.append(bare_rate(rig, load, per, seq0=10**6))  # seqs of its own (nothing consumes them)
        print(f"bare paho subscriber again: {bare[1]:,.0f} msg/s")
        bare_mean = statistics.mean(bare)
        ratio = one["rate"] / bare_mean
        print(f"ratio one consumer / bare (mean of {len(bare)}): {ratio:.2f} (goal >= 0.70); SIGTERM exit {rc}")
        print(f"trapped event -> incident committed, under {lat['background_rate']:,.0f} msg/s for "
              f"{args.load_seconds:.0f} s: p50 {lat['p50']:.0f} ms, p99 {lat['p99']:.0f} ms, max {lat['max']:.0f} ms "
              f"over {lat['samples']} probes ({lat['missing']} missing); backlog drained "
              f"{lat['drained_after_s']} s after the load stopped")
        cmd = "python bench/bench_ingest.py " + " ".join(sys.argv[1:])
        extra = {"machine": machine(), "messages": n, "terminals": args.terminals,
                 "load_average_1m_at_end": round(os.getloadavg()[0], 1),
                 "postgres": "test settings (fsync off)" if args.fast_pg else "durable defaults (fsync on)"}
        record("ingest_msgs_per_s", one["rate"], "msg/s", ">= 70% of bare paho in the same run", cmd,
               bare_msgs_per_s=round(bare_mean), bare_runs=[round(b) for b in bare], lost=one["lost"],
               consumer_cpu_us_per_msg=round(one["cpu_us"], 1), bare_cpu_us_per_msg=round(statistics.mean(BARE_CPU), 1),
               duplicated=one["duplicated"], crash=args.crash,
               two_consumers_msgs_per_s=round(two["rate"]) if two else None, **extra)
        record("ingest_vs_bare_ratio", ratio, "ratio", ">= 0.70", cmd, **extra)
        record("trapped_to_incident_p99_ms", lat["p99"], "ms", "< 1000", cmd, p50_ms=round(lat["p50"], 1),
               max_ms=round(lat["max"], 1), samples=lat["samples"], missing=lat["missing"],
               background_msgs_per_s=round(lat["background_rate"]), load_seconds=args.load_seconds,
               measured="publish -> incident row visible to a 10 ms poll", **extra)
        rig.close()


if __name__ == "__main__":
    main()
