"""CSV import: all or nothing, a report naming every bad row; generated bad rows and bodies write nothing."""
import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import credit_code, device_code

HEADER = ["category", "device_code", "registration_code", "rescue_code", "cylinder_code", "address",
          "lat", "lon", "user_org_code", "maintenance_org_code", "attr.rated_load_kg", "attr.floors"]


def _csv(rows) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=HEADER)
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode("utf-8")


def _good(i, org, maint):
    return {"category": "3110", "device_code": device_code(50000 + i), "rescue_code": f"{60000 + i}",
            "address": f"福州市台江区{i}号", "lat": "26.05", "lon": "119.31", "user_org_code": org.code,
            "maintenance_org_code": maint.code, "attr.rated_load_kg": "800", "attr.floors": "12"}


def _count(db):
    from equipment.registry.models import Equipment
    return db.session.query(Equipment).count()


def _upload(client, h, data, name="units.csv"):
    return client.post("/api/v1/equipment/import", headers=h,
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_good_file_imports_with_history_and_tags(client, f, db):
    org, maint = f.org(), f.org("maintenance_unit")
    h = f.token(client, f.user("regulator"))
    before = _count(db)
    resp = _upload(client, h, _csv([_good(i, org, maint) for i in range(5)]))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["imported"] == 5 and _count(db) == before + 5
    from equipment.registry.models import Equipment, QrTag
    unit = db.session.query(Equipment).filter_by(rescue_code="60003").one()
    assert unit.history_count == 2 and db.session.query(QrTag).filter_by(equipment_id=unit.id).count() == 1


def test_bad_rows_are_all_reported_and_nothing_is_written(client, f, db):
    org, maint = f.org(), f.org("maintenance_unit")
    h = f.token(client, f.user("regulator"))
    rows = [_good(i, org, maint) for i in range(4)]
    rows[1]["device_code"] = "31103100120190000X"  # letter in the serial
    rows[2]["user_org_code"] = credit_code(999998)  # unknown organisation
    rows[3]["rescue_code"] = rows[0]["rescue_code"]  # duplicate inside the file
    before = _count(db)
    resp = _upload(client, h, _csv(rows))
    assert resp.status_code == 422
    report = resp.get_json()
    assert [e["row"] for e in report["errors"]] == [3, 4, 5]
    assert "device_code" in report["errors"][0]["errors"]
    assert "user_org_code" in report["errors"][1]["errors"]
    assert "duplicate of row 2" in report["errors"][2]["errors"]["rescue_code"][0]
    assert _count(db) == before


def test_export_reimports_as_duplicates(client, f, db):
    f.elevator()
    h = f.token(client, f.user("regulator"))
    exported = client.get("/api/v1/equipment/export.csv", headers=h).data
    resp = _upload(client, h, exported, "export.csv")
    assert resp.status_code == 422
    assert all("already registered" in str(e["errors"]) for e in resp.get_json()["errors"])


cell = st.one_of(st.text(max_size=30), st.sampled_from(["", "3110", "2300", "abc", "-1", "1e309", "NaN"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries({k: cell for k in HEADER}), min_size=1, max_size=4))
def test_generated_rows_never_crash_or_write(client, f, db, rows):
    h = _admin_headers(client, f)
    before = _count(db)
    resp = _upload(client, h, _csv(rows))
    assert resp.status_code in (200, 422), resp.data[:300]
    if resp.status_code == 422:
        assert _count(db) == before
        report = resp.get_json()
        assert report["errors"] and all(e["errors"] for e in report["errors"])


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3),
                           max_leaves=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["category", "device_code", "address", "location", "user_org_id",
                                             "attributes", "rescue_code", "status", "components", "junk"]),
                            json_values, max_size=8))
def test_generated_bad_bodies_get_4xx_envelope_and_write_nothing(client, f, db, body):
    h = _admin_headers(client, f)
    before = _count(db)
    resp = client.post("/api/v1/equipment", headers=h, json=body)
    assert 400 <= resp.status_code < 500, (body, resp.data[:300])
    err = resp.get_json()["error"]
    assert err["code"] and err["message"]
    assert _count(db) == before


_HEADERS = {}


def _admin_headers(client, f):
    # Hypothesis reruns the body under one fixture instance: log in once per test instance.
    key = id(client)
    if key not in _HEADERS:
        _HEADERS.clear()
        _HEADERS[key] = f.token(client, f.user("admin"))
    return _HEADERS[key]


def test_xlsx_import(client, f, db):
    import openpyxl
    org, maint = f.org(), f.org("maintenance_unit")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for i in range(3):
        row = _good(100 + i, org, maint)
        ws.append([row.get(k, "") for k in HEADER])
    buf = io.BytesIO()
    wb.save(buf)
    h = f.token(client, f.user("regulator"))
    before = _count(db)
    resp = _upload(client, h, buf.getvalue(), "units.xlsx")
    assert resp.status_code == 200, resp.get_json()
    assert _count(db) == before + 3


def test_cli_import_reports_rows_and_exits_1(app, f, db, tmp_path):
    org, maint = f.org(), f.org("maintenance_unit")
    rows = [_good(200, org, maint), {**_good(201, org, maint), "lat": "999"}]
    path = tmp_path / "units.csv"
    path.write_bytes(_csv(rows))
    before = _count(db)
    result = app.test_cli_runner().invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1
    assert "row 3: location" in result.output
    assert _count(db) == before
    rows[1]["lat"] = "26.1"
    path.write_bytes(_csv(rows))
    result = app.test_cli_runner().invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert _count(db) == before + 2
