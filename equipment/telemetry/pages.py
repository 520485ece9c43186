"""Telemetry pages: the unit page panel (latest state + alarm timeline), the admin reject counts page,
and /metrics gauges read from the database (so they hold across consumer processes)."""
from flask import Blueprint, render_template

from equipment.auth.service import require_actor
from equipment.telemetry import codes, service
from equipment.telemetry.codes import CODES
from equipment.telemetry.models import OFFLINE_CODE
from equipment.web import i18n
from equipment.web.metrics import gauge_source

bp = Blueprint("telemetry_pages", __name__)

TEXT = {
    "telemetry.rejects": ("遥测拒收统计", "Telemetry rejects"),
    "telemetry.reason": ("原因", "Reason"),
    "telemetry.count": ("次数", "Count"),
    "telemetry.last_at": ("最近", "Last"),
    "telemetry.detail": ("详情", "Detail"),
    "telemetry.latest": ("实时状态", "Live state"),
    "telemetry.online": ("在线", "Online"),
    "telemetry.offline": ("离线", "Offline"),
    "telemetry.floor": ("楼层", "Floor"),
    "telemetry.moving": ("运行中", "Moving"),
    "telemetry.stopped": ("停止", "Stopped"),
    "telemetry.doors_closed": ("门已关", "Doors closed"),
    "telemetry.doors_open": ("门开", "Doors open"),
    "telemetry.occupied": ("有人", "Occupied"),
    "telemetry.empty": ("无人", "Empty"),
    "telemetry.alarms": ("故障与报警", "Faults and alarms"),
    # PROTOCOL.md's reject reasons (docs/protocol.md), plus the per-terminal budget
    "reject.bad_json": ("不是有效的 JSON", "Not valid JSON"), "reject.too_large": ("消息过大", "Too large"),
    "reject.not_object": ("不是 JSON 对象", "Not an object"), "reject.missing_field": ("缺少字段", "Missing field"),
    "reject.bad_type": ("字段类型错误", "Wrong type"), "reject.bad_value": ("字段取值无效", "Bad value"),
    "reject.bad_timestamp": ("时间戳超出范围", "Bad timestamp"),
    "reject.unknown_terminal": ("未登记的终端", "Unknown terminal"),
    "reject.revoked_terminal": ("已注销的终端", "Revoked terminal"),
    "reject.topic_mismatch": ("主题与终端不符", "Topic mismatch"),
    "reject.rate_limited": ("超出终端发送限额", "Over the terminal's budget"),
    # alarm codes in words for every list and the dossier (GB/T 24476 table plus the platform's own)
    **{f"alarm.{c}": (info.zh, info.en) for c, info in CODES.items()},
    f"alarm.{OFFLINE_CODE}": ("终端离线", "Terminal offline"),
}


@bp.route("/admin/telemetry/rejects")
def rejects_page():
    require_actor("admin", "regulator")
    return render_template("telemetry/rejects.html", rows=service.reject_counts())


def unit_panel(unit) -> str:
    if unit.family != "elevator":
        return ""
    names = {c: (info.zh if i18n.lang() != "en" else info.en) for c, info in codes.CODES.items()}
    return render_template("telemetry/unit_panel.html", latest=service.latest_of(unit.id),
                           alarms=service.alarms_of(unit.id, limit=30), names=names)


@gauge_source
def telemetry_gauges() -> dict:
    out = {("equipment_open_alarms", "Alarms not yet cleared", ()): service.open_alarm_count()}
    age = service.last_ingest_age_s()
    if age is not None:  # consumer lag as operators see it: how stale is the newest stored message
        out[("equipment_telemetry_last_ingest_age_seconds", "Seconds since the newest stored telemetry", ())] = age
    for row in service.reject_counts():
        out[("equipment_telemetry_rejects_stored", "Rejected telemetry messages by reason (all consumers)",
             (("reason", row.reason),))] = row.count
    return out

