"""The same /q/<tag> URL: the public sees the public view; a logged-in crew member or inspector sees actions."""
import re

from equipment.registry.tags import active_tag
from tests.factories import PASSWORD


def _login(client, user):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302


def test_crew_of_the_unit_sees_maintenance_action(client, f):
    maint = f.org("maintenance_unit")
    unit = f.elevator(maint_org=maint)
    tag = active_tag(unit.id).tag
    public = client.get(f"/q/{tag}").get_data(as_text=True)
    assert 'id="your-actions"' not in public
    _login(client, f.user("crew", org=maint))
    page = client.get(f"/q/{tag}").get_data(as_text=True)
    assert 'id="your-actions"' in page and f'href="/maintain/{unit.id}"' in page
    assert f'href="/inspect/{unit.id}"' not in page


def test_crew_of_another_unit_sees_no_actions(client, f):
    unit = f.elevator(maint_org=f.org("maintenance_unit"))
    _login(client, f.user("crew", org=f.org("maintenance_unit")))
    page = client.get(f"/q/{active_tag(unit.id).tag}").get_data(as_text=True)
    assert 'id="your-actions"' not in page and "/maintain/" not in page


def test_regulator_sees_inspection_action(client, f):
    unit = f.elevator()
    _login(client, f.user("regulator"))
    page = client.get(f"/q/{active_tag(unit.id).tag}").get_data(as_text=True)
    assert f'href="/inspect/{unit.id}"' in page


def test_inspector_linked_by_agency_sees_inspection_action(client, f):
    from equipment.inspections import service as inspections
    agency = f.org("inspection_agency")
    unit = f.elevator()
    inspector = f.user("inspector", org=agency)
    tag = active_tag(unit.id).tag
    _login(client, inspector)
    assert f'href="/inspect/{unit.id}"' not in client.get(f"/q/{tag}").get_data(as_text=True)
    inspections.assign_agency(actor=f.actor(f.user("regulator")), equipment_id=unit.id, agency_org_id=agency.id)
    page = client.get(f"/q/{tag}").get_data(as_text=True)
    assert f'href="/inspect/{unit.id}"' in page
    assert f'href="/units/{unit.id}"' not in page  # the registry page itself stays scoped
