"""/rules in real headless Chromium at phone (390x844) and desktop size: open it, change a value through the
form, see the new version in force; the phone also shows a refusal next to its form. Screenshots go to
$EQUIPMENT_SCREENSHOTS (tests/support/shots.py). One server and browser for the module, PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.factories import PASSWORD
from tests.support.live import LiveServer, launch_chromium
from tests.support.shots import shots_dir
from tests.workspace.test_roles_browser import DESKTOP, PHONE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(pg_cluster):
    from equipment.extensions import db
    from tests.conftest import make_app
    from tests.factories import Factory
    application = make_app(pg_cluster.create_database(f"rules_{uuid.uuid4().hex[:8]}"))
    with application.app_context():
        f = Factory(db)
        names = {role: f.user(role).username for role in ("regulator", "admin")}
        db.session.commit()
    with LiveServer(application) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield {"url": server.url, "names": names, "browser": browser}
        browser.close()
    with application.app_context():
        db.engine.dispose()


def _open_rules(site, role, size):
    page = site["browser"].new_context(**size, locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
    page.goto(site["url"] + "/login")
    page.fill("input[name=username]", site["names"][role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("#role-menu >> text=规则设置")
    expect(page.locator("h1")).to_have_text("规则设置")
    return page


def _edit(page, key, value, note):
    rule = page.locator(f"#rule-{key}")
    if not rule.locator("details.rule-edit").get_attribute("open") == "":
        rule.locator("summary").click()
    rule.locator("input[name=value]").fill(value)
    rule.locator("textarea[name=note]").fill(note)
    rule.locator("button[type=submit]").click()
    return rule


def _fits(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], width  # nothing wider than the phone


def _shot(page, name):
    folder = shots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_change_a_rule_on_the_phone_and_the_desktop(site):
    page = _open_rules(site, "regulator", PHONE)
    expect(page.locator("#dispatch-version")).to_have_text("初始设置（未修改过）")
    rule = _edit(page, "parallel", "9", "增加并行派单")
    expect(rule.locator("[role=alert]")).to_contain_text("须为 1 到 5 之间的数")
    expect(rule.locator("input[name=value]")).to_have_value("9")  # what was typed stays
    _fits(page)
    _shot(page, "rules-phone-refused")
    rule = _edit(page, "parallel", "2", "监管决定：第二级同时派两支队伍")
    expect(page.locator(".flash")).to_contain_text("现行第 1 版")
    expect(page.locator("#dispatch-version")).to_have_text("现行第 1 版")
    expect(rule.locator(".rule-value")).to_have_text("2 支")
    expect(rule.locator(".last-change")).to_contain_text("监管决定：第二级同时派两支队伍")
    _fits(page)
    _shot(page, "rules-phone")
    page.context.close()

    page = _open_rules(site, "admin", DESKTOP)
    rule = _edit(page, "level2_after_s", "120", "缩短等待，参考仿真结果")
    expect(page.locator("#dispatch-version")).to_have_text("现行第 2 版")
    expect(rule.locator(".rule-value")).to_have_text("120 秒（2 分钟）")
    entry = page.locator("#rule-elevator-maintenance")
    entry.locator("summary").click()  # the admin's form for an inspection entry: one field per value, in words
    expect(entry.locator("label", has_text="维保项目 · 季度项目 · 周期")).to_be_visible()
    _shot(page, "rules-desktop")
    page.goto(site["url"] + "/rules/history/dispatch")
    expect(page.locator("#version-2")).to_contain_text("300 秒（5 分钟）")
    _shot(page, "rules-history-desktop")
    page.context.close()
