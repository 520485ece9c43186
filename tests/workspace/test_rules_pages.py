"""/rules (issue: the rules pages): a regulator's and an admin's view of both rules tables in words, an edit form
per entry that goes through the API's service functions (same validation, version and audit), and each
table's history. Both stores via the `app` fixture."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from equipment.core.audit import AuditLog
from equipment.core.models import utcnow
from equipment.emergency import dispatch, service
from equipment.emergency.models import DispatchRuleSet
from equipment.inspections.models import RuleSet
from tests.emergency.helpers import UNIT_LAT, UNIT_LON, crew, world
from tests.workspace.test_crawl import _Page, untranslated

CSRF = "rules-test-token"


ORG_KIND = {"dispatcher": "emergency_centre", "inspector": "inspection_agency", "crew": "maintenance_unit",
            "owner": "user_unit"}


def _signed_in(client, f, role):
    user = f.user(role, f.org(ORG_KIND[role]) if role in ORG_KIND else None)
    f.session(client, user.id, csrf=CSRF)
    return user


def _post(client, path, **form):
    return client.post(path, data={"csrf_token": CSRF, **form}, headers={"Accept": "text/html"})


def _words(html: str, user) -> list[str]:
    page = _Page()
    page.feed(html)
    return untranslated(page.text, frozenset({user.username}))


def _count(db, model, entity):
    return (db.session.scalar(select(func.count()).select_from(model)),
            db.session.scalar(select(func.count()).where(AuditLog.entity == entity)))


def test_both_tables_in_words_for_regulator_and_admin(client, f):
    for role in ("regulator", "admin"):
        user = _signed_in(client, f, role)
        home = client.get("/").get_data(as_text=True)
        assert 'href="/rules"' in home and 'id="home-rules"' in home  # in the menu and on the home page
        resp = client.get("/rules")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200
        assert not _words(html, user), _words(html, user)
        for raw in ("level2_after_s", "level2_radius_m", "interval_months", "elevator.maintenance"):
            assert f">{raw}<" not in html and f"{raw}：" not in html
        assert "法定逐级派单" in html and "300 秒（5 分钟）" in html and "10000 米（10 公里）" in html
        assert "60–1800 秒（1–30 分钟）" in html and "电梯定期检验" in html and "12 个月" in html
        assert "系统初始化" in html and "出厂默认值" in html  # the migration's version 1, in words
        assert "equipment simulate rescue" in html and 'href="/incidents/stats"' in html
        assert ('action="/rules/inspection/elevator.inspection#' in html) == (role == "admin")
        for table in ("dispatch", "inspection"):
            page = client.get(f"/rules/history/{table}")
            assert page.status_code == 200 and not _words(page.get_data(as_text=True), user)


def test_a_valid_edit_is_the_api_version_and_the_next_dispatch_uses_it(client, f, db):
    maint, [(_, own)], unit = world(f)  # the contracted crew ~1.1 km away
    _, neighbour = crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.002, lon=UNIT_LON)
    regulator = _signed_in(client, f, "regulator")
    resp = _post(client, "/rules/dispatch/policy", policy="pool", slack="10", note="监管决定：就近派单")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/rules#rule-policy")
    assert "已保存：派单策略，现行第 1 版" in client.get("/rules").get_data(as_text=True)
    api = client.get("/api/v1/dispatch-rules", headers=f.token(client, regulator)).get_json()
    assert api["version"] == 1 and api["rules"]["policy"] == "pool"
    audit = db.session.scalars(select(AuditLog).where(AuditLog.entity == "dispatch_rule_sets")).all()
    assert [(a.action, a.actor_name) for a in audit] == [("insert", regulator.username)]
    incident, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=utcnow())
    assert incident.crew_id == neighbour.id and incident.level == 2  # pool: the nearest of any unit

    assert _post(client, "/rules/dispatch/policy", policy="eta", slack="10", note="比较后改为就近优先").status_code == 302
    assert _post(client, "/rules/dispatch/level2_after_s", value="120", note="缩短等待").status_code == 302
    policy = dispatch.current_policy()
    assert (policy.name, policy.slack_min, policy.level2_after_s) == ("eta", 10.0, 120.0)
    html = client.get("/rules").get_data(as_text=True)
    assert "现行第 3 版" in html and "120 秒（2 分钟）" in html and "缩短等待" in html
    history = client.get("/rules/history/dispatch").get_data(as_text=True)
    assert history.index('id="version-3"') < history.index('id="version-2"') < history.index('id="version-1"')
    assert "就近派单（不限单位）" in history and "就近优先（其他单位早到 10 分钟以上时）" in history
    assert "300 秒（5 分钟）</del> → <strong>120 秒（2 分钟）" in history


def test_an_admin_edits_an_inspection_rule_through_the_same_service(client, f, db):
    admin = _signed_in(client, f, "admin")
    before = _count(db, RuleSet, "inspection_rule_sets")
    form = {"interval_months": "6", "apply_before_months": "1", "young_self_testing/enabled": "true",
            "young_self_testing/max_age_years": "10", "young_self_testing/interval_months": "24"}
    resp = _post(client, "/rules/inspection/elevator.inspection", note="试点城市", **form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    api = client.get("/api/v1/inspection-rules", headers=f.token(client, admin)).get_json()
    assert api["rules"]["elevator.inspection"]["interval_months"] == 6
    assert api["rules"]["elevator.inspection"]["young_self_testing"]["enabled"] is True
    assert _count(db, RuleSet, "inspection_rule_sets") == (before[0] + 1, before[1] + 1)
    history = client.get("/rules/history/inspection").get_data(as_text=True)
    assert "电梯定期检验 · 检验周期：<del>12 个月</del> → <strong>6 个月</strong>" in history

    bad = _post(client, "/rules/inspection/reminders", note="改渠道", **{
        "offsets_days": "30, 七", "due_soon_days": "30", "channels": "email", "stale_claim_minutes": "60",
        "max_attempts": "5"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "到期前提醒时间：须为大于等于 0 的数" in html
    assert 'value="30, 七"' in html  # what was typed stays
    assert "从电子邮件、网络回调中选，至少一项" in html
    assert re.search(r'type="checkbox" name="channels" value="email"\s+checked>电子邮件', html)
    assert re.search(r'type="checkbox" name="channels" value="webhook"\s+>网络回调', html)
    none_ticked = _post(client, "/rules/inspection/reminders", note="停发提醒", **{
        "offsets_days": "30", "due_soon_days": "30", "channels": "", "stale_claim_minutes": "60", "max_attempts": "5"})
    assert none_ticked.status_code == 422 and "提醒渠道：须为非空列表" in none_ticked.get_data(as_text=True)
    assert _count(db, RuleSet, "inspection_rule_sets") == (before[0] + 1, before[1] + 1)


def test_invalid_edits_write_nothing_and_say_why_in_place(client, f, db):
    _signed_in(client, f, "regulator")
    cases = [("level2_after_s", {"value": "30"}, "须为 60 到 1800 之间的数"),
             ("parallel", {"value": "9"}, "须为 1 到 5 之间的数"),
             ("level2_radius_m", {"value": "很远"}, "须为 500 到 50000 之间的数"),
             ("policy", {"policy": "eta", "slack": "soon"}, "派单策略无效"),
             ("policy", {"policy": "fastest"}, "派单策略无效")]
    for key, form, says in cases:
        resp = _post(client, f"/rules/dispatch/{key}", note="测试", **form)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and says in html, (key, form, re.findall(r'role="alert">(.*?)</div>', html, re.S))
        section = html[html.index(f'id="rule-{key}"'):]
        assert section.index('role="alert"') < section.index("</article>")  # next to its own form
        typed = form.get("value") or form.get("slack")  # "fastest" is no choice of the form: a forged post
        assert typed is None or f'value="{typed}"' in section
    resp = _post(client, "/rules/dispatch/parallel", value="2", note="  ")
    assert resp.status_code == 422 and "请填写变更说明" in resp.get_data(as_text=True)
    resp = _post(client, "/rules/dispatch/parallel", value="2")
    assert resp.status_code == 422 and "请填写变更说明" in resp.get_data(as_text=True)
    assert _count(db, DispatchRuleSet, "dispatch_rule_sets") == (0, 0)


def test_other_roles_get_403_and_no_menu_entry_and_csrf_is_required(client, f, db):
    for role in ("dispatcher", "inspector", "crew", "owner"):
        _signed_in(client, f, role)
        assert 'href="/rules"' not in client.get("/").get_data(as_text=True)
        for path in ("/rules", "/rules/history/dispatch"):
            resp = client.get(path, headers={"Accept": "text/html"})
            assert resp.status_code == 403 and "<html" in resp.get_data(as_text=True), (role, path)
        assert _post(client, "/rules/dispatch/parallel", value="2", note="越权").status_code == 403
    regulator = _signed_in(client, f, "regulator")
    assert _post(client, "/rules/inspection/reminders", note="越权", due_soon_days="10").status_code == 403
    resp = client.post("/rules/dispatch/parallel", data={"value": "2", "note": "无令牌"},
                       headers={"Accept": "text/html"})
    assert resp.status_code == 403 and regulator
    resp = client.post("/rules/dispatch/parallel", data={"value": "2", "note": "错令牌", "csrf_token": "x" * 20},
                       headers={"Accept": "text/html"})
    assert resp.status_code == 403
    assert _count(db, DispatchRuleSet, "dispatch_rule_sets") == (0, 0)
    assert _count(db, RuleSet, "inspection_rule_sets")[0] == 1  # the migration's defaults only


def test_the_api_refuses_what_the_form_refuses(client, f, db):
    """The form adds no check of its own: a list of the wrong kind is refused by the service, for the API too."""
    admin = f.token(client, f.user("admin"))
    doc = client.get("/api/v1/inspection-rules", headers=admin).get_json()["rules"]["reminders"]
    for field, bad in (("offsets_days", ["30", 7]), ("offsets_days", []), ("offsets_days", 30),
                       ("channels", [1]), ("channels", [" "]), ("channels", ["sms"]), ("due_soon_days", True)):
        resp = client.put("/api/v1/inspection-rules/reminders", headers=admin,
                          json={"value": {**doc, field: bad}, "note": "坏值"})
        assert resp.status_code == 422 and set(resp.get_json()["error"]) == {"code", "message", "details"}, bad
    assert _count(db, RuleSet, "inspection_rule_sets")[0] == 1
    ok = client.put("/api/v1/inspection-rules/reminders", headers=admin,
                    json={"value": {**doc, "offsets_days": [14, 3]}, "note": "提前两周"})
    assert ok.status_code == 200 and ok.get_json()["rules"]["reminders"]["offsets_days"] == [14, 3]


def test_the_history_is_paged_newest_first(client, f):
    from equipment.core.actor import Actor
    regulator = _signed_in(client, f, "regulator")
    actor = Actor(regulator.id, regulator.username, "regulator", None)
    for n in range(21):
        service.set_dispatch_rule(actor=actor, key="parallel", value=str(n % 5 + 1), note=f"第 {n + 1} 次调整")
    first = client.get("/rules/history/dispatch").get_data(as_text=True)
    assert first.count('<tr id="version-') == 20 and first.index("version-21") < first.index("version-2\"")
    assert "version-1\"" not in first and 'href="?page=2"' in first and "共 21 条" in first
    second = client.get("/rules/history/dispatch?page=2").get_data(as_text=True)
    assert second.count('<tr id="version-') == 1 and "第 1 次调整" in second
    assert "1 支</del> → <strong>1 支" not in second  # version 1 set 1 -> 1: no change to list
