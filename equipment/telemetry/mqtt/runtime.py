"""Telemetry inside `equipment serve`: the embedded Mosquitto (when EQUIPMENT_MQTT_URL is unset) and one
consumer thread. `start(app)` returns the callable that stops both, consumer first (it drains)."""
from __future__ import annotations

import logging
import threading

from equipment.telemetry.mqtt import brokerctl
from equipment.telemetry.mqtt.consumer import Consumer

log = logging.getLogger("equipment.telemetry.mqtt.runtime")


def start(app):
    embedded = not app.config.get("MQTT_URL")
    if embedded:
        brokerctl.start_embedded(app)
    consumer = Consumer(app, conn=brokerctl.consumer_connection(app))
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), name="telemetry-consumer", daemon=True)
    thread.start()

    def stopper():
        stop.set()
        thread.join(timeout=30)
        if embedded:
            brokerctl.stop_embedded(app)
    return stopper
