"""GB/T 24476 elevator/escalator event codes (DOMAIN.md §5) as data.

Pure module: the MQTT consumer, the rules and the web views all read the same table.
"""
from __future__ import annotations

from typing import NamedTuple

FAULT = "fault"
STATUS = "status"
ALARM_BUTTON = "alarm_button"
KINDS = (FAULT, STATUS, ALARM_BUTTON)

SEVERITIES = ("critical", "major", "minor", "info")

BACK_TO_NORMAL = "40"
MAINS_POWER_LOST = "41"
DOOR_OPEN_FAILURE = "03"
STOPPED_OUTSIDE_DOOR_ZONE = "04"
UNINTENDED_CAR_MOVEMENT = "05"
TRAPPED = "11"
ALARM_BUTTON_CODE = "90"


class CodeInfo(NamedTuple):
    key: str
    severity: str
    zh: str
    en: str
    kind: str


_F, _S, _B = FAULT, STATUS, ALARM_BUTTON

CODES: dict[str, CodeInfo] = {
    "01": CodeInfo("safety_circuit_broken", "critical", "运行中安全回路断路",
                   "Safety circuit broken while running", _F),
    "02": CodeInfo("door_close_failure", "major", "关门故障", "Door fails to close", _F),
    "03": CodeInfo("door_open_failure", "major", "开门故障", "Door fails to open", _F),
    "04": CodeInfo("stopped_outside_door_zone", "major", "门区外停梯",
                   "Stopped outside the door zone", _F),
    "05": CodeInfo("unintended_car_movement", "critical", "轿厢意外移动",
                   "Unintended car movement (moving with door open)", _F),
    "06": CodeInfo("motor_runtime_limiter", "major", "电动机运转时间限制器动作",
                   "Motor run-time limiter tripped", _F),
    "07": CodeInfo("floor_position_lost", "major", "楼层位置丢失", "Floor position lost", _F),
    "08": CodeInfo("rerun_lockout", "major", "防止电梯再运行动作", "Re-run lockout", _F),
    "09": CodeInfo("top_overrun", "critical", "冲顶", "Top overrun", _F),
    "10": CodeInfo("bottom_overrun", "critical", "蹲底", "Bottom overrun", _F),
    "11": CodeInfo("trapped", "critical", "困人", "Passengers trapped", _F),
    "40": CodeInfo("back_to_normal", "info", "恢复正常", "Back to normal", _S),
    "41": CodeInfo("mains_power_lost", "major", "主电源断电", "Mains power lost", _S),
    "42": CodeInfo("out_of_service", "minor", "停止服务", "Out of service", _S),
    "43": CodeInfo("inspection_mode", "info", "检修运行", "Inspection mode", _S),
    "44": CodeInfo("fire_return", "major", "消防返回", "Fire return", _S),
    "45": CodeInfo("firefighter_mode", "major", "消防员运行", "Firefighter operation", _S),
    "46": CodeInfo("emergency_power", "minor", "应急电源运行", "Emergency power operation", _S),
    "47": CodeInfo("earthquake_mode", "major", "地震运行", "Earthquake operation", _S),
    "61": CodeInfo("escalator_safety_circuit", "critical", "自动扶梯安全回路断路",
                   "Escalator safety circuit broken", _F),
    "62": CodeInfo("escalator_overspeed", "critical", "自动扶梯超速", "Escalator overspeed", _F),
    "63": CodeInfo("escalator_unintended_reversal", "critical", "自动扶梯非操纵逆转",
                   "Escalator unintended reversal", _F),
    "64": CodeInfo("escalator_missing_step", "critical", "梯级或踏板缺失",
                   "Escalator missing step or pallet", _F),
    "65": CodeInfo("escalator_restart_lockout", "major", "自动扶梯防止再启动",
                   "Escalator restart lockout", _F),
    "90": CodeInfo("alarm_button", "critical", "轿厢报警按钮", "Car alarm button pressed", _B),
}

FAULT_CODES = frozenset(c for c, info in CODES.items() if info.kind == FAULT)
STATUS_CODES = frozenset(c for c, info in CODES.items() if info.kind == STATUS)
# Critical faults (01, 05, 09, 10, 61-64): the maintenance unit is told at once (a 故障 notice), not only
# an alarm row. 11 is critical too but is a rescue of its own.
CRITICAL_FAULTS = frozenset(c for c, info in CODES.items()
                            if info.kind == FAULT and info.severity == "critical" and c != TRAPPED)


def is_known(code: str) -> bool:
    return code in CODES


def lookup(code: str) -> CodeInfo | None:
    return CODES.get(code)


def kind_of(code: str) -> str | None:
    info = CODES.get(code)
    return info.kind if info else None
