"""Headless Chromium, one scan page per family (lift, escalator, cylinder, vessel): the actions offered, a
report sent from the page, the confirmation with its tracking number, and where the report went."""
from __future__ import annotations

import os
import re
import tempfile

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from equipment.core.actor import SYSTEM, acting_as
from tests.registry.test_public_page_browser import live_app  # noqa: F401  (the fixture)
from tests.support.live import LiveServer, launch_chromium

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

SHOTS = os.environ.get("EQUIPMENT_SCREENSHOT_DIR", tempfile.gettempdir())
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def _seed(application) -> dict:
    from tests.emergency.helpers import world
    from tests.emergency.test_public_reports import escalator, vessel
    from tests.factories import Factory
    from equipment.extensions import db
    from equipment.registry.tags import active_tag
    with application.app_context(), acting_as(SYSTEM):
        f = Factory(db)
        maint, _, lift = world(f)
        owner = f.org("user_unit", name="福州燃气有限公司")
        units = {"lift": lift, "escalator": escalator(f, maint), "cylinder": f.cylinder(user_org=owner),
                 "vessel": vessel(f, owner=owner)}
        db.session.commit()
        return {family: (u.id, active_tag(u.id).tag) for family, u in units.items()} | {
            "maint": maint.id, "owner": owner.id}


# family -> (buttons shown, buttons absent, how to send a report from the page)
EXPECT = {
    "lift": ({"report-trapped", "report-fault"}, {"report-problem"}, "trapped"),
    "escalator": ({"report-trapped", "report-fault"}, {"report-problem"}, "fault"),
    "cylinder": ({"report-problem"}, {"report-trapped", "report-fault"}, "leak"),
    "vessel": ({"report-problem"}, {"report-trapped", "report-fault"}, "damage"),
}


def _send(page, how: str) -> None:
    if how == "trapped":
        page.click("#report-trapped")
    elif how == "fault":
        page.click("#fault-box summary")
        page.fill("#fault-box textarea[name=description]", "扶梯异响")
        page.click("#report-fault")
    else:
        page.check(f"input[name=problem][value={how}]")
        page.fill("input[name=caller_phone]", "13700001234")
        page.click("#report-problem")


def _report(application, tracking: str):
    from equipment.emergency.models import Incident, PublicReport
    from equipment.extensions import db
    with application.app_context():
        report = db.session.scalar(select(PublicReport).where(PublicReport.tracking_no == tracking))
        incident = db.session.get(Incident, report.incident_id) if report.incident_id else None
        return ({"kind": report.kind, "route_org_id": report.route_org_id, "problem": report.problem},
                incident and {"verified": incident.verified, "source": incident.source, "kind": incident.kind})


def test_scan_page_per_family(live_app, backend):
    seeded = _seed(live_app)
    with LiveServer(live_app) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        for family, (shown, absent, how) in EXPECT.items():
            _, tag = seeded[family]
            for size, viewport in SIZES.items():
                page = browser.new_page(viewport=viewport)
                assert page.goto(f"{server.url}/q/{tag}").status == 200
                assert page.locator("#public-report").get_attribute("data-family") == family
                for button in shown:
                    assert page.locator(f"#{button}").count() == 1, (family, button)
                for button in absent:
                    assert page.locator(f"#{button}").count() == 0, (family, button)
                assert "96333" in page.locator("a.hotline").first.get_attribute("href")
                assert not re.search(r"[A-Za-z]{4,}", page.locator("#public-report").inner_text()), family
                page.screenshot(path=os.path.join(SHOTS, f"scan-{family}-{size}-{backend}.png"), full_page=True)
                if size == "phone":
                    _send(page, how)
                    done = page.locator("#public-reported")
                    tracking = done.get_attribute("data-tracking")
                    assert re.fullmatch(r"R\d{8}-[A-Z2-9]{6}", tracking)
                    assert page.locator("#tracking-no").inner_text() == tracking
                    assert page.locator("a.hotline").get_attribute("href") == "tel:96333"
                    page.screenshot(path=os.path.join(SHOTS, f"reported-{family}-{backend}.png"), full_page=True)
                    report, incident = _report(live_app, tracking)
                    if family == "lift":  # 困人: an unverified rescue
                        assert report["kind"] == "trapped"
                        assert incident == {"verified": False, "source": "public", "kind": "rescue"}
                    elif family == "escalator":  # 故障: a notice to the maintenance unit, no rescue
                        assert report == {"kind": "fault", "route_org_id": seeded["maint"], "problem": None}
                        assert incident == {"verified": True, "source": "public", "kind": "fault"}
                    else:  # a problem: to the user unit, never a rescue
                        assert report == {"kind": "problem", "route_org_id": seeded["owner"], "problem": how}
                        assert incident is None
                page.close()
        browser.close()
