"""Inspections REST API (thin: schema in, one service call, schema out)."""
from flask import request
from flask_smorest import Blueprint

from equipment.auth.service import require_actor
from equipment.inspections import draws, filling, maintenance, reminders, rules, schemas, service

inspections = Blueprint("inspections", __name__, url_prefix="/api/v1/inspections", description="Inspection results")
rules_blp = Blueprint("inspection_rules", __name__, url_prefix="/api/v1/inspection-rules",
                      description="Versioned rules table")
obligations = Blueprint("obligations", __name__, url_prefix="/api/v1/obligations", description="Due dates")
contacts = Blueprint("reminders", __name__, url_prefix="/api/v1/reminders", description="Due reminders")
spot = Blueprint("spot_checks", __name__, url_prefix="/api/v1/spot-checks", description="Random spot checks")
maint = Blueprint("maintenance", __name__, url_prefix="/api/v1/maintenance", description="Maintenance records")
fill = Blueprint("filling", __name__, url_prefix="/api/v1/filling", description="Cylinder filling control")
api_blueprints = [inspections, rules_blp, obligations, contacts, spot, maint, fill]


def _page_args() -> dict:
    return {"page": request.args.get("page", 1, type=int), "per_page": request.args.get("per_page", 50, type=int)}


@inspections.route("", methods=["POST"])
@inspections.arguments(schemas.InspectionIn)
@inspections.response(201, schemas.InspectionOut)
def create_inspection(body):
    return service.record_inspection(actor=require_actor(), **body)


@inspections.route("", methods=["GET"])
@inspections.response(200, schemas.InspectionPage)
def list_inspections():
    return service.list_inspections(actor=require_actor(), equipment_id=request.args.get("equipment_id", type=int),
                                    **_page_args())


@inspections.route("/<int:inspection_id>", methods=["GET"])
@inspections.response(200, schemas.InspectionOut)
def get_inspection(inspection_id):
    return service.get_inspection(actor=require_actor(), inspection_id=inspection_id)


@inspections.route("/<int:inspection_id>/defects", methods=["GET"])
@inspections.response(200, schemas.DefectOut(many=True))
def get_defects(inspection_id):
    service.get_inspection(actor=require_actor(), inspection_id=inspection_id)
    return service.defects_of(inspection_id)


@rules_blp.route("", methods=["GET"])
@rules_blp.response(200, schemas.RuleSetOut)
def current_rules():
    require_actor()
    version, doc = rules.current()
    return {"version": version, "rules": doc}


@rules_blp.route("/versions", methods=["GET"])
@rules_blp.response(200, schemas.RuleSetOut(many=True))
def rule_versions():
    require_actor("regulator")
    return rules.list_versions()


@rules_blp.route("/<string:key>", methods=["PUT"])
@rules_blp.arguments(schemas.RuleEditIn)
@rules_blp.response(200, schemas.RuleSetOut)
def edit_rule(body, key):
    return service.set_rule(actor=require_actor("admin"), key=key, **body)


@obligations.route("", methods=["GET"])
@obligations.response(200, schemas.ObligationPage)
def list_obligations():
    return service.list_obligations(actor=require_actor(), status=request.args.get("status"),
                                    kind=request.args.get("kind"), **_page_args())


@obligations.route("/equipment/<int:equipment_id>", methods=["GET"])
@obligations.response(200, schemas.ObligationOut(many=True))
def unit_obligations(equipment_id):
    return service.obligations_for(actor=require_actor(), equipment_id=equipment_id)


@obligations.route("/equipment/<int:equipment_id>/agency", methods=["PUT"])
@obligations.arguments(schemas.AgencyIn)
@obligations.response(200, schemas.ObligationOut)
def set_agency(body, equipment_id):
    return service.assign_agency(actor=require_actor(), equipment_id=equipment_id, **body)


@contacts.route("/contacts", methods=["POST"])
@contacts.arguments(schemas.ContactIn)
@contacts.response(201, schemas.ContactOut)
def add_contact(body):
    return reminders.add_contact(actor=require_actor(), **body)


@contacts.route("", methods=["GET"])
@contacts.response(200, schemas.ReminderPage)
def list_reminders():
    return reminders.list_reminders(actor=require_actor(), equipment_id=request.args.get("equipment_id", type=int),
                                    status=request.args.get("status"), **_page_args())


@spot.route("", methods=["POST"])
@spot.arguments(schemas.DrawIn)
@spot.response(201, schemas.DrawOut)
def create_draw(body):
    return draws.create_draw(actor=require_actor("regulator"), **body)


@spot.route("/<int:draw_id>", methods=["GET"])
@spot.response(200, schemas.DrawOut)
def get_draw(draw_id):
    return draws.get_draw(actor=require_actor("regulator"), draw_id=draw_id)


@spot.route("/<int:draw_id>/verify", methods=["GET"])
@spot.response(200, schemas.DrawVerifyOut)
def verify_draw(draw_id):
    return draws.verify(actor=require_actor("regulator"), draw_id=draw_id)


@spot.route("/assignments", methods=["GET"])
@spot.response(200, schemas.AssignmentOut(many=True))
def my_assignments():
    return draws.assignments_for(actor=require_actor("inspector", "regulator"), status=request.args.get("status"))


@maint.route("", methods=["POST"])
@maint.arguments(schemas.MaintenanceIn)
@maint.response(201, schemas.MaintenanceOut)
def record_maintenance(body):
    return maintenance.record(actor=require_actor("crew"), **body)


@maint.route("/start", methods=["POST"])
@maint.arguments(schemas.MaintenanceStartIn)
@maint.response(201, schemas.MaintenanceOut)
def start_maintenance(body):
    return maintenance.start(actor=require_actor("crew"), **body)


@maint.route("/<int:record_id>/finish", methods=["POST"])
@maint.arguments(schemas.MaintenanceFinishIn)
@maint.response(200, schemas.MaintenanceOut)
def finish_maintenance(body, record_id):
    return maintenance.finish(actor=require_actor("crew"), record_id=record_id, **body)


@maint.route("", methods=["GET"])
@maint.response(200, schemas.MaintenancePage)
def list_maintenance():
    flagged = request.args.get("flagged")
    return maintenance.list_records(actor=require_actor(), equipment_id=request.args.get("equipment_id", type=int),
                                    flagged=None if flagged is None else flagged.lower() in ("1", "true", "yes"),
                                    **_page_args())


@fill.route("/check", methods=["POST"])
@fill.arguments(schemas.FillCheckIn)
@fill.response(200, schemas.FillCheckOut)
def check_fill(body):
    return filling.check(actor=require_actor("owner", "crew"), **body)


@fill.route("", methods=["POST"])
@fill.arguments(schemas.FillIn)
@fill.response(201, schemas.FillOut)
def record_fill(body):
    return filling.record_fill(actor=require_actor("owner", "crew"), **body)
