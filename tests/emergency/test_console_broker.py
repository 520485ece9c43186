"""End to end: a trapped event (code 11) published by a provisioned terminal to a real Mosquitto goes through
the telemetry consumer, opens the incident, and shows on an open dispatcher console within 2 s without
reload; a dispatch click offers it to the next crew, whose crew page shows the job."""
from __future__ import annotations

import time

import orjson
import pytest
from playwright.sync_api import expect, sync_playwright

from equipment.core.actor import SYSTEM, acting_as
from tests.emergency.test_console_browser import _login
from tests.support.live import LiveServer, launch_chromium
from tests.telemetry.conftest import live  # noqa: F401  (the module-scoped broker + consumer rig)

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests


def _seed(app):
    from tests.emergency.helpers import crew, dispatcher
    from tests.factories import Factory
    from equipment.extensions import db
    with app.app_context(), acting_as(SYSTEM):
        f = Factory(db)
        maint = f.org("maintenance_unit")
        _, first = crew(f, maint, lat=26.081, lon=119.30)
        second_user, second = crew(f, maint, lat=26.09, lon=119.30)
        unit = f.elevator(maint_org=maint, lat=26.08, lon=119.30)
        desk = dispatcher(f)
        db.session.commit()
        out = {"unit": unit.id, "desk": desk.username, "second_user": second_user.username,
               "first_name": first.name, "second_name": second.name}
        db.session.remove()
        return out


def _incident_of(app, unit_id):
    from sqlalchemy import select
    from equipment.emergency.models import Incident
    from equipment.extensions import db
    with app.app_context():
        try:
            return db.session.scalar(select(Incident.id).where(Incident.equipment_id == unit_id))
        finally:
            db.session.remove()


def test_trapped_event_on_the_broker_reaches_the_console(live):  # noqa: F811
    from equipment.emergency import stream
    stream.SHUTDOWN.clear()
    s = _seed(live.app)
    creds = live.provision(s["unit"])
    terminal = creds["terminal_id"]
    try:
        with LiveServer(live.app) as server, sync_playwright() as pw:
            browser = launch_chromium(pw)
            console = browser.new_context().new_page()
            _login(console, server.url, s["desk"])
            console.goto(f"{server.url}/console")
            expect(console.locator("#live:not(.off)")).to_be_visible(timeout=5000)

            client, result = live.connect(terminal, creds["mqtt_password"])
            assert not result["rc"].is_failure
            published = time.monotonic()
            body = orjson.dumps({"seq": 1, "ts": int(time.time() * 1000), "code": "11"})
            client.publish(f"equipment/{terminal}/event", body, qos=1).wait_for_publish(5)
            row = console.locator("#incidents tbody tr").first
            row.wait_for(timeout=3000)
            shown = time.monotonic() - published  # publish -> consumer -> incident -> stream -> DOM
            assert shown < 2.0, shown
            incident_id = _incident_of(live.app, s["unit"])
            expect(console.locator(f"#inc-{incident_id}")).to_contain_text(s["first_name"])
            client.disconnect()

            console.locator(f"#inc-{incident_id} button[data-action=dispatch]").click()  # 改派, confirmed
            console.click("#confirm-ok")
            expect(console.locator(f"#inc-{incident_id}")).to_contain_text(s["second_name"], timeout=3000)
            crew_page = browser.new_context().new_page()
            _login(crew_page, server.url, s["second_user"])
            crew_page.goto(f"{server.url}/crew")
            expect(crew_page.locator(f"#job-{incident_id}")).to_be_visible()
            browser.close()
    finally:
        stream.SHUTDOWN.set()
