"""The test infrastructure itself: a throwaway PostGIS cluster and the platform's local Mosquitto."""
from __future__ import annotations

import base64
import socket
import subprocess
import threading

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from equipment.telemetry.mqtt.broker import LocalMosquitto, mosquitto_hash, verify_mosquitto_hash
from tests.support.pg import PgCluster
from tests.support.ports import free_port

WAIT = 10.0  # seconds; every wait in this file is bounded by it
SHARED = "$share/ingest/equipment/+/+"


def test_pg_cluster_has_postgis_and_is_removed_on_stop():
    cluster = PgCluster()
    with cluster:
        assert cluster.url == f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/equipment"
        with psycopg.connect(cluster.conninfo(), connect_timeout=5) as conn:
            assert conn.execute("SELECT postgis_version()").fetchone()[0].startswith("3.")
        other = cluster.create_database("other")
        assert other.endswith(f":{cluster.port}/other")
        cluster.restart()
        with psycopg.connect(cluster.conninfo("other"), connect_timeout=5) as conn:
            assert conn.execute("SELECT ST_AsText(ST_Point(1, 2))").fetchone()[0] == "POINT(1 2)"
        base_dir = cluster.base_dir
    assert not base_dir.exists()


def test_free_port_is_bindable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


class Probe:
    """A paho MQTT v5 client with waits that never block for more than WAIT seconds."""

    def __init__(self, broker: LocalMosquitto, username: str, password: str, *,
                 client_id: str | None = None, session_expiry: int | None = None) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or username,
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(username, password)
        self.messages: list[tuple[str, bytes]] = []
        self.connect_rc = None
        self._connected, self._disconnected, self._subscribed = (threading.Event() for _ in range(3))
        self._message_arrived = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self._disconnected.set()
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        props = None
        if session_expiry is not None:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = session_expiry
        self.client.connect("127.0.0.1", broker.port, clean_start=session_expiry is None,
                            properties=props)
        self.client.loop_start()
        assert self._connected.wait(WAIT), "no CONNACK"

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connect_rc = reason_code
        self._connected.set()
        if reason_code.is_failure:
            client.disconnect()  # no automatic retries with a refused password

    def _on_message(self, client, userdata, message):
        with self._message_arrived:
            self.messages.append((message.topic, message.payload))
            self._message_arrived.notify_all()

    @property
    def accepted(self) -> bool:
        return not self.connect_rc.is_failure

    def subscribe(self, topic: str) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self._subscribed.wait(WAIT), "no SUBACK"

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(WAIT)

    def wait_for(self, count: int) -> list[tuple[str, bytes]]:
        with self._message_arrived:
            self._message_arrived.wait_for(lambda: len(self.messages) >= count, WAIT)
        return list(self.messages)

    def wait_disconnected(self) -> bool:
        return self._disconnected.wait(WAIT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture()
def broker(tmp_path):
    # queue and restart tests push thousands of messages through one terminal: its budget is lifted
    instance = LocalMosquitto(tmp_path / "mosquitto", terminal_budgets=("1000000/1000000", "1000000/1000000"))
    instance.set_service_user("platform", "service-secret")
    instance.set_terminal("T1", "t1-secret")
    instance.set_terminal("T2", mosquitto_hash("t2-secret"))  # as the platform does: from a stored hash
    with instance:
        yield instance


@pytest.fixture()
def connect(broker):
    """connect(username, password, **kw) -> Probe; every probe is closed after the test."""
    probes: list[Probe] = []

    def _connect(username: str, password: str, **kw) -> Probe:
        probes.append(Probe(broker, username, password, **kw))
        return probes[-1]

    yield _connect
    for probe in probes:
        probe.close()


def test_terminal_publish_reaches_shared_subscription(broker, connect):
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
    consumer = connect("platform", "service-secret", client_id="consumer-1")
    consumer.subscribe(SHARED)
    terminal = connect("T1", "t1-secret")
    terminal.publish("equipment/T1/state", b'{"seq":1}')
    assert consumer.wait_for(1) == [("equipment/T1/state", b'{"seq":1}')]


def test_terminal_cannot_publish_for_another_terminal(connect):
    consumer = connect("platform", "service-secret", client_id="consumer-1")
    consumer.subscribe(SHARED)
    terminal = connect("T1", "t1-secret")
    terminal.publish("equipment/T2/event", b"forged")
    # same publisher, same subscriber, QoS 1: once the later message arrives the forged one would have
    terminal.publish("equipment/T1/event", b"own")
    assert consumer.wait_for(1) == [("equipment/T1/event", b"own")]


def test_terminal_from_stored_hash_connects_and_wrong_password_is_refused(connect):
    assert connect("T2", "t2-secret").accepted
    refused = connect("T1", "not-the-password")
    assert refused.connect_rc.is_failure
    assert not connect("nobody", "x").accepted


def test_removed_terminal_is_cut_off_after_reload(broker, connect):
    connected = connect("T1", "t1-secret")
    other = connect("T2", "t2-secret")
    broker.remove_terminal("T1")
    assert not connected._disconnected.wait(0.5)  # files alone: no effect
    broker.reload()
    assert connected.wait_disconnected(), "a revoked, connected terminal should be disconnected"
    assert not connect("T1", "t1-secret").accepted
    assert not other._disconnected.is_set()


def test_offline_persistent_consumer_gets_whole_burst_across_restart(broker, connect):
    burst = 2500  # above Mosquitto's default queue of 1000 messages, which would drop the rest
    consumer = connect("platform", "service-secret", client_id="consumer-1", session_expiry=3600)
    consumer.subscribe(SHARED)
    consumer.close()
    terminal = connect("T1", "t1-secret")
    infos = [terminal.client.publish("equipment/T1/event", str(i).encode(), qos=1) for i in range(burst)]
    for info in infos:
        info.wait_for_publish(WAIT)
    terminal.close()
    broker.restart()
    back = connect("platform", "service-secret", client_id="consumer-1", session_expiry=3600)
    received = {payload for _, payload in back.wait_for(burst)}
    assert received == {str(i).encode() for i in range(burst)}


def test_mosquitto_hash_matches_mosquitto_passwd(tmp_path):
    password_file = tmp_path / "passwd"
    password_file.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(password_file), "alice", "s3cret"], check=True,
                   capture_output=True, timeout=WAIT)
    theirs = password_file.read_text().strip().split(":", 1)[1]
    _, kind, iterations, salt, _ = theirs.split("$")
    ours = mosquitto_hash("s3cret", salt=base64.b64decode(salt), iterations=int(iterations))
    assert (kind, ours) == ("7", theirs)
    assert verify_mosquitto_hash("s3cret", theirs) and not verify_mosquitto_hash("other", theirs)


def test_terminal_ids_are_validated(tmp_path):
    instance = LocalMosquitto(tmp_path / "m")
    with pytest.raises(ValueError):
        instance.set_terminal("T1\nuser platform", "x")
    instance.sync_terminals({"A": "a", "B": mosquitto_hash("b")})
    assert instance.terminal_ids == ["A", "B"]
    assert "topic read equipment/A/cmd" in instance.acl_path.read_text()


def test_gated_broker_admits_terminals_once_a_consumer_subscribed_and_again_after_restart(tmp_path):
    """Mosquitto forgets $share subscriptions on restart; until a consumer is back, terminals are refused."""
    gated = LocalMosquitto(tmp_path / "gated", admit_terminals_after="$share/ingest/")
    gated.set_service_user("platform", "service-secret")
    gated.set_terminal("T1", "t1-secret")
    probes = []
    try:
        with gated:
            for round_ in (1, 2):
                refused = Probe(gated, "T1", "t1-secret")
                probes.append(refused)
                assert not refused.accepted and not gated.terminals_admitted, round_
                consumer = Probe(gated, "platform", "service-secret", client_id="ingest-1", session_expiry=3600)
                probes.append(consumer)
                consumer.subscribe("$share/ingest/equipment/+/+")
                assert gated.wait_admitted(WAIT), gated.log_tail()
                terminal = Probe(gated, "T1", "t1-secret")
                probes.append(terminal)
                assert terminal.accepted
                terminal.publish("equipment/T1/state", b'{"seq": 1}')
                assert consumer.wait_for(1)[0] == ("equipment/T1/state", b'{"seq": 1}')
                for probe in probes:
                    probe.close()
                probes.clear()
                gated.restart()  # persistent session kept, shared subscription forgotten: gated again
    finally:
        for probe in probes:
            probe.close()
