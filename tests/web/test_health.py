"""Liveness and readiness: /readyz reports the database and the broker."""
import tempfile

from equipment.telemetry.mqtt.broker import LocalMosquitto


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


def test_favicon_answers(client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml" and b"<svg" in resp.data


def test_public_url_follows_the_served_port_unless_configured(app, monkeypatch):
    from equipment.serve import default_public_url
    saved = app.config["PUBLIC_BASE_URL"]
    try:
        monkeypatch.delenv("EQUIPMENT_PUBLIC_BASE_URL", raising=False)
        default_public_url(app, "0.0.0.0", 8123)
        assert app.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:8123"
        monkeypatch.setenv("EQUIPMENT_PUBLIC_BASE_URL", "https://tags.example.test")
        app.config["PUBLIC_BASE_URL"] = "https://tags.example.test"
        default_public_url(app, "127.0.0.1", 9000)
        assert app.config["PUBLIC_BASE_URL"] == "https://tags.example.test"
    finally:
        app.config["PUBLIC_BASE_URL"] = saved
