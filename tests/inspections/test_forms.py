"""The inspection and maintenance forms follow the checklists (TSG data): no default conclusion, a pass needs
every item and a report number, a fail needs a defect; maintenance items per set, photos by content hash."""
import hashlib
import io
import re

from PIL import Image

from equipment.inspections import checklists, maintenance
from equipment.inspections.models import Inspection, MaintenanceRecord
from equipment.registry import service as registry
from tests.inspections.test_pages import _csrf, _login


def _inspections(db, unit):
    return db.session.query(Inspection).filter_by(equipment_id=unit.id).count()


def _all_items(unit, result="pass"):
    return {f"item_{i['key']}": result for i in checklists.inspection_items(unit.family, unit.category_code)}


def test_checklists_per_family_and_cumulative_item_sets():
    lift = [i["zh"] for i in checklists.inspection_items("elevator", "3110")]
    escalator = [i["zh"] for i in checklists.inspection_items("elevator", "3310")]
    assert "限速器-安全钳联动试验" in lift and "梳齿板与梳齿开关" in escalator and lift != escalator
    assert any("安全阀" in i["zh"] for i in checklists.inspection_items("pressure_vessel"))
    assert any("水压试验" in i["zh"] for i in checklists.inspection_items("gas_cylinder"))
    half = checklists.maintenance_items("3110", "half_monthly")
    quarterly = checklists.maintenance_items("3110", "quarterly")
    assert len(half) == 31 and quarterly[:31] == half and len(quarterly) > len(half)  # TSG T5002 §5
    assert {i["key"][0] for i in checklists.maintenance_items("3310", "annual")} == {"c"}  # escalator annex
    assert checklists.maintenance_items("3110", "weekly") == []
    keys = [i["key"] for family in ("elevator", "pressure_vessel", "gas_cylinder")
            for i in checklists.inspection_items(family)]
    assert len(keys) == len(set(keys))


def test_empty_inspection_form_records_nothing(client, f, db, today):
    unit = f.elevator()
    _login(client, f.user("regulator"))
    form = client.get(f"/inspect/{unit.id}").get_data(as_text=True)
    assert '<option value="">请选择</option>' in form and " selected" not in form  # no default conclusion
    assert "限速器-安全钳联动试验" in form and "t7001_" not in re.sub(r'(name|value|id)="[^"]*"', "", form)
    resp = client.post(f"/inspect/{unit.id}", data={"date": today.isoformat(), "csrf_token": _csrf(form)})
    assert resp.status_code == 422 and _inspections(db, unit) == 0
    status_before = registry.load_equipment(unit.id).status
    resp = client.post(f"/inspect/{unit.id}", data={"date": today.isoformat(), "conclusion": "pass",
                                                     "csrf_token": _csrf(form)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "尚有 22 项未填写（技术资料与使用登记、" in html
    assert "合格结论须填写报告编号" in html and html.count('class="check-item missing"') == 22
    assert _inspections(db, unit) == 0 and registry.load_equipment(unit.id).status == status_before


def test_pass_needs_every_item_and_report_no_then_lands_on_the_unit(client, f, db, today):
    unit = f.elevator()
    _login(client, f.user("regulator"))
    form = client.get(f"/inspect/{unit.id}").get_data(as_text=True)
    answers = _all_items(unit)
    answers.pop(next(iter(answers)))
    partial = client.post(f"/inspect/{unit.id}", data={"date": today.isoformat(), "conclusion": "pass",
                                                        "report_no": "R-1", **answers, "csrf_token": _csrf(form)})
    assert partial.status_code == 422 and _inspections(db, unit) == 0
    done = client.post(f"/inspect/{unit.id}", data={"date": today.isoformat(), "conclusion": "pass",
                                                     "report_no": "R-1", **_all_items(unit), "csrf_token": _csrf(form)})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/units/{unit.id}")
    assert _inspections(db, unit) == 1
    landed = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "检验结果已记录：合格" in landed


def test_fail_needs_a_defect_and_failed_items_become_defects(client, f, db, today):
    unit = f.elevator()
    _login(client, f.user("regulator"))
    form = client.get(f"/inspect/{unit.id}").get_data(as_text=True)
    bare = client.post(f"/inspect/{unit.id}", data={"date": today.isoformat(), "conclusion": "fail",
                                                     "csrf_token": _csrf(form)})
    assert bare.status_code == 422 and "不合格结论须至少记录一项问题" in bare.get_data(as_text=True)
    assert _inspections(db, unit) == 0
    resp = client.post(f"/inspect/{unit.id}", data={"date": today.isoformat(), "conclusion": "fail",
                                                     "item_t7001_15": "fail", "note_t7001_15": "3层层门锁啮合不足",
                                                     "deadline": today.isoformat(), "csrf_token": _csrf(form)})
    assert resp.status_code == 302
    from equipment.inspections.models import Defect
    defects = db.session.query(Defect).join(Inspection).filter(Inspection.equipment_id == unit.id).all()
    assert [(d.item, d.description) for d in defects] == [
        ("t7001_15", "层门与轿门门锁：3层层门锁啮合不足")]


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def _start(client, f):
    """A crew signed in, at its unit, with an open half-monthly record: the record's URL."""
    maint = f.org("maintenance_unit")
    crew = f.user("crew", maint)
    unit = f.elevator(maint_org=maint)
    _login(client, crew)
    tag = registry.active_tag(unit.id).tag
    client.get(f"/q/{tag}")
    page = client.get(f"/maintain/{unit.id}", headers={"Referer": f"https://tags.example.test/q/{tag}"})
    html = page.get_data(as_text=True)
    assert "（31 项）" in html  # item counts per set
    started = client.post(f"/maintain/{unit.id}", data={"tag": tag, "item_set": "half_monthly", "lat": "26.08",
                                                        "lon": "119.30", "csrf_token": _csrf(html)})
    assert started.status_code == 302
    return started.headers["Location"]


def test_maintenance_items_missing_are_flagged_and_photos_kept_by_hash(client, f, db):
    record_url = _start(client, f)
    page = client.get(record_url).get_data(as_text=True)
    assert 'capture="environment"' in page and 'enctype="multipart/form-data"' in page
    bad = client.post(record_url, data={"done": ["a1_01"], "csrf_token": _csrf(page),
                                        "photos": (io.BytesIO(b"MZ\x90\x00 not an image"), "photo.jpg")},
                      content_type="multipart/form-data")
    assert bad.status_code == 200 and "仅支持 JPEG/PNG 图片" in bad.get_data(as_text=True)
    rec_id = int(record_url.rsplit("/", 1)[1])
    assert db.session.get(MaintenanceRecord, rec_id).status == "open"  # nothing written
    photo = _jpeg()
    done = client.post(record_url, data={"done": ["a1_01", "a1_02"], "csrf_token": _csrf(page),
                                         "photos": (io.BytesIO(photo), "p.jpg")},
                       content_type="multipart/form-data")
    assert done.status_code == 302
    db.session.expire_all()
    rec = db.session.get(MaintenanceRecord, rec_id)
    digest = hashlib.sha256(photo).hexdigest()
    assert rec.photos == [digest] and "items_missing" in rec.flags and rec.flagged
    served = client.get(f"/maintain/record/{rec_id}/photo/{digest}")
    assert served.status_code == 200 and served.data == photo and served.mimetype == "image/jpeg"
    assert client.get(f"/maintain/record/{rec_id}/photo/{'0' * 64}").status_code == 404
    assert "项目未完成" in client.get(done.headers["Location"]).get_data(as_text=True)


def test_complete_items_are_not_flagged(client, f, db):
    record_url = _start(client, f)
    rec_id = int(record_url.rsplit("/", 1)[1])
    rec = db.session.get(MaintenanceRecord, rec_id)
    rec.items = [{"item": i["key"], "result": "pass"} for i in checklists.maintenance_items("3110", "half_monthly")]
    assert maintenance.missing_items(rec, "3110") == []
    rec.items = rec.items[1:]
    assert maintenance.missing_items(rec, "3110") == ["a1_01"]
    assert maintenance.missing_items(rec, "3310")[:1] == ["c1_01"]  # an escalator's set is another one


def test_filling_page_takes_what_a_scanner_reads_and_shows_the_cylinder(client, f, db):
    from equipment.inspections import filling
    assert filling.normalize_tag(" https://tags.example.test/q/AbC_12-x?src=label#top ") == "AbC_12-x"
    assert filling.normalize_tag("CYL00000001") == "CYL00000001"
    cylinder = f.cylinder()
    station = f.user("crew", f.org("user_unit"))
    _login(client, station)
    page = client.get("/filling").get_data(as_text=True)
    assert "<script>" not in page and "Gas" not in page
    url = f"https://tags.example.test/q/{registry.active_tag(cylinder.id).tag}?from=scanner"
    html = client.post("/filling", data={"tag": url, "csrf_token": _csrf(page)}).get_data(as_text=True)
    assert 'data-allow="no"' in html and "超期未检" in html and "禁止充装" in html
    assert 'id="cylinder-details"' in html and cylinder.cylinder_code in html and "LPG" in html
    api = client.post("/api/v1/filling/check", json={"tag": url}, headers=f.token(client, station)).get_json()
    assert api["reason"] == "inspection_overdue" and api["details"]["gas_medium"] == "LPG"
