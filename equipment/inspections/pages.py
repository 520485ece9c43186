"""Mobile-first pages for inspectors, crews and filling stations, starting from a tag scan."""
from __future__ import annotations

import time

from flask import Blueprint, Response, flash, redirect, render_template, request
from marshmallow import ValidationError

from equipment.auth.service import require_actor
from equipment.core import files
from equipment.core.errors import AppError, NotFound
from equipment.core.input_guard import large_body
from equipment.registry import pages as registry_pages
from equipment.registry import service as registry
from equipment.inspections import checklists, filling, maintenance, schedule, schemas, service
from equipment.web import error_text, i18n

bp = Blueprint("inspection_pages", __name__)

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
    "label.choose": ("请选择", "Choose"),
    "label.requirement": ("要求", "Requirement"),
    "label.form_errors": ("请更正以下问题后再提交：", "Please correct the following:"),
    "inspection.items_missing": ("合格结论须逐项填写：尚有 {n} 项未填写（{names} 等，已在下方标出）",
                                 "A pass needs every item: {n} not answered ({names}..., marked below)"),
    "inspection.recorded": ("检验结果已记录：{conclusion}", "Inspection recorded: {conclusion}"),
    "inspection.pass_rule": ("合格结论须逐项填写并填写报告编号；不合格结论须至少记录一项问题。",
                             "A pass needs every item answered and a report number; a fail needs a defect."),
    "label.defect": ("问题及整改要求", "Defect and rectification"),
    "label.deadline": ("整改期限", "Rectification deadline"),
    "label.notes": ("备注", "Notes"),
    "label.item_set": ("维保项目", "Item set"),
    "label.scan_missing": ("未通过扫码进入：请扫描设备上的二维码后再开始维保。",
                           "Not opened from a scan: scan the unit's tag to start maintenance."),
    "label.position_hint": ("将记录手机位置，用于核实现场维保。", "Your phone's position is recorded as proof of presence."),
    "label.submit": ("提交", "Submit"),
    "label.finish": ("完成维保", "Finish maintenance"),
    "label.photos": ("现场照片", "Photos"),
    "label.items_done": ("已完成项目", "Items done"),
    "maintenance.min_hint": ("本次维保项目共 {n} 项，合理用时不少于 {m} 分钟；漏项或用时过短的记录将被标记供监管核查。",
                             "{n} items; plausible time at least {m} minutes. Records with missing items or too short "
                             "are flagged for review."),
    "maintenance.recorded": ("维保记录已提交", "Maintenance recorded"),
    "maintenance.check_all": ("全部勾选", "Tick all"),
    "label.filling": ("充装前检查", "Filling check"),
    "label.tag": ("标签", "Tag"),
    "label.check": ("检查", "Check"),
    "label.record_fill": ("记录充装", "Record fill"),
    "filling.scan_or_type": ("扫描气瓶二维码（或输入标签/气瓶编码）", "Scan the cylinder's QR code (or type the tag or code)"),
    "filling.camera": ("用摄像头扫码", "Scan with camera"),
    "filling.allow": ("允许充装", "Filling allowed"), "filling.deny": ("禁止充装", "Do not fill"),
    "filling.gas_medium": ("充装介质", "Gas"), "filling.manufacture_date": ("制造日期", "Manufactured"),
    "filling.life_end": ("设计使用年限至", "Design life ends"), "filling.design_life": ("设计使用年限 {n} 年", "{n}-year life"),
    "filling.last_fill": ("上次充装", "Last fill"), "filling.recorded": ("已记录充装", "Fill recorded"),
    "result.pass": ("合格", "Pass"), "result.fail": ("不合格", "Fail"), "result.na": ("无此项", "N/A"),
    "item_set.half_monthly": ("半月", "Half-monthly"), "item_set.quarterly": ("季度", "Quarterly"),
    "item_set.semi_annual": ("半年", "Semi-annual"), "item_set.annual": ("年度", "Annual"),
    **{f"conclusion.{code}": (zh, en) for codes in schedule.CONCLUSIONS.values()
       for code, (zh, en, _) in codes.items()},
}


def _form_inspection(unit, checklist: list[dict]) -> dict:
    """The page's form goes through the same boundary schema as the API: no raw value reaches the service.
    Each failed item becomes a defect (with the deadline), besides the free-text one."""
    form = request.form
    answers = {item["key"]: form.get(f"item_{item['key']}") for item in checklist}
    items = [{"item": key, "result": answer, "note": form.get(f"note_{key}") or None}
             for key, answer in answers.items() if answer]
    deadline = form.get("deadline") or None
    names = {item["key"]: item["zh"] for item in checklist}
    defects = [{"item": i["item"], "description": "：".join(filter(None, (names[i["item"]], i["note"]))),
                "deadline": deadline} for i in items if i["result"] == "fail"]
    if form.get("defect"):
        defects.append({"item": "general", "description": form["defect"], "deadline": deadline})
    raw = {"equipment_id": unit.id, "kind": form.get("kind") or "periodic", "date": form.get("date"),
           "conclusion": form.get("conclusion"), "report_no": form.get("report_no") or None,
           "safety_grade": form.get("safety_grade") or None, "follows_id": form.get("follows_id") or None,
           "items": items, "defects": defects, "notes": form.get("notes") or None}
    data = schemas.InspectionIn().load(raw)
    data.pop("equipment_id")
    known = schedule.CONCLUSIONS.get(unit.family, {})
    if data["conclusion"] in known:  # an unknown code is refused by the service with its own message
        checklists.check_inspection_form(items=checklist, answers=answers, report_no=data["report_no"],
                                         passed=schedule.conclusion_passed(unit.family, data["conclusion"]),
                                         defects=defects)
    return data


def _error_lines(errors: dict, checklist: list[dict]) -> list[str]:
    """Field errors as sentences: unanswered checklist items as one line (each is highlighted in the form),
    other fields by their label."""
    names = {f"item_{item['key']}": item["zh"] for item in checklist}
    missing = [names[field] for field in errors if field in names]
    lines = [i18n.t("inspection.items_missing").format(n=len(missing), names="、".join(missing[:3]))] if missing else []
    for field, messages in errors.items():
        if field in names:
            continue
        label = "" if field in ("_", "defect") else i18n.t(f"label.{field}")
        for message in messages if isinstance(messages, list) else [messages]:
            lines.append(f"{label}：{message}" if label else str(message))
    return lines


@bp.route("/inspect/<int:equipment_id>", methods=["GET", "POST"])
def inspect(equipment_id):
    actor = require_actor("inspector", "regulator")
    unit = service.get_unit(actor=actor, equipment_id=equipment_id)
    checklist = checklists.inspection_items(unit.family, unit.category_code)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            insp = service.record_inspection(actor=actor, equipment_id=unit.id, **_form_inspection(unit, checklist))
            flash(i18n.t("inspection.recorded").format(conclusion=i18n.t(f"conclusion.{insp.conclusion}")))
            return redirect(f"/units/{unit.id}")
        except ValidationError as err:
            errors, status = err.normalized_messages(), 422
        except AppError as err:
            message, details = error_text.localise(err.status, err.message, err.details, lang=i18n.lang())
            errors, status = (details or {"_": [message]}), err.status
    return render_template("inspections/inspect.html", unit=unit, errors=errors, form=request.form,
                           error_lines=_error_lines(errors, checklist),
                           conclusions=schedule.CONCLUSIONS.get(unit.family, {}), checklist=checklist,
                           today=service.obligations.today_local()), status


SCAN_VALID_S = 4 * 3600  # a visit starts within a few hours of scanning the unit's tag


def _scanned_tag(unit) -> str | None:
    """The unit's tag when this browser session scanned it recently (the scan page notes it in the signed
    session cookie; the Referer is not proof: in-app browsers strip it and anyone can set it)."""
    at = registry_pages.scanned_at(unit.id)
    if at is None or not 0 <= time.time() - at <= SCAN_VALID_S:
        return None
    tag = registry.active_tag(unit.id)
    return tag.tag if tag is not None else None


@bp.route("/maintain/<int:equipment_id>", methods=["GET", "POST"])
def maintain(equipment_id):
    actor = require_actor("crew")
    unit = service.get_unit(actor=actor, equipment_id=equipment_id)
    tag, error = _scanned_tag(unit), None
    if request.method == "POST" and tag:
        try:
            rec = maintenance.start(actor=actor, tag=tag, item_set=request.form.get("item_set", "half_monthly"),
                                    lat=request.form.get("lat", type=float), lon=request.form.get("lon", type=float))
            return redirect(f"/maintain/record/{rec.id}")
        except AppError as err:
            message, details = error_text.localise(err.status, err.message, err.details, lang=i18n.lang())
            error = details or message
    sets = list(maintenance._item_sets())
    return render_template("inspections/maintain.html", unit=unit, tag=tag, error=error, item_sets=sets,
                           counts={s: len(checklists.maintenance_items(unit.category_code, s)) for s in sets})


def _own_record(actor, record_id: int):
    rec = maintenance.db.session.get(maintenance.MaintenanceRecord, record_id)
    if rec is None or rec.crew_user_id != actor.user_id:
        raise NotFound("No such maintenance record")
    return rec


@bp.route("/maintain/record/<int:record_id>", methods=["GET", "POST"])
@large_body  # camera photos: the upload limit, not the small form one
def maintain_record(record_id):
    """Tick the set's items (TSG T5002), add photos from the phone camera, finish."""
    actor = require_actor("crew")
    rec = _own_record(actor, record_id)
    unit = service.get_unit(actor=actor, equipment_id=rec.equipment_id)
    items = checklists.maintenance_items(unit.category_code, rec.item_set)
    error = None
    if request.method == "POST" and rec.status == "open":
        done = set(request.form.getlist("done"))
        answers = [{"item": i["key"], "result": "pass"} for i in items if i["key"] in done]
        try:
            photos = [files.store(f.read())["sha256"] for f in request.files.getlist("photos") if f.filename]
            rec = maintenance.finish(actor=actor, record_id=rec.id, items=answers, photos=photos,
                                     notes=request.form.get("notes") or None)
            flash(i18n.t("maintenance.recorded") + ("" if not rec.flags else "（" + "、".join(
                i18n.t(f"flag.{flag}") for flag in rec.flags) + "）"))
            return redirect(f"/units/{rec.equipment_id}")
        except AppError as err:
            error = "；".join(m for ms in (err.details or {"_": [err.message]}).values() for m in ms)
    return render_template("inspections/maintain_finish.html", rec=rec, unit=unit, items=items, error=error,
                           min_minutes=maintenance._item_sets().get(rec.item_set, {}).get("min_minutes"))


@bp.route("/maintain/record/<int:record_id>/photo/<string:digest>")
def maintenance_photo(record_id, digest):
    """A photo of a record, for whoever may see the unit."""
    actor = require_actor()
    rec = maintenance.db.session.get(maintenance.MaintenanceRecord, record_id)
    if rec is None or digest not in (rec.photos or []):
        raise NotFound("No such photo")
    service.get_unit(actor=actor, equipment_id=rec.equipment_id)  # 404 outside the caller's scope
    data, kind = files.read(digest)
    return Response(data, mimetype=kind, headers={"Cache-Control": "private, max-age=86400",
                                                  "X-Content-Type-Options": "nosniff"})


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
