"""QR images and label sheets served by the API decode (real decoder) to the unit's public page."""
import io

import pypdfium2
import zxingcpp
from PIL import Image

from equipment.registry.tags import active_tag


def test_qr_png_decodes_to_public_page_that_resolves(client, f, db):
    unit = f.elevator()
    h = f.token(client, f.user("admin"))
    png = client.get(f"/api/v1/equipment/{unit.id}/qr.png", headers=h)
    assert png.status_code == 200 and png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert len(decoded) == 1
    url = decoded[0].text
    assert url == f"https://tags.example.test/q/{active_tag(unit.id).tag}"
    page = client.get(url.replace("https://tags.example.test", ""), headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert unit.rescue_code in page.get_data(as_text=True)


def test_label_sheet_decodes_to_the_selected_tags(client, f, db):
    units = [f.elevator() for _ in range(4)]
    h = f.token(client, f.user("admin"))
    ids = ",".join(str(u.id) for u in units)
    resp = client.get(f"/api/v1/equipment/labels.pdf?ids={ids}&start_offset=2&columns=2&rows=4"
                      "&label_w_mm=90&label_h_mm=60", headers=h)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pdf = pypdfium2.PdfDocument(resp.data)
    found = set()
    for page in pdf:
        found |= {r.text for r in zxingcpp.read_barcodes(page.render(scale=200 / 72).to_pil())}
    assert found == {f"https://tags.example.test/q/{active_tag(u.id).tag}" for u in units}


def test_label_sheet_refuses_units_of_other_organisations(client, f, db):
    m1 = f.org("maintenance_unit")
    mine, theirs = f.elevator(maint_org=m1), f.elevator()
    h = f.token(client, f.user("crew", org=m1))
    resp = client.get(f"/api/v1/equipment/labels.pdf?ids={mine.id},{theirs.id}", headers=h)
    assert resp.status_code == 404


def test_bad_label_geometry_is_a_clear_error(client, f, db):
    unit = f.elevator()
    h = f.token(client, f.user("admin"))
    resp = client.get(f"/api/v1/equipment/labels.pdf?ids={unit.id}&columns=5&label_w_mm=70", headers=h)
    assert resp.status_code == 422
    assert "columns" in str(resp.get_json()["error"]).lower() or "width" in str(resp.get_json()["error"]).lower()
