"""In a real Chromium, at phone and desktop size: a wrong login answers in Chinese; the account page refuses a
common password and changes a good one; the old session cookie is dead at once. EQUIPMENT_SHOTS=<dir> keeps
screenshots for review."""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.factories import PASSWORD
from tests.support.live import LiveServer, launch_chromium

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def _shot(page, name):
    if os.environ.get("EQUIPMENT_SHOTS"):
        page.screenshot(path=os.path.join(os.environ["EQUIPMENT_SHOTS"], f"{name}.png"), full_page=True)


def _seed(application) -> list[str]:
    from equipment.core.actor import SYSTEM, acting_as
    from equipment.extensions import db
    from tests.factories import Factory
    with application.app_context(), acting_as(SYSTEM):
        names = [Factory(db).user("owner", Factory(db).org()).username for _ in SIZES]
        db.session.commit()
        db.session.remove()
    return names


def _login(page, base, username, password):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("size", list(SIZES))
def test_login_errors_and_password_change_in_the_browser(committed_app, backend, size):
    # What the browser adds (forms, messages, cookies) does not depend on the store, and tests/auth covers both
    # stores without a browser: each size runs once, the phone on PostgreSQL and the desktop on SQLite.
    if (size == "phone") != (backend == "postgresql"):
        pytest.skip("each screen size runs on one store (phone: PostgreSQL, desktop: SQLite)")
    username = _seed(committed_app)[list(SIZES).index(size)]
    with LiveServer(committed_app) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport=SIZES[size], locale="zh-CN")
        page = context.new_page()
        _login(page, server.url, username, "wrong-password-1")
        expect(page.locator("p.error")).to_contain_text("用户名或密码错误")
        _shot(page, f"login-error-{size}")
        _login(page, server.url, username, PASSWORD)
        old_cookies = context.cookies()
        page.goto(f"{server.url}/account/password")
        page.fill("input[name=current_password]", PASSWORD)
        page.fill("input[name=new_password]", "password123")
        page.click("button[type=submit]")
        expect(page.locator("p.error")).to_contain_text("常见密码")
        _shot(page, f"password-weak-{size}")
        page.fill("input[name=current_password]", PASSWORD)
        page.fill("input[name=new_password]", "a-fresh-passphrase-2026")
        page.click("button[type=submit]")
        expect(page.locator("p.notice")).to_contain_text("密码已修改")
        _shot(page, f"password-changed-{size}")

        thief = browser.new_context()
        thief.add_cookies(old_cookies)
        assert thief.request.get(f"{server.url}/api/v1/auth/me").status == 401
        _login(page, server.url, username, "a-fresh-passphrase-2026")
        assert page.request.get(f"{server.url}/api/v1/auth/me").status == 200
        browser.close()
