"""Emergency REST API (thin: schema in, one service call, schema out)."""
from flask_smorest import Blueprint

from equipment.auth.service import require_actor
from equipment.core.geo import lat_lon
from equipment.emergency import crews, public, queries, rules, schemas, service, stats
from equipment.emergency.arrival import take_proof
from equipment.emergency.public_pages import api as public_api

incidents = Blueprint("incidents", __name__, url_prefix="/api/v1/incidents", description="96333 incidents")
crew_api = Blueprint("crews", __name__, url_prefix="/api/v1/crews", description="Rescue crews")
rules_api = Blueprint("dispatch_rules", __name__, url_prefix="/api/v1/dispatch-rules",
                      description="Which dispatch policy runs live (a regulator's decision, versioned)")
api_blueprints = [incidents, crew_api, public_api, rules_api]


@incidents.route("", methods=["GET"])
@incidents.arguments(schemas.IncidentQuery, location="query")
@incidents.response(200, schemas.IncidentPage)
def list_incidents(args):
    result = queries.list_incidents(actor=require_actor(), **args)
    result["items"] = [queries.view(i) for i in result["items"]]
    return result


@incidents.route("", methods=["POST"])
@incidents.arguments(schemas.IncidentIn)
@incidents.response(201, schemas.IncidentOut)
@incidents.alt_response(200, schema=schemas.IncidentOut, description="the unit's incident already open (DESIGN.md)")
def create_incident(body):
    incident, created = service.report(actor=require_actor(*service.INTAKE_ROLES), **body)
    return queries.view(incident), 201 if created else 200


@incidents.route("/stats", methods=["GET"])
@incidents.arguments(schemas.StatsQuery, location="query")
@incidents.doc(responses={"200": {"description": "statistics (JSON, or CSV with ?format=csv)", "content": {
    "application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}}}})
def incident_stats(args):
    """Counts, response/arrival/rescue times, 3-min and 30-min rates, causes; ?format=csv downloads."""
    from flask import Response
    fmt = args.pop("format")
    result = stats.incident_stats(actor=require_actor(), **args)
    if fmt == "csv":
        return Response(stats.to_csv(result), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=incident-stats.csv"})
    return result


@incidents.route("/<int:incident_id>", methods=["GET"])
@incidents.response(200, schemas.IncidentOut)
def get_incident(incident_id):
    return queries.view(queries.get_incident(actor=require_actor(), incident_id=incident_id), with_events=True)


@incidents.route("/<int:incident_id>/<any(accept, arrive, release, close, false_alarm, cancel):action>",
                 methods=["POST"])
@incidents.arguments(schemas.TransitionIn)
@incidents.response(200, schemas.IncidentOut)
def transition(body, incident_id, action):
    actor = require_actor()
    incident = queries.get_incident(actor=actor, incident_id=incident_id)  # scoping: another crew's job is 404
    proof = take_proof(body, incident.equipment_id)
    return queries.view(service.transition(actor=actor, incident_id=incident_id, action=action, proof=proof,
                                           **body))


@incidents.route("/<int:incident_id>/dispatch", methods=["POST"])
@incidents.arguments(schemas.DispatchIn)
@incidents.response(200, schemas.IncidentOut)
def dispatch(body, incident_id):
    return queries.view(service.dispatch_incident(actor=require_actor("dispatcher"), incident_id=incident_id,
                                                  **body))


@incidents.route("/<int:incident_id>/verify", methods=["POST"])
@incidents.arguments(schemas.VerifyIn)
@incidents.response(200, schemas.IncidentOut)
def verify(body, incident_id):
    """The desk confirmed a scan-page report (call-back or intercom): 119 and other crews become possible."""
    return queries.view(public.verify_incident(actor=require_actor("dispatcher", "admin"),
                                               incident_id=incident_id, **body))


@incidents.route("/<int:incident_id>/escalate", methods=["POST"])
@incidents.response(200, schemas.IncidentOut)
def escalate(incident_id):
    return queries.view(service.escalate_incident(actor=require_actor("dispatcher"), incident_id=incident_id))


@crew_api.route("", methods=["GET"])
@crew_api.response(200, schemas.CrewOut(many=True))
def on_duty_crews():
    return queries.on_duty_crews(actor=require_actor())


@crew_api.route("/me", methods=["GET"])
@crew_api.response(200, schemas.CrewOut)
def me():
    crew = crews.crew_of(require_actor("crew"))
    return _crew_out(crew) if crew else {}


@crew_api.route("/me/duty", methods=["PUT"])
@crew_api.arguments(schemas.DutyIn)
@crew_api.response(200, schemas.CrewOut)
def duty(body):
    return _crew_out(crews.set_duty(actor=require_actor("crew"), **body))


@crew_api.route("/me/position", methods=["POST"])
@crew_api.arguments(schemas.PositionIn)
@crew_api.response(200, schemas.CrewOut)
def position(body):
    body.pop("accuracy_m", None)
    return _crew_out(crews.report_position(actor=require_actor("crew"), **body))


@crew_api.route("/me/jobs", methods=["GET"])
@crew_api.response(200, schemas.IncidentOut(many=True))
def jobs():
    return queries.crew_jobs(actor=require_actor("crew"))


def _crew_out(crew) -> dict:
    return {"id": crew.id, "name": crew.name, "phone": crew.phone, "org_id": crew.org_id,
            "location": lat_lon(crew.location), "position_at": crew.position_at, "on_duty": crew.on_duty}


@rules_api.route("", methods=["GET"])
@rules_api.response(200, schemas.DispatchRulesOut)
def dispatch_rules():
    require_actor()
    version, rules = service.dispatch_rules()
    return {"version": version, "rules": rules}


@rules_api.route("/versions", methods=["GET"])
@rules_api.response(200, schemas.DispatchRulesOut(many=True))
def dispatch_rule_versions():
    require_actor(*service.RULE_ROLES)
    return rules.list_versions()


@rules_api.route("/<string:key>", methods=["PUT"])
@rules_api.arguments(schemas.DispatchRuleIn)
@rules_api.response(200, schemas.DispatchRulesOut)
def edit_dispatch_rule(body, key):
    """Set one entry (`policy`: contract | ladder | eta(SLACK_MIN) | pool; `level2_after_s`, `parallel`,
    `level2_radius_m`: the escalation numbers); regulator or admin; audited."""
    return service.set_dispatch_rule(actor=require_actor(*service.RULE_ROLES), key=key, **body)
