"""Home with the role's work, and the lists other than /units (inspections, maintenance, alarms, terminals,
obligations). Thin: parse the query, call the owning domain's service with the caller, render."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request
from marshmallow import ValidationError

from equipment.auth.service import require_actor
from equipment.core.errors import Invalid
from equipment.core.schemas import PageQuery
from equipment.emergency import service as emergency
from equipment.inspections import service as inspections
from equipment.registry import service as registry
from equipment.telemetry import service as telemetry
from equipment.workspace import schemas
from equipment.workspace.nav import menu_for

bp = Blueprint("workspace", __name__)
HOME_ROWS = 8


def load(schema, data=None) -> dict:
    """A filter form sends its empty fields as `name=`: empty means "any", not a bad value."""
    if data is None:
        data = {k: v for k, v in request.args.items() if v.strip()}
    try:
        return schema().load(data)
    except ValidationError as err:
        raise Invalid("Invalid query / 查询参数有误", details=err.normalized_messages()) from None


def scope_for(actor):
    """The widest unit visibility the caller has: registry scope, plus an inspector's agency links."""
    return inspections.visible_clause(actor)


@bp.app_context_processor
def navigation():
    actor = g.get("actor")
    return {"menu": menu_for(actor.role if actor else None)}


# --- home ------------------------------------------------------------------------------------------

@bp.route("/")
def home():
    actor = g.get("actor")
    if actor is None:
        return render_template("workspace/home_public.html")
    work = {"dispatcher": _dispatcher_work, "crew": _crew_work, "inspector": _inspector_work,
            "owner": _owner_work}.get(actor.role, _overview_work)(actor)
    return render_template("workspace/home.html", work=work, role=actor.role)


def _obligations(actor, kind, status):
    page = inspections.list_obligations(actor=actor, kind=kind, status=status, per_page=HOME_ROWS)
    return {**page, "units": registry.units_brief([o.equipment_id for o in page["items"]])}


def _dispatcher_work(actor):
    incidents = emergency.list_incidents(actor=actor, status="open", per_page=HOME_ROWS)
    return {"incidents": {**incidents, "units": registry.units_brief([i.equipment_id for i in incidents["items"]])}}


def _crew_work(actor):
    jobs = emergency.crew_jobs(actor=actor)
    return {"jobs": jobs, "maintenance_overdue": _obligations(actor, "maintenance", "overdue"),
            "maintenance_due": _obligations(actor, "maintenance", "due_soon")}


def _inspector_work(actor):
    assignments = inspections.open_assignments(actor=actor, limit=HOME_ROWS)
    return {"assignments": assignments,
            "assignment_units": registry.units_brief([a.equipment_id for a in assignments]),
            "inspection_overdue": _obligations(actor, "inspection", "overdue"),
            "inspection_due": _obligations(actor, "inspection", "due_soon")}


def _owner_work(actor):
    units = registry.list_units(scope=scope_for(actor), where=[], per_page=1)
    return {"units_total": units["total"], "inspection_overdue": _obligations(actor, "inspection", "overdue"),
            "inspection_due": _obligations(actor, "inspection", "due_soon"),
            "maintenance_overdue": _obligations(actor, "maintenance", "overdue")}


def _overview_work(actor):
    scope = scope_for(actor)
    return {"overview": True,
            "units_total": registry.list_units(scope=scope, where=[], per_page=1)["total"],
            "units_overdue": registry.list_units(scope=scope, where=registry.filter_clauses(overdue=True),
                                                 per_page=1)["total"],
            "alarms_active": telemetry.list_alarms(actor=actor, status="active", per_page=1)["total"],
            "incidents_open": emergency.list_incidents(actor=actor, status="open", per_page=1)["total"],
            "inspection_overdue": _obligations(actor, "inspection", "overdue")}


# --- lists -----------------------------------------------------------------------------------------

def _render_list(template, page, **extra):
    ids = [getattr(item, "equipment_id") for item in page["items"]]
    return render_template(template, page=page, units=registry.units_brief(ids), args=request.args, **extra)


@bp.route("/inspections")
def inspections_list():
    actor = require_actor()
    args = load(PageQuery)
    return _render_list("workspace/inspections.html", inspections.list_inspections(actor=actor, **args))


@bp.route("/maintenance")
def maintenance_list():
    actor = require_actor()
    args = load(schemas.MaintenanceQuery)
    return _render_list("workspace/maintenance.html", inspections.list_maintenance(actor=actor, **args))


@bp.route("/alarms")
def alarms_list():
    actor = require_actor()
    args = load(schemas.AlarmsQuery)
    return _render_list("workspace/alarms.html", telemetry.list_alarms(actor=actor, **args), status=args["status"],
                        rights=telemetry.alarm_rights(actor))


@bp.route("/alarms/<int:alarm_id>/<any(ack, clear):action>", methods=["POST"])
def alarm_action(alarm_id, action):
    actor = require_actor()
    if action == "ack":
        telemetry.acknowledge(actor=actor, alarm_id=alarm_id)
    else:
        telemetry.clear(actor=actor, alarm_id=alarm_id, reason=request.form.get("reason", ""))
    back = request.form.get("back") or "/alarms"
    return redirect(back if back.startswith("/") and not back.startswith("//") else "/alarms")


@bp.route("/terminals")
def terminals_list():
    actor = require_actor()
    args = load(schemas.TerminalsQuery)
    return _render_list("workspace/terminals.html", telemetry.list_terminals(actor=actor, **args))


@bp.route("/obligations")
def obligations_list():
    actor = require_actor()
    args = load(schemas.ObligationsQuery)
    page = inspections.list_obligations(actor=actor, **args)
    return _render_list("workspace/obligations.html", page)
