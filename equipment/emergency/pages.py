"""Emergency pages: dispatcher console, crew page, public trapped report, statistics; and the live stream."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from equipment.auth.service import require_actor
from equipment.core.errors import InvalidState
from equipment.emergency import crews, dispatch, metrics, public_pages, queries, schemas, service, stream  # noqa: F401
from equipment.emergency.arrival import take_proof
from equipment.emergency.models import CAUSES
from equipment.web import i18n
from equipment.emergency import public, stats

bp = Blueprint("emergency_pages", __name__)
page_blueprints = [bp, public_pages.bp]
DESK = ("dispatcher", "regulator")
DESK_ACTIONS = ("dispatch", "escalate")


def _json_or_form() -> dict:
    return request.get_json(silent=True) or request.form.to_dict()


def _clean(schema, data: dict) -> dict:
    allowed = set(schema().fields)
    return schema().load({k: v for k, v in data.items() if k in allowed and v not in ("", None)})


# --- dispatcher console ---------------------------------------------------------------------------

@bp.route("/console")
def console():
    require_actor(*DESK)
    tile_url = current_app.config.get("TILE_URL") or ""
    resp = current_app.make_response(render_template(
        "emergency/console.html", tile_url=tile_url, causes=CAUSES,
        outlines_url=current_app.config.get("MAP_OUTLINES") or "",
        accept_s=current_app.config["ACCEPT_DEADLINE_S"], arrival_s=current_app.config["ARRIVAL_DEADLINE_S"]))
    if tile_url:  # let the configured tile server's images through the page policy
        origin = "{0.scheme}://{0.netloc}".format(urlparse(tile_url.replace("{", "").replace("}", "")))
        resp.headers["Content-Security-Policy"] = (
            f"default-src 'self'; img-src 'self' data: {origin}; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
    return resp


@bp.route("/console/incidents", methods=["POST"])
def console_report():
    actor = require_actor(*DESK)
    body = _clean(schemas.IncidentIn, _json_or_form())
    incident, created = service.report(actor=actor, **body)
    return schemas.IncidentOut().dump(queries.view(incident)), 201 if created else 200


@bp.route("/console/incidents/<int:incident_id>/<action>", methods=["POST"])
def console_action(incident_id, action):
    actor = require_actor("dispatcher")
    data = _json_or_form()
    if action == "dispatch":  # the schema bounds crew_id: "abc" or 2**40 is a 422, not a 500
        incident = _console_dispatch(actor, incident_id, _clean(schemas.ConsoleDispatchIn, data))
    elif action == "escalate":
        reason = _reason(data)
        incident = service.escalate_incident(actor=actor, incident_id=incident_id, reason=reason)
    elif action == "verify":  # the desk confirmed a scan-page report by call-back or intercom
        incident = public.verify_incident(actor=actor, incident_id=incident_id, **_clean(schemas.VerifyIn, data))
    else:
        body = _clean(schemas.TransitionIn, {k: v for k, v in data.items() if k != "reason"})
        if action in REASONED:  # a desk closing an incident without a rescue says why
            body["notes"] = _reason(data)
        for key in ("lat", "lon", "accuracy_m"):  # position proof is the crew's, not the desk's
            body.pop(key, None)
        incident = service.transition(actor=actor, incident_id=incident_id, action=action, **body)
    return schemas.IncidentOut().dump(queries.view(incident))


REASONED = ("false_alarm", "cancel")


def _reason(data: dict) -> str:
    reason = (data.get("reason") or data.get("notes") or "").strip()
    return schemas.ReasonIn().load({"reason": reason} if reason else {})["reason"]


def _console_dispatch(actor, incident_id: int, body: dict):
    """No silent reassignment: withdrawing a crew's pending offer needs the dispatcher's confirmation."""
    offer = queries.current_offer(incident_id)
    if offer is not None and offer.status == "offered" and not body.get("reassign"):
        crew = crews.get_crew(offer.crew_id)
        raise InvalidState(f"Already offered to {crew.name}; confirm to reassign / 已派给{crew.name}，确认后改派",
                           details={"crew": [crew.name]}, code="offer_pending")
    return service.dispatch_incident(actor=actor, incident_id=incident_id, crew_id=body.get("crew_id"))


@bp.route("/console/crews")
def console_crews():
    return {"items": schemas.CrewOut(many=True).dump(queries.on_duty_crews(actor=require_actor(*DESK)))}


@bp.route("/console/incidents/<int:incident_id>/crews")
def console_crew_choices(incident_id):
    choices = queries.crew_choices(actor=require_actor(*DESK), incident_id=incident_id)
    return {"items": schemas.CrewChoiceOut(many=True).dump(choices)}


@bp.route("/api/v1/incidents/stream")
def live():
    return stream.response(require_actor("dispatcher", "regulator", "crew"))


# --- crew page ------------------------------------------------------------------------------------

@bp.route("/crew")
def crew_page():
    actor = require_actor("crew")
    jobs = queries.crew_jobs(actor=actor)
    focus = request.args.get("job", type=int)
    return render_template("emergency/crew.html", me=crews.crew_of(actor), jobs=jobs, causes=CAUSES,
                           decline_reasons=DECLINE_REASONS, focus=focus,
                           focus_gone=focus is not None and focus not in {j["id"] for j in jobs})


@bp.route("/crew/jobs")
def crew_jobs_fragment():
    """The job cards alone: the page swaps them in when the stream says something changed."""
    actor = require_actor("crew")
    return render_template("emergency/_crew_jobs.html", jobs=queries.crew_jobs(actor=actor), causes=CAUSES,
                           decline_reasons=DECLINE_REASONS, focus=None)


@bp.route("/crew/jobs/<int:incident_id>")
def crew_job_link(incident_id):
    """The link in the crew's notification: after the login (if needed) it lands on this job."""
    require_actor("crew")
    return redirect(f"/crew?job={incident_id}#job-{incident_id}")


@bp.route("/crew/jobs/<int:incident_id>/<action>", methods=["POST"])
def crew_action(incident_id, action):
    actor = require_actor("crew")
    incident = queries.get_incident(actor=actor, incident_id=incident_id)  # someone else's job is 404
    form = request.form.to_dict()
    if action == "decline":
        service.decline_offer(actor=actor, incident_id=incident_id, reason=_reason(form))
    else:
        body = _clean(schemas.TransitionIn, form)
        if action in REASONED:
            body["notes"] = _reason(form)
        service.transition(actor=actor, incident_id=incident_id, action=action,
                           proof=take_proof(body, incident.equipment_id), **body)
    if request.accept_mimetypes.best == "application/json":  # the page's own submit: no reload
        return {"ok": True}
    return redirect(f"/crew?job={incident_id}")


DECLINE_REASONS = ("decline.far", "decline.busy", "decline.vehicle", "decline.other")
LOGIN_FIRST = {"emergency_pages.console", "emergency_pages.crew_page", "emergency_pages.crew_job_link",
               "emergency_pages.stats_page"}


@bp.before_request
def _login_first():
    """A page opened without a session (a notification link, a bookmark) goes to the login and back."""
    if request.method == "GET" and request.endpoint in LOGIN_FIRST and g.get("actor") is None:
        return redirect(url_for("auth_pages.login", next=request.full_path.rstrip("?")))
    return None


@bp.route("/crew/duty", methods=["POST"])
def crew_duty():
    crews.set_duty(actor=require_actor("crew"), on_duty=request.form.get("on_duty") == "1")
    return redirect("/crew")


@bp.route("/crew/position", methods=["POST"])
def crew_position():
    body = _clean(schemas.PositionIn, _json_or_form())
    body.pop("accuracy_m", None)
    crew = crews.report_position(actor=require_actor("crew"), **body)
    return {"ok": True, "position_at": crew.position_at.isoformat(), "on_duty": crew.on_duty}


# --- statistics ------------------------------------------------------------------------------------

@bp.route("/incidents/stats")
def stats_page():
    actor = require_actor()
    args = schemas.StatsQuery().load({k: v for k, v in request.args.items() if k in ("from", "to", "group") and v})
    args.pop("format", None)
    result = stats.incident_stats(actor=actor, **args)
    # beside the other-unit share: the regulator's decision that shapes it
    return render_template("emergency/stats.html", r=result, groups=schemas.STATS_GROUPS, causes=CAUSES,
                           query=request.query_string.decode(), policy=dispatch.current_policy(),
                           rules_version=service.dispatch_rules()[0])


# --- the unit page's incidents panel ----------------------------------------------------------------

def unit_panel(unit) -> str:
    from markupsafe import Markup, escape
    page = queries.list_incidents(actor=require_actor(), equipment_id=unit.id, per_page=10)
    if not page["items"]:
        return ""
    rows = "".join(
        f"<tr><td>#{i.id}</td><td>{escape(i18n.local_time(i.reported_at))}</td>"
        f"<td>{escape(i18n.t('istatus.' + i.status))}</td><td>{escape(i18n.t('source.' + i.source))}</td>"
        f"<td>{escape(i18n.t('cause.' + i.cause) if i.cause else '')}</td></tr>" for i in page["items"])
    return Markup(f'<section class="card" id="incidents-panel"><h2>96333</h2><table>{rows}</table></section>')

