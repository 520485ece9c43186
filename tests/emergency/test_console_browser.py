"""Headless Chromium: a new incident appears on an open console within 2 s, without reload; a dispatch
click offers it to another crew, whose crew page then shows the job; the crew's accept reaches the console;
an unverified scan-page report carries 未核实 and a 核实 button whose confirmation lifts the gate."""
from __future__ import annotations

import os
import tempfile
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from equipment.core.actor import SYSTEM, acting_as
from tests.factories import PASSWORD
from tests.support.live import LiveServer, launch_chromium

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests


@pytest.fixture()
def live_app(app, backend, request):
    from tests.conftest import make_app
    from equipment.emergency import stream
    if backend == "postgresql":
        url = request.getfixturevalue("pg_cluster").create_database(f"console_{os.getpid()}_{id(request)}")
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/console.db"
    application = make_app(url)
    stream.SHUTDOWN.clear()
    yield application
    stream.SHUTDOWN.set()
    from equipment.extensions import db
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _seed(application):
    from tests.emergency.helpers import crew, dispatcher
    from tests.factories import Factory
    from equipment.extensions import db
    with application.app_context(), acting_as(SYSTEM):
        f = Factory(db)
        maint = f.org("maintenance_unit", name="福州安达电梯维保")
        _, first = crew(f, maint, lat=26.081, lon=119.30)
        second_user, second = crew(f, maint, lat=26.09, lon=119.30)
        unit = f.elevator(maint_org=maint, lat=26.08, lon=119.30)
        other = f.elevator(maint_org=maint, lat=26.082, lon=119.301)
        desk = dispatcher(f)
        db.session.commit()
        out = {"unit": unit.id, "other": other.id, "desk": desk.username, "first": first.id, "second": second.id,
               "second_user": second_user.username, "first_name": first.name, "second_name": second.name,
               "rescue_code": unit.rescue_code}
        db.session.remove()
        return out


def _login(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _open_incident(application, unit_id, **kw):
    from equipment.emergency import service
    from equipment.extensions import db
    kw = {"source": "sensor", "reason": "event_11", **kw}
    with application.app_context():
        inc, _ = service.open_incident(equipment_id=unit_id, **kw)
        out = inc.id, inc.crew_id
        db.session.remove()
        return out


def test_console_live_dispatch_and_crew_page(live_app):
    s = _seed(live_app)
    with LiveServer(live_app) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        console = browser.new_context().new_page()
        _login(console, server.url, s["desk"])
        console.goto(f"{server.url}/console")
        expect(console.locator("#live:not(.off)")).to_be_visible(timeout=5000)

        incident_id, offered_to = _open_incident(live_app, s["unit"])
        created = time.monotonic()
        row = console.locator(f"#inc-{incident_id}")
        row.wait_for(timeout=2000)
        assert time.monotonic() - created < 2.0
        assert offered_to == s["first"]
        expect(console.locator(f"#alert-{incident_id}")).to_be_visible()
        expect(row).to_have_attribute("data-status", "dispatched")
        expect(row.locator(".timer")).to_have_count(2)
        expect(row).to_contain_text(s["first_name"])
        expect(row).to_contain_text("终端报困人")  # the sensor's reason code in words, never "event_11"
        # the map labels the incident with its 96333 code (what the caller reads out), not a database id
        expect(console.locator(f'#map .marker.incident[data-incident="{incident_id}"]')).to_have_text(s["rescue_code"])

        # 改派: withdrawing the first crew's offer asks first (no silent reassignment), then offers the next
        row.locator("button[data-action=dispatch]").click()
        expect(console.locator("#confirm-text")).to_contain_text(s["first_name"])
        console.click("#confirm-ok")
        expect(row).to_contain_text(s["second_name"], timeout=3000)
        console.screenshot(path=os.path.join(tempfile.gettempdir(), "console.png"), full_page=True)

        crew_page = browser.new_context().new_page()
        _login(crew_page, server.url, s["second_user"])
        crew_page.goto(f"{server.url}/crew")
        job = crew_page.locator(f"#job-{incident_id}")
        expect(job).to_be_visible()
        assert crew_page.locator(f"#nav-{incident_id}").get_attribute("href").startswith("geo:26.08,119.3")
        job.locator("button[data-action=accept]").click()
        expect(crew_page.locator(f"#job-{incident_id}")).to_have_attribute("data-status", "accepted")
        expect(row).to_have_attribute("data-status", "accepted", timeout=3000)  # live on the console

        # 核实: a scan-page 困人 waits for the desk's call-back; confirming it is one click and a method
        public_id, _ = _open_incident(live_app, s["other"], source="public", reason="public: trapped",
                                      verified=False)
        report = console.locator(f"#inc-{public_id}")
        expect(report.locator(".unverified")).to_have_text("未核实")
        expect(report).to_contain_text("扫码求助 · 被困")
        expect(report.locator("button").first).to_have_attribute("data-action", "verify")  # the main action first
        report.locator("button[data-action=verify]").click()
        expect(console.locator("#confirm-method-label")).to_be_visible()
        console.select_option("#confirm-method", "intercom")
        console.click("#confirm-ok")
        expect(report.locator(".unverified")).to_have_count(0, timeout=3000)
        report.locator("td").first.click()
        expect(console.locator("#history")).to_contain_text("已核实 · ", timeout=3000)
        expect(console.locator("#history")).to_contain_text("对讲确认")
        assert "awaiting_verification" not in console.locator("#history").inner_text()
        browser.close()
