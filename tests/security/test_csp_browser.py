"""CSP without 'unsafe-inline' scripts, in real headless Chromium: every page (API docs included) works with
no violation, and a script injected into a page does not run."""
import os
import tempfile

import pytest
from playwright.sync_api import sync_playwright

from tests.emergency.test_console_browser import _login
from tests.support.live import LiveServer, launch_chromium

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

SHOTS = os.environ.get("EQUIPMENT_SCREENSHOT_DIR", os.path.join(tempfile.gettempdir(), "shots-h6"))
ADMIN_PAGES = ["/", "/units", "/units?view=map", "/units/{unit}", "/q/{tag}", "/alarms", "/inspections",
               "/maintenance", "/obligations", "/terminals", "/incidents/stats", "/filling", "/api/v1/docs"]


@pytest.fixture()
def live_app(committed_url):
    from equipment.extensions import db
    from tests.conftest import make_app
    application = make_app(committed_url)
    yield application
    with application.app_context():
        db.engine.dispose()


def _seed(application) -> dict:
    from equipment.extensions import db
    from equipment.registry.tags import active_tag
    from tests.factories import Factory
    with application.app_context():
        f = Factory(db)
        maint = f.org("maintenance_unit", name="福州安达电梯维保")
        unit = f.elevator(maint_org=maint)
        users = {"admin": f.user("admin"), "dispatcher": f.user("dispatcher", f.org("emergency_centre")),
                 "crew": f.user("crew", maint)}
        db.session.commit()
        return {"unit": unit.id, "tag": active_tag(unit.id).tag, **{k: u.username for k, u in users.items()}}


def test_pages_and_api_docs_run_under_the_csp(live_app, backend):
    if backend != "postgresql":
        # The policy is one header for every store; the pages' data on SQLite is crawled in tests/workspace.
        pytest.skip("the CSP walk runs once, on PostgreSQL: the header and the templates do not depend on the store")
    world = _seed(live_app)
    os.makedirs(SHOTS, exist_ok=True)
    violations = []
    with LiveServer(live_app) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        for role, paths in (("admin", ADMIN_PAGES), ("dispatcher", ["/console"]), ("crew", ["/crew", "/maintain/{unit}"])):
            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            page.on("console", lambda msg: violations.append((page.url, msg.text))
                    if "Content Security Policy" in msg.text else None)
            _login(page, server.url, world[role])
            for path in paths:
                resp = page.goto(server.url + path.format(**world))
                assert resp.status == 200, (path, resp.status)
                assert "script-src 'self';" in resp.headers["content-security-policy"]
                page.wait_for_load_state("networkidle")
                name = path.strip("/").replace("/", "-").replace("?", "-").replace("{", "").replace("}", "") or "home"
                page.screenshot(path=os.path.join(SHOTS, f"{role}-{name}-phone-{backend}.png"))
            context.close()
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("console", lambda msg: violations.append((page.url, msg.text))
                if "Content Security Policy" in msg.text else None)
        page.goto(f"{server.url}/api/v1/docs")
        page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)  # the operations rendered
        assert page.locator(".swagger-ui .opblock").count() > 50
        page.screenshot(path=os.path.join(SHOTS, f"api-docs-desktop-{backend}.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=os.path.join(SHOTS, f"api-docs-phone-{backend}.png"))
        assert violations == [], violations
        # what the policy is for: a script that made it into the page does not run
        page.evaluate("""() => { const s = document.createElement('script');
                                 s.textContent = 'window.injected = 1'; document.body.appendChild(s); }""")
        page.wait_for_timeout(200)
        assert page.evaluate("() => window.injected") is None
        assert any("Content Security Policy" in text for _, text in violations)
        browser.close()


TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "equipment")


def _templates():
    for root, _, names in os.walk(TEMPLATES):
        for name in names:
            if name.endswith(".html"):
                yield os.path.join(root, name)


def test_no_template_has_inline_script_style_or_event_handlers():
    import re
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
    handler = re.compile(r"<[^>]+\s(?:on[a-z]+|style)\s*=|<style", re.I)
    found = [(path, m.group(0)) for path in _templates() for text in [open(path, encoding="utf-8").read()]
             for m in [*inline.finditer(text), *handler.finditer(text), *re.finditer("javascript:", text)]]
    assert found == [], found


@pytest.mark.parametrize("path", ["/api/v1/docs", "/login", "/q/nope", "/api/v1/openapi.json"])
def test_the_policy_allows_no_inline_script_anywhere(client, path):
    policy = client.get(path).headers["Content-Security-Policy"]
    script = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert script.split() == ["script-src", "'self'"]
    assert "style-src 'self';" in policy and "unsafe-inline" not in policy
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
