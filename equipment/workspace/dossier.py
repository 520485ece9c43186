"""The unit dossier /units/<id>: one page, tabs by query string (each tab one domain's service call).

Visible to every role that may see the unit, including an inspector linked by agency or spot check: the unit
is loaded with the widest scope the caller has (inspections.visible_clause); per-unit reads then follow."""
from __future__ import annotations

import datetime as dt

from flask import current_app, redirect, render_template, request

from equipment.auth.service import require_actor
from equipment.core.models import utcnow
from equipment.emergency import service as emergency
from equipment.inspections import service as inspections
from equipment.registry import service as registry
from equipment.registry.pages import unit_panels
from equipment.registry.schemas import RevokeIn
from equipment.telemetry import service as telemetry
from equipment.workspace import chart, schemas
from equipment.workspace.pages import bp, load

TABS = ("overview", "history", "inspections", "maintenance", "alarms", "telemetry", "incidents", "components",
        "tag")
FAMILY_TABS = {"elevator": TABS}  # cylinders and vessels have no terminal: no alarms/telemetry/incidents
OTHER_TABS = ("overview", "history", "inspections", "maintenance", "components", "tag")


@bp.route("/units/<int:equipment_id>")
def unit_page(equipment_id):
    actor = require_actor()
    unit = inspections.get_unit(actor=actor, equipment_id=equipment_id)
    tab = load(schemas.DossierQuery)["tab"]
    tabs = FAMILY_TABS.get(unit.family, OTHER_TABS)
    if tab not in tabs:
        tab = "overview"
    data = globals()[f"_tab_{tab}"](actor, unit)
    return render_template("workspace/dossier.html", unit=unit, view=registry.public_view(unit), tab=tab,
                           tabs=tabs, data=data, may_inspect=inspections.may_inspect(actor, unit.id))


def _tab_overview(actor, unit):
    return {"obligations": inspections.obligations_of_unit(unit.id),
            "user_org": registry.get_organization(unit.user_org_id),
            "maintenance_org": unit.maintenance_org_id and registry.get_organization(unit.maintenance_org_id),
            "maker_org": unit.maker_org_id and registry.get_organization(unit.maker_org_id),
            "panels": [p(unit) for p in unit_panels(current_app)]}  # other domains' panels: live state, alarms, incidents


def _tab_history(actor, unit):
    return registry.trace_of_unit(unit.id)


def _tab_inspections(actor, unit):
    page = inspections.list_inspections(actor=actor, equipment_id=unit.id, per_page=100)
    return {"items": page["items"], "defects": {i.id: inspections.defects_of(i.id) for i in page["items"]}}


# The tabs below read other domains' lists, scoped by organisation; an inspector linked by agency or spot
# check sees the unit's header (inspections.get_unit), so the same links widen each tab.

def _tab_maintenance(actor, unit):
    return inspections.list_maintenance(actor=actor, equipment_id=unit.id, per_page=100,
                                        also=inspections.linked_units(actor))


def _tab_alarms(actor, unit):
    return {**telemetry.list_alarms(actor=actor, equipment_id=unit.id, per_page=100,
                                    also=inspections.linked_units(actor)),
            "rights": telemetry.alarm_rights(actor)}


def _tab_telemetry(actor, unit):
    end = utcnow()
    points = telemetry.states_since(unit.id, end - dt.timedelta(hours=24))
    return {"chart": chart.build(points, end=end), "terminals": telemetry.terminals_of(unit.id),
            "latest": telemetry.latest_of(unit.id)}


def _tab_incidents(actor, unit):
    return emergency.list_incidents(actor=actor, equipment_id=unit.id, status="all", per_page=100,
                                    also=inspections.linked_units(actor))


def _tab_components(actor, unit):
    return registry.components_of_unit(unit.id)


def _tab_tag(actor, unit):
    return {"tag": registry.active_tag(unit.id), "may_manage": registry.may_manage_tags(actor, unit)}


@bp.route("/units/<int:equipment_id>/tag/<any(reissue, revoke):action>", methods=["POST"])
def unit_tag(equipment_id, action):
    actor = require_actor()
    if action == "reissue":
        registry.reissue_tag(actor=actor, equipment_id=equipment_id)
    else:  # the API's boundary schema: the same limits for the form
        body = load(RevokeIn, {"reason": (request.form.get("reason") or "").strip()})
        registry.void_tag(actor=actor, equipment_id=equipment_id, **body)
    return redirect(f"/units/{equipment_id}?tab=tag")
