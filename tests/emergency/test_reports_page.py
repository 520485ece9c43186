"""/reports, the list of scan-page reports: who sees which, in words, filtered; the desk turns one into a rescue."""
from __future__ import annotations

import re

from equipment.emergency import public
from equipment.emergency.models import Incident, PublicReport
from tests.emergency.helpers import crew, dispatcher, world
from tests.emergency.test_public_reports import tag_of
from tests.workspace.test_crawl import _login
from tests.workspace.test_lists import _csrf

RAW = re.compile(r"\b(trapped|fault|problem|received|rescue|None|True|False)\b")


def _text(html: str) -> str:
    """What a reader sees: the main content without tags and attributes."""
    main = html[html.index("<main"):] if "<main" in html else html
    return re.sub(r"<[^>]+>", " ", main)


def test_the_desk_lists_reports_in_words_and_turns_a_fault_into_a_rescue(client, f, db):
    maint, _, lift = world(f)
    other_lift = world(f)[2]
    fault = public.submit(tag=tag_of(lift), kind="fault", description="按钮失灵", reply_phone="13900002222")
    trapped = public.submit(tag=tag_of(other_lift), kind="trapped")
    desk = dispatcher(f)
    _login(client, desk.id)
    html = client.get("/reports").get_data(as_text=True)
    assert fault.tracking_no in html and trapped.tracking_no in html
    seen = _text(html)
    assert "故障报告" in seen and "已通知维保单位" in seen and "待核实" in seen and "13900002222" in seen
    assert not RAW.search(seen), RAW.search(seen)
    only = client.get("/reports?kind=fault").get_data(as_text=True)
    assert fault.tracking_no in only and trapped.tracking_no not in only
    assert client.get("/reports?kind=flood").status_code == 422

    token = _csrf(client)
    _login(client, desk.id)
    assert client.post(f"/reports/{fault.id}/rescue", data={}).status_code == 403  # no CSRF token
    resp = client.post(f"/reports/{fault.id}/rescue", data={"csrf_token": token})
    assert resp.status_code == 302 and re.fullmatch(r"/console#inc-\d+", resp.headers["Location"])
    report = db.session.get(PublicReport, fault.id)
    rescue = db.session.get(Incident, report.incident_id)
    assert report.status == "rescue" and rescue.kind == "rescue" and rescue.verified
    assert resp.headers["Location"].endswith(f"#inc-{rescue.id}")


def test_a_crew_sees_its_company_faults_only_and_an_inspector_none(client, f):
    maint, [(own_user, _)], lift = world(f)
    stranger_user, _ = crew(f, f.org("maintenance_unit"), lat=26.0805, lon=119.30)
    fault = public.submit(tag=tag_of(lift), kind="fault", reply_phone="13900003333")
    _login(client, own_user.id)
    html = client.get("/reports").get_data(as_text=True)
    assert fault.tracking_no in html and "13900003333" in html  # the company must reply
    assert "转为救援" not in html  # only the desk starts a rescue
    _login(client, stranger_user.id)
    assert fault.tracking_no not in client.get("/reports").get_data(as_text=True)
    _login(client, f.user("inspector", f.org("inspection_agency")).id)
    assert client.get("/reports").status_code == 403
