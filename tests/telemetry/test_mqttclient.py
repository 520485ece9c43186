"""The trimmed paho client (telemetry/mqttclient.py) against a real Mosquitto: buffered drain reads keep
every byte of every packet (also packets larger than the read buffer), the Receive Maximum holds the
broker back, and acks sent in batches are taken by the broker (only the unacked message comes back)."""
from __future__ import annotations

import subprocess
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from equipment.telemetry.mqtt import mqttclient
from equipment.telemetry.mqtt.broker import LocalMosquitto
from tests.telemetry.conftest import wait_until

WINDOW = 100


def _client(broker, got, ready):
    client = mqttclient.make_client(mqtt.CallbackAPIVersion.VERSION2, client_id="drain-test",
                                    protocol=mqtt.MQTTv5, manual_ack=True)
    client.username_pw_set("svc", "pw")
    client.on_message = lambda _c, _u, m: got.append((m.mid, m.payload))
    client.on_subscribe = lambda *_: ready.set()
    client.on_connect = lambda c, *_: c.subscribe("$share/t/equipment/+/state", qos=1)
    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = WINDOW
    props.SessionExpiryInterval = 60
    client.connect(broker.host, broker.port, clean_start=False, properties=props)
    client.loop_start()
    return client


def _broker(tmp_path) -> LocalMosquitto:
    # packets beyond the 64 KiB read buffer: larger than the platform's broker lets terminals send
    broker = LocalMosquitto(tmp_path / "mosq", max_packet_size=1 << 20)
    broker.set_service_user("svc", "pw")
    return broker.start()


def _publish_lines(broker, data: bytes) -> None:
    """One QoS 1 message per line, from mosquitto_pub."""
    subprocess.run(["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-u", "svc", "-P", "pw",
                    "-q", "1", "-t", "equipment/T1/state", "-l"], input=data, check=True, timeout=30)


def test_drain_reads_and_batched_acks(tmp_path):
    broker = _broker(tmp_path)
    got, ready = [], threading.Event()
    client = _client(broker, got, ready)
    try:
        assert isinstance(client, mqttclient.IngestClient)
        assert ready.wait(10)
        # 250 messages; every 50th is 100 KiB, larger than the 64 KiB read buffer
        lines = [(b"x" * 100_000 if i % 50 == 7 else str(i).encode()) for i in range(250)]
        _publish_lines(broker, b"\n".join(lines) + b"\n")
        assert wait_until(lambda: len(got) >= WINDOW, timeout=10), len(got)
        time.sleep(0.2)
        assert len(got) == WINDOW  # the broker honours our Receive Maximum: nothing more until we ack
        acked = 0
        while acked < 249:  # ack in batches, all but the last message
            assert wait_until(lambda: len(got) > acked, timeout=10), len(got)
            upto = min(len(got), 249)
            client.ack_many([mid for mid, _ in got[acked:upto]])
            acked = upto
        assert wait_until(lambda: len(got) == 250, timeout=10), len(got)
        assert [payload for _, payload in got] == lines  # every byte of every packet, in order
        time.sleep(0.3)  # let the last acks reach the broker
    finally:
        client.disconnect()
        client.loop_stop()
    # Same session again: the broker resends exactly what was not acked (so the batched acks were taken).
    again, ready2 = [], threading.Event()
    client = _client(broker, again, ready2)
    try:
        assert wait_until(lambda: again, timeout=10)
        time.sleep(0.5)
        assert [payload for _, payload in again] == [lines[-1]]
    finally:
        client.disconnect()
        client.loop_stop()
        broker.stop()


def test_hold_leaves_messages_at_the_broker(tmp_path):
    """The consumer's back-pressure: while `hold` is true nothing is read (Mosquitto 2.0.11 stops honouring
    Receive Maximum after the first ack, so this is what bounds the consumer's memory)."""
    broker = _broker(tmp_path)
    got, ready = [], threading.Event()
    client = _client(broker, got, ready)
    try:
        assert ready.wait(10)
        client.hold = lambda: True
        _publish_lines(broker, b"a\nb\nc\n")
        time.sleep(0.5)
        assert got == []
        client.hold = None
        assert wait_until(lambda: len(got) == 3, timeout=10), got
        assert [p for _, p in got] == [b"a", b"b", b"c"]
    finally:
        client.disconnect()
        client.loop_stop()
        broker.stop()
