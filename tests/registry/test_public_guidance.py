"""The public scan page puts what a passer-by must do first: the 96333 hotline and report before the facts,
guidance by status and family (请勿乘坐 for a lift, 请勿使用 otherwise, a cylinder past its design life), and
the facts a regulator requires (use certificate, inspection agency, last maintenance of a lift)."""
import datetime as dt

from equipment.core.actor import SYSTEM, acting_as
from equipment.inspections import jobs
from equipment.registry import service as registry


def _page(client, unit) -> str:
    return client.get(f"/q/{registry.active_tag(unit.id).tag}").get_data(as_text=True)


def test_overdue_lift_says_do_not_ride_and_puts_the_hotline_first(client, f, db):
    agency = f.org("inspection_agency", name="福建省特种设备检验研究院")
    unit = f.elevator(use_certificate_no="梯11闽A3622(16)")
    jobs.new_units()
    from equipment.inspections import service as inspections
    with acting_as(SYSTEM):
        inspections.assign_agency(actor=SYSTEM, equipment_id=unit.id, agency_org_id=agency.id)
    unit = registry.load_equipment(unit.id)
    unit.next_inspection_due = dt.date(2020, 1, 1)  # long past: the page shows overdue at once
    db.session.flush()
    html = _page(client, unit)
    assert 'id="guidance"' in html and "超期未检，请勿乘坐" in html
    assert html.index('id="emergency"') < html.index('id="public-status"')  # the emergency actions first
    assert 'href="tel:96333"' in html
    assert "梯11闽A3622(16)" in html and "福建省特种设备检验研究院" in html and "最近维保" in html
    assert client.get(f"/api/v1/public/{registry.active_tag(unit.id).tag}").get_json()[
        "use_certificate_no"] == "梯11闽A3622(16)"


def test_cylinder_past_design_life_says_so_and_never_speaks_of_riding(client, f, db):
    cylinder = f.cylinder(attributes={"gas_medium": "LPG", "gas_class": "lpg", "manufacture_date": "2010-05-01",
                                      "design_life_years": 8})
    jobs.new_units()
    html = _page(client, cylinder)
    assert "本气瓶已超过设计使用年限，禁止充装，请勿使用。" in html and "2018-05-01" in html
    assert "请勿乘坐" not in html and "最近维保" not in html


def test_in_service_unit_has_no_guidance_banner(client, f, db):
    unit = f.elevator()
    unit.next_inspection_due = dt.date.today() + dt.timedelta(days=200)
    db.session.flush()
    assert 'id="guidance"' not in _page(client, unit)


def test_void_tag_page_keeps_the_hotline_as_a_link(client, f, db):
    unit = f.elevator()
    tag = registry.active_tag(unit.id).tag
    with acting_as(SYSTEM):
        registry.void_tag(actor=SYSTEM, equipment_id=unit.id, reason="标签损坏")
    resp = client.get(f"/q/{tag}")
    assert resp.status_code == 410 and 'href="tel:96333"' in resp.get_data(as_text=True)
