"""Issue 11 at the real broker: what a terminal's own credentials must not be able to do (brokerguard).

Each test drives the LocalMosquitto the platform runs (its conf carries brokerguard's plugin and limits)
with real paho clients; the service user stands for the platform's consumers.
"""
from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
import pytest

from equipment.telemetry.mqtt import brokerguard
from equipment.telemetry.mqtt.broker import LocalMosquitto
from tests.support.test_infra import WAIT, Probe

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

SHARED = "$share/ingest/equipment/+/+"


class Terminal(Probe):
    """A Probe that also records SUBACK and PUBACK reason codes."""

    def __init__(self, *args, **kwargs):
        self.subacks: list = []
        self.pubacks: dict[int, object] = {}
        self._acked = threading.Condition()
        super().__init__(*args, **kwargs)
        self.client.on_subscribe = self._on_suback
        self.client.on_publish = self._on_puback

    def _on_suback(self, client, userdata, mid, reason_codes, properties):
        self.subacks.append(reason_codes[0])
        self._subscribed.set()

    def _on_puback(self, client, userdata, mid, reason_code, properties):
        with self._acked:
            self.pubacks[mid] = reason_code
            self._acked.notify_all()

    def suback(self, topic: str):
        self.subscribe(topic)
        return self.subacks[-1]

    def puback(self, topic: str, payload: bytes, retain: bool = False):
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self._acked:
            assert self._acked.wait_for(lambda: info.mid in self.pubacks, WAIT), "no PUBACK"
        return self.pubacks[info.mid]


@pytest.fixture()
def broker(tmp_path):
    instance = LocalMosquitto(tmp_path / "mosquitto")
    instance.set_service_user("platform", "service-secret")
    instance.set_terminal("T1", "t1-secret")
    instance.set_terminal("T2", "t2-secret")
    with instance:
        yield instance


@pytest.fixture()
def connect(broker):
    probes: list[Probe] = []

    def _connect(username: str, password: str, **kw) -> Terminal:
        probes.append(Terminal(broker, username, password, **kw))
        return probes[-1]

    yield _connect
    for probe in probes:
        probe.close()


def test_conf_loads_the_guard_and_the_limits(broker):
    conf = broker.conf_path.read_text()
    for line in brokerguard.conf_lines(["platform"]):
        assert line in conf
    assert "Loading plugin" in broker.log_tail(50)


@pytest.mark.parametrize("topic", [SHARED, "$share/other/equipment/+/+", "equipment/+/+", "equipment/#", "#",
                                   "equipment/T1/state", "equipment/T1/cmd", "$SYS/#", "equipment/T2/cmd/#"])
def test_a_terminal_is_refused_any_subscription_but_its_own_cmd(connect, topic):
    terminal = connect("T2", "t2-secret")
    assert terminal.suback(topic) == mqtt.ReasonCode(mqtt.PacketTypes.SUBACK, "Not authorized")
    assert terminal.suback("equipment/T2/cmd").value == 1  # granted QoS 1


def test_refused_squatter_costs_the_platform_nothing(connect):
    consumer = connect("platform", "service-secret", client_id="ingest-1")
    consumer.subscribe(SHARED)
    squatters = [connect("T2", "t2-secret")]
    squatters[0].suback(SHARED)
    publisher = connect("T1", "t1-secret")
    for seq in range(100):
        publisher.publish("equipment/T1/state", b'{"seq":%d}' % seq)
    assert len(consumer.wait_for(100)) == 100


def test_the_service_user_still_shares_one_subscription_across_client_ids(connect):
    first = connect("platform", "service-secret", client_id="ingest-1")
    second = connect("platform", "service-secret", client_id="ingest-2")
    for consumer in (first, second):
        consumer.subscribe(SHARED)
    publisher = connect("T1", "t1-secret")
    for seq in range(20):
        publisher.publish("equipment/T1/state", b'{"seq":%d}' % seq)
    deadline = time.monotonic() + WAIT
    while len(first.messages) + len(second.messages) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(first.messages) + len(second.messages) == 20
    assert first.messages and second.messages


def test_another_terminals_client_id_is_refused_and_the_owner_stays(connect):
    owner = connect("T1", "t1-secret")
    thief = connect("T2", "t2-secret", client_id="T1")
    assert not thief.accepted
    assert not owner._disconnected.wait(1.0), "the owner was kicked off by a client-id takeover"
    assert owner.puback("equipment/T1/state", b'{"seq":1}').value in (0, 0x10)
    assert not connect("T1", "t1-secret", client_id="T1-second").accepted  # one login, one client id


def test_oversized_payload_is_refused_at_the_broker(connect):
    consumer = connect("platform", "service-secret", client_id="ingest-1")
    consumer.subscribe(SHARED)
    terminal = connect("T1", "t1-secret")
    big = b'{"seq":1,"pad":"' + b"x" * brokerguard.MAX_PAYLOAD + b'"}'
    assert terminal.puback("equipment/T1/state", big).is_failure
    assert not terminal.puback("equipment/T1/state", b'{"seq":2}').is_failure  # still connected
    assert [payload for _t, payload in consumer.wait_for(1)] == [b'{"seq":2}']


def test_a_huge_packet_is_cut_off_before_the_broker_buffers_it(broker, connect):
    raw = Terminal(broker, "T1", "t1-secret")
    # paho does not look at the CONNACK's Maximum Packet Size: it sends, the broker cuts the connection
    raw.client.publish("equipment/T1/state", b"x" * (brokerguard.MAX_PACKET_SIZE * 4), qos=1)
    assert raw.wait_disconnected(), "a packet over max_packet_size should cost the sender its connection"
    raw.client.loop_stop()


def test_retain_is_refused_except_on_online(broker, connect):
    terminal = connect("T1", "t1-secret")
    assert terminal.puback("equipment/T1/state", b'{"seq":1}', retain=True).is_failure
    assert terminal.puback("equipment/T1/event", b'{"seq":2}', retain=True).is_failure
    assert not terminal.puback("equipment/T1/online", b"1", retain=True).is_failure
    late = connect("platform", "service-secret", client_id="late")
    late.subscribe("equipment/+/+")
    assert late.wait_for(1) == [("equipment/T1/online", b"1")]
    time.sleep(0.3)
    assert late.messages == [("equipment/T1/online", b"1")]  # no retained state or event came along


def test_a_terminal_cannot_publish_outside_its_three_topics(connect):
    terminal = connect("T1", "t1-secret")
    for topic in ("equipment/T2/state", "equipment/T1/cmd", "equipment/T1/other", "equipment/T1", "x/y"):
        assert terminal.puback(topic, b'{"seq":1}').is_failure, topic


def test_a_flooding_terminal_is_cut_to_its_broker_budget_and_others_are_not(connect):
    consumer = connect("platform", "service-secret", client_id="ingest-1")
    consumer.subscribe(SHARED)
    flooder, other = connect("T1", "t1-secret"), connect("T2", "t2-secret")
    rate, burst = (float(x) for x in brokerguard.STATE_BUDGET.split("/"))
    started = time.monotonic()
    infos = [flooder.client.publish("equipment/T1/state", b'{"seq":%d}' % i, qos=1) for i in range(1000)]
    for info in infos:
        info.wait_for_publish(WAIT)
    elapsed = time.monotonic() - started
    refused = sum(1 for info in infos if flooder.pubacks.get(info.mid) and flooder.pubacks[info.mid].is_failure)
    passed = 1000 - refused
    assert burst <= passed <= burst + rate * elapsed + 1, (passed, elapsed)
    assert not other.puback("equipment/T2/state", b'{"seq":1}').is_failure  # its own budget
    assert not flooder.puback("equipment/T1/event", b'{"seq":1001}').is_failure  # events: a separate one


def test_cli_builds_the_plugin_and_prints_the_conf_lines_for_an_operators_broker(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from equipment.telemetry.cli import broker_guard
    target = tmp_path / "equipment_guard.so"
    result = CliRunner().invoke(broker_guard, ["--output", str(target), "--service-user", "ingest-a"])
    assert result.exit_code == 0, result.output
    assert target.is_file()
    assert result.output.splitlines() == brokerguard.conf_lines(["ingest-a"], target)
    monkeypatch.setenv(brokerguard.GUARD_ENV, str(target))  # a prebuilt plugin, as on a host without cc
    with LocalMosquitto(tmp_path / "m") as started:
        assert f"Loading plugin: {target}" in started.log_tail(50)


def test_the_plugin_is_built_beside_the_broker_when_home_is_not_writable(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # mkdir under a file fails like a read-only home
    monkeypatch.delenv(brokerguard.GUARD_ENV, raising=False)
    with LocalMosquitto(tmp_path / "m") as started:
        built = list((tmp_path / "m").glob("equipment_guard-*.so"))
        assert len(built) == 1 and f"Loading plugin: {built[0]}" in started.log_tail(50)
