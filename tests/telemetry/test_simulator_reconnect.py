"""The simulator behaves as terminals do: refused or cut off, it tries again and carries on.

The platform's broker refuses terminals until a consumer has subscribed (broker.py, the gate), after
every start; a simulator that gave up on a refused CONNACK would go silent for the whole demo.
"""
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from equipment.telemetry.mqtt.broker import LocalMosquitto
from equipment.telemetry.simulator import run_simulator
from tests.telemetry.conftest import wait_until

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests


def _consumer(broker, received):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ingest-{time.monotonic_ns()}",
                         protocol=mqtt.MQTTv5)
    client.username_pw_set("platform", "service-secret")
    client.on_connect = lambda c, *a: c.subscribe("$share/ingest/equipment/+/+", qos=1)
    client.on_message = lambda c, u, m: received.append((m.topic, m.payload))
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def test_simulator_waits_out_the_gate_and_a_broker_restart(tmp_path):
    broker = LocalMosquitto(tmp_path / "mosq", admit_terminals_after="$share/ingest/")
    broker.set_service_user("platform", "service-secret")
    broker.set_terminal("SIM1", "sim1-secret")
    stop, received, consumers = threading.Event(), [], []
    with broker:
        runner = threading.Thread(target=run_simulator, kwargs=dict(
            credentials=[{"terminal_id": "SIM1", "mqtt_password": "sim1-secret"}], broker_url=broker.url,
            rate=5, scenario="normal", duration=60, stop=stop), daemon=True)
        runner.start()
        try:
            time.sleep(1.5)  # refused meanwhile: nobody to deliver to
            assert not broker.terminals_admitted
            consumers.append(_consumer(broker, received))
            assert broker.wait_admitted(10), broker.log_tail()
            assert wait_until(lambda: ("equipment/SIM1/online", b"1") in received, 10), received[-3:]
            assert wait_until(lambda: any(t == "equipment/SIM1/state" for t, _ in received), 10)

            consumers.pop().disconnect()
            broker.restart()  # the simulator's connection drops; the gate closes until a consumer is back
            received.clear()
            consumers.append(_consumer(broker, received))
            assert broker.wait_admitted(10), broker.log_tail()
            assert wait_until(lambda: any(t == "equipment/SIM1/state" for t, _ in received), 15), received[-3:]
            assert ("equipment/SIM1/online", b"1") in received  # it said it is back
        finally:
            stop.set()
            runner.join(10)
            for client in consumers:
                client.disconnect()
                client.loop_stop()
    assert not runner.is_alive()
