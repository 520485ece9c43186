"""Each role in real headless Chromium: log in, reach its work from the home page, complete one task.
Phone viewport for crew, inspector and the public; desktop for dispatcher, regulator and owner. Each role's
main page is written to $EQUIPMENT_SCREENSHOTS (a temp dir by default; tests/support/shots.py says how to
refresh the committed set in docs/screenshots/). One browser for the module, PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.factories import PASSWORD
from tests.support.live import LiveServer, launch_chromium
from tests.support.shots import shots_dir
from tests.workspace.world import build

pytestmark = pytest.mark.slow
SHOTS = shots_dir()
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}


@pytest.fixture(scope="module")
def site(pg_cluster):
    """A committed PostgreSQL database with the workspace city, served on a real port."""
    from equipment.extensions import db
    from tests.conftest import make_app
    from tests.factories import Factory
    application = make_app(pg_cluster.create_database(f"roles_{uuid.uuid4().hex[:8]}"))
    with application.app_context():
        world = build(Factory(db))
        db.session.commit()
        names = {role: user.username for role, user in world["users"].items()}
    with LiveServer(application) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield {"url": server.url, "world": world, "names": names, "browser": browser}
        browser.close()
    with application.app_context():
        db.engine.dispose()


def _page(site, role, size):
    context = site["browser"].new_context(**size, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.goto(site["url"] + "/login")
    page.fill("input[name=username]", site["names"][role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#home-title")).to_be_visible()
    return page


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def _menu(page) -> list[str]:
    return page.locator("#role-menu a").all_inner_texts()


def test_dispatcher_sees_open_incidents_and_acknowledges_an_alarm(site):
    page = _page(site, "dispatcher", DESKTOP)
    expect(page.locator("[data-work='/console']")).to_contain_text("福州市鼓楼区五四路100号")
    assert _menu(page)[:3] == ["工作台", "96333 调度台", "设备"]
    _shot(page, "dispatcher-home")
    page.click("#role-menu >> text=故障报警")
    row = page.locator(f"tr[data-alarm='{site['world']['alarm']}']")
    expect(row).to_contain_text("关门故障")
    row.locator("text=确认").click()
    expect(page.locator(f"tr[data-alarm='{site['world']['alarm']}'] [data-status]")).to_have_attribute(
        "data-status", "acknowledged")
    page.context.close()


def test_regulator_finds_an_overdue_unit_and_reads_its_history(site):
    page = _page(site, "regulator", DESKTOP)
    expect(page.locator("#overview")).to_be_visible()
    _shot(page, "regulator-home")
    page.click("#overview >> text=超期未检设备")
    expect(page).to_have_url(f"{site['url']}/units?overdue=true")
    expect(page.locator("#units-table")).to_contain_text("福州市台江区江滨大道8号")
    page.fill("input[name=q]", "江滨")
    page.click("#units-filters button[type=submit]")
    expect(page.locator("#units-table tbody tr")).to_have_count(1)
    _shot(page, "regulator-units")
    page.locator("#units-table tbody tr a").first.click()
    page.click("#dossier-tabs >> text=履历")
    expect(page.locator("#chain-ok")).to_be_visible()
    expect(page.locator("#history")).to_contain_text("检验")
    page.goto(site["url"] + "/units?view=map")
    expect(page.locator("#units-map .marker")).to_have_count(2)  # the two lifts with a position
    _shot(page, "regulator-map")
    page.context.close()


def test_owner_reissues_a_tag_from_the_dossier(site):
    page = _page(site, "owner", DESKTOP)
    expect(page.locator("[data-work='/units']")).to_contain_text("3")
    _shot(page, "owner-home")
    page.click("[data-work='/units'] a.button")
    page.locator(f"tr[data-unit='{site['world']['unit']}'] a").click()
    expect(page.locator("#dossier-head")).to_contain_text("曳引驱动乘客电梯")
    expect(page.locator("#tab-overview")).to_contain_text("额定载重量(kg)")
    _shot(page, "owner-dossier")
    page.click("#dossier-tabs >> text=标签")
    old = page.locator("#tag-panel code").inner_text()
    page.click("#reissue-tag")
    expect(page.locator("#tag-panel code")).not_to_have_text(old)
    page.click("#dossier-tabs >> text=履历")
    expect(page.locator("#history")).to_contain_text("发放标签")
    page.context.close()


def test_crew_sees_jobs_and_clears_an_alarm_on_a_phone(site):
    page = _page(site, "crew", PHONE)
    expect(page.locator("[data-work='/crew']")).to_be_visible()
    _shot(page, "crew-home")
    page.goto(f"{site['url']}/units/{site['world']['unit']}?tab=alarms")
    clear = page.locator("#tab-alarms button:has-text('消除')")
    if clear.count():  # the dispatcher test may have acknowledged it first; either way it is not cleared
        page.locator("#tab-alarms input[name=reason]").first.fill("门机已修复")
        clear.first.click()
    page.goto(f"{site['url']}/alarms?status=cleared")
    expect(page.locator(f"tr[data-alarm='{site['world']['alarm']}']")).to_be_visible()
    _shot(page, "crew-alarms")
    page.context.close()


def test_inspector_records_an_inspection_and_lands_on_the_dossier(site):
    page = _page(site, "inspector", PHONE)
    card = page.locator("[data-work='/obligations?kind=inspection&status=overdue']")
    expect(card).to_contain_text("福州市台江区江滨大道8号")
    _shot(page, "inspector-home")
    card.locator("tr", has_text="江滨").locator("a").first.click()  # the overdue unit's code links its dossier
    expect(page.locator("#record-inspection")).to_be_visible()
    page.click("#record-inspection")
    page.select_option("select[name=conclusion]", "pass")
    for answer in page.locator(".radio-row label.radio-pill:first-child").all():  # a pass answers every item
        answer.click()
    page.fill("input[name=report_no]", "FZTJ-2026-00042")
    page.click("#inspection-form button[type=submit]")
    expect(page).to_have_url(f"{site['url']}/units/{site['world']['second']}")  # not a 404 after recording
    page.click("#dossier-tabs >> text=检验与问题")
    expect(page.locator("#dossier-inspections")).to_contain_text("FZTJ-2026-00042")
    _shot(page, "inspector-dossier")
    page.context.close()


def test_public_home_and_scan_page_on_a_phone(site):
    context = site["browser"].new_context(**PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(site["url"] + "/")
    expect(page.locator("main")).to_contain_text("96333")
    assert page.locator("#role-menu").count() == 0
    page.goto(f"{site['url']}/q/{site['world']['second_tag']}")  # the owner test reissued the first's
    expect(page.locator("#public-status")).to_be_visible()
    _shot(page, "public-scan")
    context.close()
