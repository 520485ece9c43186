"""The lists behind the pages: filters, scope, paging, bad input, exports, alarm actions, label printing."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.workspace.test_crawl import _login
from tests.workspace.world import build


def _csrf(client) -> str:
    import re
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _rows(html: str) -> int:
    return html.count("<tr data-unit=")


def test_units_filters_scope_and_the_empty_form(client, f):
    w = build(f)
    f.elevator(address="福州市晋安区其他单位1号")  # another organisation's unit
    _login(client, w["users"]["owner"].id)
    assert _rows(client.get("/units").get_data(as_text=True)) == 3  # its own three, not the other one
    empty_form = "q=&category=&status=&district=&maintenance_org_id=&overdue=&has_terminal=&online=&sort=id&view=table"
    assert _rows(client.get(f"/units?{empty_form}").get_data(as_text=True)) == 3
    cases = {"q=江滨": 1, "q=五四路100": 1, "category=2300": 1, "district=350103": 1, "district=3501": 3,
             "has_terminal=true": 1, "has_terminal=false": 2, "overdue=true": None, "sort=next_due": 3,
             f"maintenance_org_id={w['orgs']['crew'].id}": 2, "q=%25": 0, "q=_": 0, "district=35": 3, "category=elevator": 2}
    for query, expected in cases.items():
        resp = client.get(f"/units?{query}")
        assert resp.status_code == 200, query
        if expected is not None:
            assert _rows(resp.get_data(as_text=True)) == expected, query
    from equipment.registry import service as registry
    unit = registry.load_equipment(w["unit"])
    for code in (unit.rescue_code, unit.device_code, unit.device_code.lower()):  # any code, exactly
        assert _rows(client.get(f"/units?q={code}").get_data(as_text=True)) == 1, code
    html = client.get("/units?overdue=true").get_data(as_text=True)
    assert f'data-unit="{w["second"]}"' in html and f'data-unit="{w["unit"]}"' not in html
    _login(client, w["users"]["regulator"].id)
    assert _rows(client.get("/units").get_data(as_text=True)) == 4


def test_bad_list_input_is_a_422_envelope(client, f):
    w = build(f)
    _login(client, w["users"]["regulator"].id)
    for query in ("page=0", "per_page=1000", "status=bogus", "sort=drop", "district=35ab", "district=350", "overdue=maybe",
                  "maintenance_org_id=-1", "q=" + "x" * 101):
        resp = client.get(f"/units?{query}", headers={"Accept": "application/json"})
        assert resp.status_code == 422, query
        assert set(resp.get_json()["error"]) == {"code", "message", "details"}
    assert client.get("/alarms?status=nope").status_code == 422
    assert client.get(f"/units/{w['unit']}?tab=secrets").status_code == 422
    assert client.get("/units").status_code == 200


def test_exports_follow_the_filter_and_escape_formulas(client, f):
    w = build(f)
    f.elevator(user_org=w["orgs"]["owner"], address="=HYPERLINK(\"http://evil\")路1号", district_code="350102")
    _login(client, w["users"]["owner"].id)
    resp = client.get("/units/export?format=csv&district=350102")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert rows[0][:2] == ["ID", "设备类别"] and len(rows) == 3
    assert any(r[6].startswith("'=HYPERLINK") for r in rows[1:])
    assert any(r[7] == "福州市鼓楼区" for r in rows[1:])
    xlsx = client.get("/units/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row == 5 and sheet.cell(1, 9).value == "状态"


def test_alarm_ack_and_clear_from_the_list(client, f):
    w = build(f)
    _login(client, w["users"]["crew"].id)
    token = _csrf(client)
    _login(client, w["users"]["crew"].id)
    assert client.post(f"/alarms/{w['alarm']}/ack", data={}).status_code == 403  # no CSRF token
    resp = client.post(f"/alarms/{w['alarm']}/ack", data={"csrf_token": token, "back": "//evil.example/"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/alarms"
    assert client.post(f"/alarms/{w['alarm']}/ack", data={"csrf_token": token}).status_code == 409
    assert client.post(f"/alarms/{w['alarm']}/clear", data={"csrf_token": token}).status_code == 422  # no reason
    assert client.post(f"/alarms/{w['alarm']}/clear", data={"csrf_token": token, "reason": "门机已修复"}).status_code == 302
    assert 'data-status="cleared"' in client.get("/alarms?status=cleared").get_data(as_text=True)
    _login(client, w["users"]["inspector"].id)
    assert client.post(f"/alarms/{w['alarm']}/clear", data={"csrf_token": token, "reason": "x"}).status_code == 404


def test_labels_of_a_selection_and_the_dossier_tag_actions(client, f):
    w = build(f)
    _login(client, w["users"]["owner"].id)
    token = _csrf(client)
    _login(client, w["users"]["owner"].id)
    pdf = client.post("/units/labels", data={"csrf_token": token, "ids": [w["unit"], w["second"]]})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.post("/units/labels", data={"csrf_token": token}).status_code == 422
    old = w["tag"]
    assert client.post(f"/units/{w['unit']}/tag/reissue", data={"csrf_token": token}).status_code == 302
    page = client.get(f"/units/{w['unit']}?tab=tag").get_data(as_text=True)
    assert old not in page and 'id="revoke-form"' in page
    assert client.post(f"/units/{w['unit']}/tag/revoke", data={"csrf_token": token, "reason": ""}).status_code == 422
    assert client.post(f"/units/{w['unit']}/tag/revoke", data={"csrf_token": token, "reason": "标签破损"}).status_code == 302
    assert "没有有效标签" in client.get(f"/units/{w['unit']}?tab=tag").get_data(as_text=True)
    history = client.get(f"/units/{w['unit']}?tab=history").get_data(as_text=True)
    assert "作废标签" in history and "发放标签" in history and 'id="chain-ok"' in history


def test_the_inspector_linked_by_agency_opens_the_dossier(client, f):
    w = build(f)
    stranger = f.elevator(address="福州市马尾区无关路1号")
    _login(client, w["users"]["inspector"].id)
    page = client.get(f"/units/{w['second']}")
    assert page.status_code == 200 and 'id="record-inspection"' in page.get_data(as_text=True)
    assert client.get(f"/units/{w['second']}?tab=inspections").status_code == 200
    assert client.get(f"/units/{stranger.id}").status_code == 404
    assert _rows(client.get("/units").get_data(as_text=True)) == 2  # the agency's two lifts


def test_the_agency_inspector_sees_every_tab_an_unlinked_one_gets_404(client, f):
    """The tabs read other domains' lists (scoped by organisation): the agency links widen each one."""
    w = build(f)
    _login(client, w["users"]["inspector"].id)
    tab = {name: client.get(f"/units/{w['unit']}?tab={name}") for name in ("maintenance", "alarms", "incidents")}
    assert all(resp.status_code == 200 for resp in tab.values())
    assert "半月" in tab["maintenance"].get_data(as_text=True)  # the crew's half-monthly record
    from equipment.telemetry.codes import CODES
    assert CODES["02"].zh in tab["alarms"].get_data(as_text=True)  # the unit's alarm, its code in words
    assert 'data-label="#">#' + str(w["incident"]) in tab["incidents"].get_data(as_text=True)
    for resp in tab.values():
        assert "没有符合条件的记录" not in resp.get_data(as_text=True)
    other = f.user("inspector", f.org("inspection_agency", name="另一家检验机构"))
    _login(client, other.id)
    for name in ("overview", "maintenance", "alarms", "incidents"):
        assert client.get(f"/units/{w['unit']}?tab={name}").status_code == 404, name


def test_units_show_the_effective_status_before_the_nightly_refresh(client, f, db):
    """Stored in_service, due yesterday: /units, its filter, its map and its export say 超期未检, as the dossier."""
    import datetime as dt
    import re
    from equipment.registry.models import Equipment
    w = build(f)
    late = f.elevator(address="福州市鼓楼区过期路1号")
    row = db.session.get(Equipment, late.id)
    row.status, row.next_inspection_due = "in_service", dt.date.today() - dt.timedelta(days=2)
    db.session.commit()
    _login(client, w["users"]["regulator"].id)
    html = client.get(f"/units?q={row.rescue_code}").get_data(as_text=True)
    cell = re.search(r'data-label="状态"><span class="status (\w+)" data-status="(\w+)">([^<]+)<', html)
    assert cell.groups() == ("overdue", "overdue", "超期未检")
    assert f'data-unit="{late.id}"' in client.get("/units?status=overdue").get_data(as_text=True)
    assert f'data-unit="{late.id}"' not in client.get("/units?status=in_service").get_data(as_text=True)
    points = {p["id"]: p for p in client.get("/units/map.json").get_json()["items"]}
    assert points[late.id]["status"] == "overdue" and points[late.id]["level"] == "超期未检"
    dossier = client.get(f"/units/{late.id}").get_data(as_text=True)
    assert 'data-status="overdue"' in dossier


def test_dossier_speaks_chinese_and_shows_times_in_shanghai(client, f, db):
    import datetime as dt
    from equipment.registry.models import HistoryEvent
    w = build(f)
    _login(client, w["users"]["regulator"].id)
    page = client.get(f"/units/{w['unit']}").get_data(as_text=True)
    assert "额定载重量(kg)" in page and "rated_load_kg" not in page and "福州市鼓楼区" in page
    first = db.session.query(HistoryEvent).filter_by(equipment_id=w["unit"], seq=1).one()
    shanghai = (first.at + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    history = client.get(f"/units/{w['unit']}?tab=history").get_data(as_text=True)
    assert shanghai in history and "登记" in history
    assert not any(f".{first.at.microsecond:06d}" in line for line in history.splitlines() if first.at.microsecond)
    en = client.get(f"/units/{w['unit']}?lang=en").get_data(as_text=True)
    assert "Rated load (kg)" in en


def test_error_pages_speak_chinese_and_offer_a_way_on(client, f):
    w = build(f)
    anonymous = client.get("/units", headers={"Accept": "text/html"})
    assert anonymous.status_code == 401 and "请先登录" in anonymous.get_data(as_text=True)
    assert 'href="/login?next=' in anonymous.get_data(as_text=True)
    _login(client, w["users"]["owner"].id)
    missing = client.get("/units/987654", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "未找到" in missing and 'data-status="404"' in missing
