"""Mobile-first pages for inspectors, crews and filling stations, starting from a tag scan."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, redirect, render_template, request
from marshmallow import ValidationError

from equipment.auth.service import require_actor
from equipment.core.errors import AppError
from equipment.inspections import filling, maintenance, schedule, schemas, service

bp = Blueprint("inspection_pages", __name__)

CHECKLISTS = {
    "elevator": ["machine_room", "traction_machine", "brake", "governor", "safety_gear", "door_lock", "buffer",
                 "emergency_alarm", "leveling"],
    "pressure_vessel": ["shell", "welds", "thickness", "safety_valve", "pressure_gauge", "supports"],
    "gas_cylinder": ["appearance", "thread", "hydro_test", "valve", "tare_weight"],
}
TEXT = {
    "action.record_inspection": ("录入检验结果", "Record inspection"),
    "action.start_maintenance": ("开始维保", "Start maintenance"),
    "label.inspection": ("检验记录", "Inspection"),
    "label.maintenance": ("维保记录", "Maintenance"),
    "label.conclusion": ("检验结论", "Conclusion"),
    "label.date": ("检验日期", "Date"),
    "label.report_no": ("报告编号", "Report no."),
    "label.safety_grade": ("安全状况等级", "Safety grade"),
    "label.checklist": ("检验项目", "Checklist"),
    "label.defect": ("问题及整改要求", "Defect and rectification"),
    "label.deadline": ("整改期限", "Rectification deadline"),
    "label.notes": ("备注", "Notes"),
    "label.item_set": ("维保项目", "Item set"),
    "label.scan_missing": ("未通过扫码进入：请扫描设备上的二维码后再开始维保。",
                           "Not opened from a scan: scan the unit's tag to start maintenance."),
    "label.position_hint": ("将记录手机位置，用于核实现场维保。", "Your phone's position is recorded as proof of presence."),
    "label.submit": ("提交", "Submit"),
    "label.finish": ("完成维保", "Finish maintenance"),
    "label.filling": ("充装前检查", "Filling check"),
    "label.tag": ("标签", "Tag"),
    "label.check": ("检查", "Check"),
    "label.record_fill": ("记录充装", "Record fill"),
    "result.pass": ("合格", "Pass"), "result.fail": ("不合格", "Fail"), "result.na": ("无此项", "N/A"),
    "item_set.half_monthly": ("半月", "Half-monthly"), "item_set.quarterly": ("季度", "Quarterly"),
    "item_set.semi_annual": ("半年", "Semi-annual"), "item_set.annual": ("年度", "Annual"),
    **{f"conclusion.{code}": (zh, en) for codes in schedule.CONCLUSIONS.values()
       for code, (zh, en, _) in codes.items()},
}


def _form_inspection(unit) -> dict:
    """The page's form goes through the same boundary schema as the API: no raw value reaches the service."""
    form = request.form
    items = [{"item": name, "result": form.get(f"item_{name}"), "note": form.get(f"note_{name}") or None}
             for name in CHECKLISTS.get(unit.family, []) if form.get(f"item_{name}")]
    defects = ([{"item": "general", "description": form["defect"], "deadline": form.get("deadline") or None}]
               if form.get("defect") else [])
    raw = {"equipment_id": unit.id, "kind": form.get("kind") or "periodic", "date": form.get("date"),
           "conclusion": form.get("conclusion"), "report_no": form.get("report_no") or None,
           "safety_grade": form.get("safety_grade") or None, "follows_id": form.get("follows_id") or None,
           "items": items, "defects": defects, "notes": form.get("notes") or None}
    data = schemas.InspectionIn().load(raw)
    data.pop("equipment_id")
    return data


@bp.route("/inspect/<int:equipment_id>", methods=["GET", "POST"])
def inspect(equipment_id):
    actor = require_actor("inspector", "regulator")
    unit = service.get_unit(actor=actor, equipment_id=equipment_id)
    error = None
    if request.method == "POST":
        try:
            service.record_inspection(actor=actor, equipment_id=unit.id, **_form_inspection(unit))
            return redirect(f"/units/{unit.id}")
        except ValidationError as err:
            error = err.normalized_messages()
        except AppError as err:
            error = err.details or err.message
    return render_template("inspections/inspect.html", unit=unit, error=error,
                           conclusions=schedule.CONCLUSIONS.get(unit.family, {}),
                           checklist=CHECKLISTS.get(unit.family, []), today=service.obligations.today_local())


def _scanned_tag() -> str | None:
    """The scan page links here; its URL (/q/<tag>) is the proof that the crew scanned the tag."""
    path = urlparse(request.referrer or "").path
    return path[3:] if path.startswith("/q/") else request.form.get("tag") or None


@bp.route("/maintain/<int:equipment_id>", methods=["GET", "POST"])
def maintain(equipment_id):
    actor = require_actor("crew")
    unit = service.get_unit(actor=actor, equipment_id=equipment_id)
    tag, error = _scanned_tag(), None
    if request.method == "POST" and tag:
        try:
            rec = maintenance.start(actor=actor, tag=tag, item_set=request.form.get("item_set", "half_monthly"),
                                    lat=request.form.get("lat", type=float), lon=request.form.get("lon", type=float))
            return redirect(f"/maintain/record/{rec.id}")
        except AppError as err:
            error = err.details or err.message
    return render_template("inspections/maintain.html", unit=unit, tag=tag, error=error,
                           item_sets=list(maintenance._item_sets()))


@bp.route("/maintain/record/<int:record_id>", methods=["GET", "POST"])
def maintain_record(record_id):
    actor = require_actor("crew")
    rec = maintenance.db.session.get(maintenance.MaintenanceRecord, record_id)
    if rec is None or rec.crew_user_id != actor.user_id:
        return render_template("error.html", status=404, code="not_found", message="No such record"), 404
    if request.method == "POST":
        items = [{"item": name, "result": "pass"} for name in request.form.getlist("done")]
        maintenance.finish(actor=actor, record_id=rec.id, items=items, notes=request.form.get("notes") or None)
        return redirect(f"/units/{rec.equipment_id}")
    return render_template("inspections/maintain_finish.html", rec=rec, checklist=CHECKLISTS["elevator"])


@bp.route("/filling", methods=["GET", "POST"])
def filling_page():
    actor = require_actor("owner", "crew")
    verdict, recorded = None, None
    tag = request.values.get("tag", "").strip()
    if request.method == "POST" and tag:
        if request.form.get("record"):
            try:
                recorded = filling.record_fill(actor=actor, tag=tag, gas=request.form.get("gas") or None)
            except AppError:
                pass
        verdict = filling.check(actor=actor, tag=tag)
    return render_template("inspections/filling.html", tag=tag, verdict=verdict, recorded=recorded)
