"""/metrics records request counts and latency by route template; logs can be one JSON object per line."""
import json
import logging

from equipment.core.logs import JsonFormatter


def test_request_metrics_by_route_template(client, f):
    unit = f.elevator()
    h = f.token(client, f.user("admin"))
    client.get(f"/api/v1/equipment/{unit.id}", headers=h)
    body = client.get("/metrics").get_data(as_text=True)
    assert 'equipment_http_request_seconds_count{route="/api/v1/equipment/<int:equipment_id>"}' in body
    assert f"/api/v1/equipment/{unit.id}" not in body  # ids never become label values
    assert 'equipment_http_requests_total{method="GET",status="200"}' in body


def test_json_log_lines():
    record = logging.LogRecord("equipment.x", logging.WARNING, __file__, 1, "trapped at %s", ("35001",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING" and line["msg"] == "trapped at 35001" and line["ts"].endswith("Z")
