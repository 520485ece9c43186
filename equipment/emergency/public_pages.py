"""The scan page's report form and its confirmation; the citizen's tracking lookup; the desk's report API.

The emergency path never answers a bare 429: over the abuse limits a report is still stored (flagged,
held for the dispatcher) and the page still shows the 96333 tel: link.
"""
from __future__ import annotations

from flask import current_app, redirect, render_template, request
from flask_smorest import Blueprint as ApiBlueprint
from flask import Blueprint

from equipment.auth.service import require_actor
from equipment.emergency import public, queries, schemas
from equipment.emergency.models import PROBLEMS, REPORT_KINDS, REPORT_STATUSES
from equipment.registry import service as registry
TEXT = {  # merged into the domain's strings (emergency/domain.py)
    "em.false_alarm_claimed": ("已报误报，等待调度员确认；确认前计时继续。",
                               "False alarm reported: waiting for the dispatcher; the timers keep running."),
    "pr.trapped.lift": ("我被困在电梯里", "I am trapped in this lift"),
    "pr.trapped.escalator": ("有人被夹住或摔倒，需要救援", "Someone is caught or has fallen: rescue needed"),
    "pr.trapped_hint.lift": ("被困时请保持冷静，可按轿厢内警铃；不要强行扒门。",
                             "Stay calm, press the car's alarm button; do not force the doors."),
    "pr.trapped_hint.escalator": ("请按扶梯上下端的红色急停按钮，远离梯级。",
                                  "Press the red stop button at either end and keep clear of the steps."),
    "pr.fault.lift": ("报告电梯故障（无人被困）", "Report a fault (nobody trapped)"),
    "pr.fault.escalator": ("报告扶梯故障（无人受困）", "Report a fault (nobody caught)"),
    "pr.fault_hint": ("故障报告发给该设备的维保单位处理，不会启动困人救援。",
                      "A fault report goes to the maintenance company; it does not start a rescue."),
    "pr.fault_button": ("提交故障报告", "Send fault report"),
    "pr.problem_title": ("报告问题", "Report a problem"),
    "pr.problem_hint": ("如有泄漏、起火等紧急危险，请立即远离并拨打 119。",
                        "If gas is leaking or there is fire, move away and call 119."),
    "pr.problem_kind": ("问题类型", "What is wrong"),
    "pr.problem.leak": ("泄漏或有气味", "Leak or smell"),
    "pr.problem.damage": ("损坏、变形或锈蚀", "Damaged, dented or corroded"),
    "pr.problem.overdue": ("超期未检", "Inspection overdue"),
    "pr.problem.other": ("其他", "Other"),
    "pr.problem_button": ("提交问题报告", "Send problem report"),
    "pr.description": ("情况说明（可选）", "Details (optional)"),
    "pr.phone": ("留下电话以便回复（可选，不会公开）", "Phone for a reply (optional, never published)"),
    "pr.done.trapped": ("已收到您的求助", "Your call for help has been received"),
    "pr.done.fault": ("故障报告已提交", "Fault report sent"),
    "pr.done.problem": ("问题报告已提交", "Problem report sent"),
    "pr.body.lift": ("调度中心正在核实并安排救援，可能通过电话或轿厢对讲与您联系。请保持冷静，不要强行扒门，留在轿厢内等待救援。",
                     "The dispatch centre is confirming and sending help; it may call you or speak over the car "
                     "intercom. Stay calm, do not force the doors, wait in the car."),
    "pr.body.escalator": ("调度中心正在核实并安排救援。请远离梯级，如有人受伤请拨打 120。",
                          "The dispatch centre is confirming and sending help. Keep clear of the steps; if "
                          "someone is injured call 120."),
    "pr.body.fault": ("已通知该设备的维保单位处理。本报告不会启动困人救援；如有人被困，请立即拨打 96333。",
                      "The maintenance company has been told. This does not start a rescue: if someone is "
                      "trapped, call 96333 now."),
    "pr.body.problem": ("已转交该设备的使用单位处理，并报送属地监管部门。如有泄漏、起火等紧急危险，请远离并拨打 119。",
                        "Passed to the unit's owner and the district regulator. If gas is leaking or there is "
                        "fire, move away and call 119."),
    "pr.held": ("提交较频繁：报告已登记，等待调度员人工核实。紧急情况请直接拨打 96333。",
                "Many reports from here: yours is recorded and waits for a dispatcher. In an emergency call "
                "96333."),
    "pr.tracking_no": ("报告编号", "Tracking number"),
    "pr.track_link": ("查询处理进度", "Check progress"),
    "pr.kind": ("报告类型", "Report"),
    "pr.kind.trapped": ("困人求助", "Trapped"),
    "pr.kind.fault": ("故障报告", "Fault"),
    "pr.kind.problem": ("问题报告", "Problem"),
    "pr.submitted": ("提交时间", "Sent"),
    "pr.state": ("处理状态", "State"),
    "pr.status.received": ("已受理", "Received"),
    "pr.status.rescue": ("已转入救援", "Passed to rescue"),
    "pr.status.fault": ("已通知维保单位", "Maintenance unit notified"),
    "pr.verified": ("已核实", "Confirmed"),
    "pr.list": ("扫码报告", "Scan-page reports"),
    "pr.all": ("全部", "All"),
    "pr.flagged": ("频繁提交，待人工核实", "Many reports from one source: held"),
    "pr.to_rescue": ("转为救援", "Start a rescue"),
    "pr.to_rescue_hint": ("核实需要救援后转入96333救援流程（视为已核实）", "After confirming, start the full rescue"),
    "pr.reply_phone": ("回电", "Reply to"),
    "pr.incident": ("事件", "Incident"),
    "pr.district": ("行政区划代码", "District code"),
    "pr.filter": ("筛选", "Filter"),
    "pr.none": ("暂无扫码报告", "No reports"),
    "pr.unverified": ("待核实", "Awaiting confirmation"),
    "pr.busy": ("访问过于频繁，请稍后再查看设备信息。紧急求助请直接拨打：", "Too many requests: try again later. In an "
                "emergency call:"),
}

bp = Blueprint("emergency_public", __name__)
api = ApiBlueprint("public_reports", __name__, url_prefix="/api/v1/public-reports",
                   description="Scan-page reports (困人 / 故障 / 问题)")


def report_form(tag: str) -> dict | None:
    """For the scan page template: which buttons this unit's family gets (None: no form)."""
    try:
        unit = registry.resolve_tag(tag)
    except Exception:  # noqa: BLE001  unknown or void tag: the page itself says so, no form
        return None
    return {"family": public.family_of(unit), "actions": public.actions_for(unit), "problems": PROBLEMS}


@bp.route("/q/<string:tag>/report", methods=["POST"])
def submit(tag):
    body = schemas.PublicReportIn().load({k: v.strip() for k, v in request.form.items()
                                          if k != "csrf_token" and v.strip()})
    report = public.submit(tag=tag, kind=body["kind"], problem=body.get("problem"),
                           description=body.get("description"), reply_phone=body.get("caller_phone"),
                           client_addr=request.remote_addr)
    return render_template("emergency/public_reported.html", r=report,
                           hotline=current_app.config.get("HOTLINE", "96333")), 202 if report.over_limit else 201


@bp.route("/reports")
def reports_page():
    """The reports the caller receives (desk and regulators: all, by district; an owner: its units; a crew:
    the fault reports routed to its company), newest first; the desk turns one into a rescue from here."""
    actor = require_actor()
    args = schemas.PublicReportQuery().load({k: v for k, v in request.args.items() if v.strip()})
    page = public.list_reports(actor=actor, **args)
    return render_template("emergency/public_reports.html", page=page, args=request.args,
                           units=registry.units_brief([r["equipment_id"] for r in page["items"]]),
                           can_convert=actor.role in public.DESK, kinds=REPORT_KINDS, statuses=REPORT_STATUSES)


@bp.route("/reports/<int:report_id>/rescue", methods=["POST"])
def report_to_rescue_page(report_id):
    _, incident = public.report_to_rescue(actor=require_actor(*public.DESK), report_id=report_id)
    return redirect(f"/console#inc-{incident.id}")


@bp.route("/r/<string:tracking_no>")
def tracking_page(tracking_no):
    status = public.tracking_status(tracking_no[:20])
    return render_template("emergency/public_tracking.html", s=status,
                           hotline=current_app.config.get("HOTLINE", "96333"))


@bp.route("/api/v1/public/reports/<string:tracking_no>")
def tracking(tracking_no):
    status = public.tracking_status(tracking_no[:20])
    return {**status, "created_at": status["created_at"].isoformat()}


@api.route("", methods=["GET"])
@api.arguments(schemas.PublicReportQuery, location="query")
@api.response(200, schemas.PublicReportPage)
def list_reports(args):
    return public.list_reports(actor=require_actor(), **args)


@api.route("/<int:report_id>/rescue", methods=["POST"])
@api.response(200, schemas.IncidentOut)
def to_rescue(report_id):
    _, incident = public.report_to_rescue(actor=require_actor("dispatcher", "admin"), report_id=report_id)
    return queries.view(incident)
