"""Telemetry REST API: terminals, alarms, latest states (thin: schema in, one service call, schema out)."""
from flask_smorest import Blueprint

from equipment.auth.service import require_actor
from equipment.telemetry import schemas, service

terminals = Blueprint("terminals", __name__, url_prefix="/api/v1/terminals", description="Telemetry terminals")
alarms = Blueprint("alarms", __name__, url_prefix="/api/v1/alarms", description="Equipment alarms")
latest = Blueprint("telemetry", __name__, url_prefix="/api/v1/telemetry", description="Latest telemetry")
api_blueprints = [terminals, alarms, latest]


@terminals.route("", methods=["POST"])
@terminals.arguments(schemas.TerminalIn)
@terminals.response(201, schemas.TerminalCreated)
def provision(body):
    return service.provision_terminal(actor=require_actor(), equipment_id=body["equipment_id"])


@terminals.route("", methods=["GET"])
@terminals.arguments(schemas.TerminalQuery, location="query")
@terminals.response(200, schemas.TerminalPage)
def list_terminals(args):
    return service.list_terminals(actor=require_actor(), **args)


@terminals.route("/<string:terminal_id>", methods=["DELETE"])
@terminals.response(200, schemas.TerminalOut)
def revoke(terminal_id):
    return service.revoke_terminal(actor=require_actor(), terminal_id=terminal_id)


@alarms.route("", methods=["GET"])
@alarms.arguments(schemas.AlarmQuery, location="query")
@alarms.response(200, schemas.AlarmPage)
def list_alarms(args):
    return service.list_alarms(actor=require_actor(), **args)


@alarms.route("/<int:alarm_id>/ack", methods=["POST"])
@alarms.response(200, schemas.AlarmOut)
def ack(alarm_id):
    return service.acknowledge(actor=require_actor(), alarm_id=alarm_id)


@alarms.route("/<int:alarm_id>/clear", methods=["POST"])
@alarms.arguments(schemas.AlarmClear)
@alarms.response(200, schemas.AlarmOut)
def clear(body, alarm_id):
    """Clear an alarm, saying why (`reason`, required)."""
    return service.clear(actor=require_actor(), alarm_id=alarm_id, **body)


@latest.route("/latest", methods=["GET"])
@latest.arguments(schemas.LatestQuery, location="query")
@latest.response(200, schemas.LatestPage)
def list_latest(args):
    return service.list_latest(actor=require_actor(), **args)
