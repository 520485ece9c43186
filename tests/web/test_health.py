"""Liveness and readiness: /readyz reports the database and the broker."""
import tempfile

from equipment.telemetry.broker import LocalMosquitto


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_follows_the_broker(client, app):
    app.config["MQTT_URL"] = None
    body = client.get("/readyz").get_json()
    assert body["checks"]["database"] == "ok"
    broker = LocalMosquitto(tempfile.mkdtemp())
    broker.start()
    try:
        app.config["MQTT_URL"] = broker.url
        resp = client.get("/readyz")
        assert resp.status_code == 200 and resp.get_json()["checks"]["broker"] == "ok"
    finally:
        broker.stop()
    try:
        resp = client.get("/readyz")
        assert resp.status_code == 503 and resp.get_json()["checks"]["broker"].startswith("error")
    finally:
        app.config["MQTT_URL"] = None
