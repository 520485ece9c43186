"""The dossier's 24-hour chart: pure geometry from states, and the telemetry tab drawing it."""
from __future__ import annotations

import datetime as dt

from equipment.workspace import chart
from tests.workspace.test_crawl import _login

END = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)


def _at(hours_ago: float) -> dt.datetime:
    return END - dt.timedelta(hours=hours_ago)


def test_step_line_bands_and_runs():
    points = [(_at(24), {"floor": 1, "door_closed": True, "mode": "normal", "run_count": 100, "moving": False}),
              (_at(12), {"floor": 5, "door_closed": False, "mode": "normal", "run_count": 130, "moving": True}),
              (_at(6), {"floor": 3, "door_closed": False, "mode": "inspection", "run_count": 141, "moving": False})]
    c = chart.build(points, end=END)
    assert (c["lo"], c["hi"], c["runs"], c["count"]) == (1, 5, 41, 3)
    assert c["line"].split(" ")[0] == "0.0,152.0" and c["line"].endswith(f"{chart.WIDTH},{c['line'].split(' ')[-2].split(',')[1]}")
    assert [(s["x"], s["w"], s["value"]) for s in c["doors"]] == [(0.0, 360.0, True), (360.0, 360.0, False)]
    assert [s["value"] for s in c["modes"]] == ["normal", "inspection"] and c["modes"][1]["x"] == 540.0
    assert [t["x"] for t in c["ticks"]] == [0.0, 180.0, 360.0, 540.0, 720.0]


def test_runs_without_a_counter_count_starts_and_nothing_draws_nothing():
    moves = [(_at(3 - i * 0.1), {"moving": i % 2 == 1}) for i in range(7)]
    assert chart.runs(moves) == 3
    assert chart.runs([(_at(1), {"floor": 2})]) is None
    assert chart.build([], end=END) is None


def test_the_telemetry_tab_draws_the_last_day(client, f, db):
    from equipment.core.models import utcnow
    from equipment.telemetry.models import TelemetryState
    unit = f.elevator()
    now = utcnow()
    for n, (floor, closed) in enumerate([(1, True), (7, False), (4, True)]):
        db.session.add(TelemetryState(terminal_id="LT-test", equipment_id=unit.id, boot=1, seq=n,
                                      ts=now - dt.timedelta(hours=3 - n), received_at=now,
                                      body={"floor": floor, "door_closed": closed, "mode": "normal",
                                            "run_count": 10 + n * 5}))
    db.session.add(TelemetryState(terminal_id="LT-test", equipment_id=unit.id, boot=1, seq=9,
                                  ts=now - dt.timedelta(hours=30), received_at=now, body={"floor": 99}))
    db.session.commit()
    _login(client, f.user("regulator").id)
    html = client.get(f"/units/{unit.id}?tab=telemetry").get_data(as_text=True)
    assert '<polyline class="floor"' in html and 'id="runs">10<' in html
    assert ">99<" not in html  # older than 24 h: not drawn
    empty = client.get(f"/units/{f.elevator().id}?tab=telemetry").get_data(as_text=True)
    assert 'id="no-telemetry"' in empty
