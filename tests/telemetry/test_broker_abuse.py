"""Issue 11 end to end: a terminal's own credentials against the platform (real Mosquitto with the guard,
the consumer thread, a fresh database per backend)."""
from __future__ import annotations

import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from equipment.telemetry.mqtt import brokerctl
from equipment.web.metrics import REGISTRY
from tests.telemetry.conftest import wait_until
from tests.telemetry.test_live import IDLE, _incidents, _payload, _rejects, _states

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

SHARED = "$share/ingest/equipment/+/+"


def _suback(client, topic: str):
    got, done = [], threading.Event()
    client.on_subscribe = lambda _c, _u, _mid, codes, _p: (got.extend(codes), done.set())
    client.subscribe(topic, qos=1)
    assert done.wait(5), "no SUBACK"
    return got[0]


def test_a_squatting_terminal_costs_zero_messages(live):
    victim = live.provision(live.unit())
    squatter = live.provision(live.unit())
    squatters = [live.connect(squatter["terminal_id"], squatter["mqtt_password"], client_id=client_id)
                 for client_id in (squatter["terminal_id"], "squat-2")]
    assert not squatters[0][1]["rc"].is_failure
    assert squatters[1][1]["rc"].is_failure  # one login, one client id: no second member of the group
    assert _suback(squatters[0][0], SHARED).is_failure
    assert _suback(squatters[0][0], "equipment/+/+").is_failure
    publisher, res = live.connect(victim["terminal_id"], victim["mqtt_password"])
    assert not res["rc"].is_failure
    tid = victim["terminal_id"]
    for seq in range(1, 101):
        publisher.publish(f"equipment/{tid}/state", _payload(seq, **IDLE), qos=1).wait_for_publish(5)
    wait_until(lambda: _states(live, tid) == 100, timeout=15)
    time.sleep(0.3)
    assert _states(live, tid) == 100
    for client, _ in squatters + [(publisher, None)]:
        client.disconnect()
        client.loop_stop()


FLOOD = 300_000


def _flood(live, creds, count: int) -> subprocess.Popen:
    tid, now = creds["terminal_id"], int(time.time() * 1000)
    lines = b"".join(b'{"seq":%d,"ts":%d,"mode":"normal","moving":false}\n' % (seq, now)
                     for seq in range(1, count + 1))
    proc = subprocess.Popen(["mosquitto_pub", "-h", live.broker.host, "-p", str(live.broker.port),
                             "-u", tid, "-P", creds["mqtt_password"], "-i", tid, "-q", "0",
                             "-t", f"equipment/{tid}/state", "-l"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    threading.Thread(target=_feed, args=(proc, lines), daemon=True).start()
    return proc


def _feed(proc, data: bytes) -> None:
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except (BrokenPipeError, ValueError):
        pass  # killed at the end of the test


def test_a_flooding_terminal_is_limited_and_a_trapped_event_still_opens_within_2s(live):
    flooder = live.provision(live.unit())
    unit = live.unit()
    victim = live.provision(unit)
    before = _rejects(live, "rate_limited")
    caller, res = live.connect(victim["terminal_id"], victim["mqtt_password"])
    assert not res["rc"].is_failure
    # the flood comes from another process (mosquitto_pub, as fast as it can): a publisher thread in
    # this process would compete with the consumer for the interpreter, which no real terminal does
    flood = _flood(live, flooder, count=FLOOD)
    try:
        time.sleep(1.5)  # the flood is under way, queues are full
        sent = time.monotonic()
        caller.publish(f"equipment/{victim['terminal_id']}/event",
                       _payload(1, code="11", active=True), qos=1)
        opened = wait_until(lambda: _incidents(live, unit) == 1, timeout=10, interval=0.02)
        latency = time.monotonic() - sent
    finally:
        flood.kill()
        flood.wait(10)
    print(f"trapped event -> incident under a {FLOOD}-state flood: {latency * 1000:.0f} ms")
    assert opened, "the trapped event never opened an incident"
    assert latency < 2.0, f"trapped event took {latency:.2f}s under a flood"
    assert wait_until(lambda: _rejects(live, "rate_limited") > before + 100)
    counted = REGISTRY.get_sample_value("equipment_telemetry_rejects_total", {"reason": "rate_limited"})
    assert counted and counted > 100  # the consumer's Prometheus counter, by reason
    # the flooder got its burst and its rate, not its flood
    assert _states(live, flooder["terminal_id"]) < 100 + 20 * 10 + 50
    caller.disconnect()
    caller.loop_stop()


def _session_present(live, client_id: str) -> bool:
    """Connect as the service user with `client_id`, keeping any session, and report whether one was there."""
    user, pwd = brokerctl.service_credentials(live.app)
    got, done = {}, threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, pwd)
    client.on_connect = lambda _c, _u, flags, rc, _p: (got.update(flags=flags, rc=rc), done.set())
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0  # and leave none behind
    client.connect(live.broker.host, live.broker.port, clean_start=False, properties=props)
    client.loop_start()
    assert done.wait(5) and not got["rc"].is_failure
    client.disconnect()
    client.loop_stop()
    return got["flags"].session_present


def test_revoking_a_terminal_removes_its_broker_session(live):
    kept, revoked = (live.provision(live.unit()) for _ in range(2))
    for creds in (kept, revoked):
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=creds["terminal_id"],
                             protocol=mqtt.MQTTv5)
        client.username_pw_set(creds["terminal_id"], creds["mqtt_password"])
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600  # a persistent session, kept while the terminal is away
        client.connect(live.broker.host, live.broker.port, clean_start=False, properties=props)
        client.loop_start()
        assert not _suback(client, f"equipment/{creds['terminal_id']}/cmd").is_failure
        gone = threading.Event()
        client.on_disconnect = lambda *_: gone.set()
        client.disconnect()
        assert gone.wait(5)
        client.loop_stop()
    live.revoke(revoked["terminal_id"])
    assert not _session_present(live, revoked["terminal_id"])
    assert _session_present(live, kept["terminal_id"])  # the probe itself can tell


def test_concurrent_provisionings_share_broker_reloads(live):
    units = [live.unit() for _ in range(12)]
    before = live.broker.reloads
    results, errors = [], []

    def provision(unit_id):
        try:
            results.append(live.provision(unit_id))
        except Exception as err:  # noqa: BLE001  reported below
            errors.append(err)
    threads = [threading.Thread(target=provision, args=(u,)) for u in units]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 12
    assert live.broker.reloads - before < 12, live.broker.reloads - before
    for creds in results:  # and every one of them was in the reload its provisioning waited for
        client, res = live.connect(creds["terminal_id"], creds["mqtt_password"])
        assert not res["rc"].is_failure, creds["terminal_id"]
        client.disconnect()
        client.loop_stop()
