"""The public scan page in real headless Chromium: a phone-sized screenshot shows the unit's status."""
import os
import tempfile

import pytest
from playwright.sync_api import sync_playwright

from tests.support.live import LiveServer, launch_chromium

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

SHOTS = os.environ.get("EQUIPMENT_SCREENSHOT_DIR", tempfile.gettempdir())


@pytest.fixture()
def live_app(app, backend, request):
    from tests.conftest import make_app
    if backend == "postgresql":
        url = request.getfixturevalue("pg_cluster").create_database(f"public_{os.getpid()}_{id(request)}")
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/public.db"
    application = make_app(url)
    yield application
    from equipment.extensions import db
    with application.app_context():
        db.engine.dispose()


def _seed(application):
    from tests.factories import Factory
    from equipment.extensions import db
    from equipment.registry.tags import active_tag
    with application.app_context():
        f = Factory(db)
        unit = f.elevator(maint_org=f.org("maintenance_unit", name="福州安达电梯维保", phone="0591-88880001"))
        db.session.commit()
        return unit.rescue_code, active_tag(unit.id).tag


def test_public_scan_page_shows_status(live_app, backend):
    rescue_code, tag = _seed(live_app)
    with LiveServer(live_app) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        resp = page.goto(f"{server.url}/q/{tag}")
        assert resp.status == 200
        badge = page.locator("#public-status .badge")
        assert badge.get_attribute("data-status") == "in_service"
        assert badge.inner_text() == "在用"
        assert rescue_code in page.locator("#public-status").inner_text()
        assert "福州安达电梯维保" in page.content()
        shot = os.path.join(SHOTS, f"public-page-{backend}.png")
        page.screenshot(path=shot, full_page=True)
        assert os.path.getsize(shot) > 10_000
        page.goto(f"{server.url}/q/{tag}?lang=en")
        assert page.locator("#public-status .badge").inner_text() == "In service"
        void = page.goto(f"{server.url}/q/{'A' * 21}A")
        assert void.status == 404
        browser.close()
