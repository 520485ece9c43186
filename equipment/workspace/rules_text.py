"""The two rules tables in words: each entry's name, meaning, value with its unit and allowed range, and what
a version changed. Pure presentation over the rules documents (no database): the pages in rules_pages.py
feed it what the owning domains' services return.

A rule's path is a tuple: ("policy",) in the dispatch table, ("elevator.maintenance", "item_sets",
"quarterly", "every_days") in the inspection table (its top keys contain dots, so paths are never joined).
"""
from __future__ import annotations

import re

from equipment.web.i18n import TEXT as CATALOGUE, t, tr

DISPATCH_KEYS = ("policy", "level2_after_s", "parallel", "level2_radius_m")
POLICY_NAMES = ("ladder", "contract", "eta", "pool")

TEXT = {
    "nav.rules": ("规则设置", "Rules"),
    "rl.title": ("规则设置", "Rules"),
    "rl.intro": ("平台按这里的现行版本派单和计算检验、维保到期日。每次修改都保存为新版本并记入审计日志，旧版本保留备查。",
                 "The platform dispatches and computes due dates by the versions in force here. Every change is "
                 "a new version, recorded in the audit log; old versions stay for the record."),
    "rl.dispatch": ("应急派单规则", "Rescue dispatch rules"),
    "rl.inspection": ("检验与维保周期规则", "Inspection and maintenance rules"),
    "rl.version": ("现行第 {version} 版", "Version {version} in force"),
    "rl.version_n": ("第 {version} 版", "Version {version}"),
    "rl.version0": ("初始设置（未修改过）", "Initial settings (never changed)"),
    "rl.history": ("版本记录", "Version history"),
    "rl.value": ("现行值", "In force"),
    "rl.range": ("允许范围", "Allowed"),
    "rl.item": ("项目", "Item"),
    "rl.last_change": ("最近修改", "Last changed"),
    "rl.never_changed": ("未修改过（初始值）", "Never changed (initial value)"),
    "rl.edit": ("修改", "Change"),
    "rl.note": ("变更说明（必填）", "Reason for the change (required)"),
    "rl.note_hint": ("写明依据，例如监管决定的文号或会议纪要", "State the grounds, e.g. the decision's reference"),
    "rl.note_required": ("请填写变更说明", "A reason for the change is required"),
    "rl.note_too_long": ("变更说明最多 500 字", "At most 500 characters"),
    "rl.save": ("保存为新版本", "Save as a new version"),
    "rl.saved": ("已保存：{name}，现行第 {version} 版，下一次派单或到期计算即按新规则执行。",
                 "Saved: {name}; version {version} is in force from the next decision."),
    "rl.admin_only": ("检验规则仅系统管理员可修改；监管部门可查看现行值和版本记录。",
                      "Only admins change these rules; regulators see them and their history."),
    "rl.source": ("数据依据", "Where the figures come from"),
    "rl.source_text": ("修改前可用仿真命令比较各派单策略的到场用时（固定随机种子，不连数据库，城市参数及其来源见参数文件）：",
                       "Before a change, compare the policies' arrival times with the simulation (seeded, no "
                       "database; the city's parameters and their sources are in the parameter file):"),
    "rl.source_stats": ("生效后的实际效果看救援统计：3 分钟响应率、30 分钟和 15 分钟到场率、90% 到场用时、跨单位救援占比，以及其中注明的派单策略版本。",
                        "After a change, the rescue statistics show its effect: 3-minute response, 30- and "
                        "15-minute arrival, 90th percentile arrival, rescues by another unit, and the rules "
                        "version in force."),
    "rl.to_stats": ("查看救援统计", "Open the rescue statistics"),
    "rl.version_col": ("版本", "Version"),
    "rl.when": ("时间", "When"),
    "rl.who": ("修改人", "By"),
    "rl.changes": ("变更内容", "Changes"),
    "rl.first_version": ("首个版本，内容如下", "First version, in full"),
    "rl.no_change": ("内容与上一版相同", "Same as the version before"),
    "rl.none": ("暂无版本记录", "No versions yet"),
    "rl.back": ("返回规则设置", "Back to the rules"),
    "rl.by.migration": ("系统初始化", "platform setup"),
    "rl.note.defaults": ("出厂默认值", "shipped defaults"),
    "rl.note.edit": ("修改{name}（未填写说明）", "changed {name} (no reason given)"),
    "rl.note.loaded": ("从规则文件载入", "loaded from a rules file"),
    "rl.yes": ("是", "yes"), "rl.no": ("否", "no"),
    "rl.range.number": ("不小于 0 的数", "a number >= 0"),
    "rl.range.bool": ("是或否", "yes or no"),
    "rl.range.list": ("不小于 0 的数，多个用逗号分隔", "numbers >= 0, separated by commas"),
    "rl.range.names": ("名称，多个用逗号分隔", "names, separated by commas"),
    "rl.range.choose": ("从{names}中选，至少一项", "at least one of {names}"),
    "rl.range.between": ("{low} 至 {high}", "{low} to {high}"),
    "rl.grade": ("{n} 级", "grade {n}"),
    "rl.sep": (" · ", " · "),
    # the dispatch table
    "rl.d.policy": ("派单策略", "Dispatch policy"),
    "rl.d.policy.about": ("困人事件的救援任务先派给谁。派其他单位的人员属于监管决定，默认是法定逐级派单。",
                          "Who gets a trapped-passenger rescue first. Sending another unit's crew is the "
                          "regulator's decision; the default is the legal order."),
    "rl.d.level2_after_s": ("转派其他单位前的等待时间", "Wait before another unit is asked"),
    "rl.d.level2_after_s.about": ("首次派单后这么久仍无人接单，就转向其他维保单位（第二级）；维保单位没有可用人员时立即转向。仅派维保单位和就近派单（不限单位）两种策略不使用此项。",
                                  "With no acceptance this long after the first offer, other units are asked "
                                  "(level 2); at once when the contracted unit has nobody. Not used by the "
                                  "contracted-only and nearest-of-any-unit policies."),
    "rl.d.parallel": ("第二级同时派单的队伍数", "Crews asked at once at level 2"),
    "rl.d.parallel.about": ("转向其他单位时，同时向几支距离最近的可用队伍发出派单，先接单者前往。",
                            "At level 2, how many of the nearest able crews of other units get the offer at once; "
                            "the first to accept goes."),
    "rl.d.level2_radius_m": ("第二级寻找范围", "Level-2 search radius"),
    "rl.d.level2_radius_m.about": ("转向其他单位时，只在这个直线距离内寻找可用人员；范围内没有人时通知 119 消防救援。",
                                   "At level 2, only crews within this straight-line distance are asked; with "
                                   "nobody in range the fire brigade (119) is called."),
    "rl.policy.ladder": ("法定逐级派单", "Legal order"),
    "rl.policy.contract": ("仅派维保单位", "Contracted unit only"),
    "rl.policy.eta": ("就近优先（其他单位早到 {slack} 分钟以上时）", "Nearest first (another unit over {slack} min sooner)"),
    "rl.policy.pool": ("就近派单（不限单位）", "Nearest crew of any unit"),
    "rl.policy.eta_short": ("就近优先", "Nearest first"),
    "rl.policy.ladder.about": ("维保单位最近的可用人员优先；等待超时仍无人接单，或维保单位没有可用人员，派寻找范围内其他单位最近的人员；都没有时通知 119。",
                               "The contracted unit's nearest able crew first; after the wait without an "
                               "acceptance, or when it has nobody, the nearest crews of other units in range; "
                               "with nobody, the fire brigade (119)."),
    "rl.policy.contract.about": ("只派维保单位的人员，不转其他单位；没有可用人员时通知 119。",
                                 "Only the contracted unit's crews, never another unit; with nobody, 119."),
    "rl.policy.eta.about": ("维保单位优先；若其他单位的人员预计比维保单位早到超过所填分钟数（按城市分时车速和道路绕行估算），直接派其他单位；等待超时后同法定逐级派单。",
                            "The contracted unit first, unless another unit's crew would arrive more than the "
                            "given minutes sooner (urban speed by hour and road circuity); after the wait, as "
                            "the legal order."),
    "rl.policy.pool.about": ("派距离最近的可用人员，不论属于哪个单位。", "The nearest able crew of any unit."),
    "rl.policy.slack": ("就近优先：其他单位至少早到（分钟）", "Nearest first: another unit sooner by (min)"),
    "rl.policy.slack_hint": ("仅“就近优先”策略使用；按城市车速和道路绕行系数估算到场时间。",
                             "Only for the nearest-first policy; arrival estimated from urban speed and road "
                             "circuity."),
    "rl.unit.s": ("{v} 秒（{min} 分钟）", "{v} s ({min} min)"),
    "rl.unit.m": ("{v} 米（{km} 公里）", "{v} m ({km} km)"),
    "rl.unit.crews": ("{v} 支", "{v}"),
    "rl.range.s": ("{low}–{high} 秒（{lmin}–{hmin} 分钟）", "{low}–{high} s ({lmin}–{hmin} min)"),
    "rl.range.m": ("{low}–{high} 米（{lkm}–{hkm} 公里）", "{low}–{high} m ({lkm}–{hkm} km)"),
    "rl.range.crews": ("{low}–{high} 支", "{low}–{high}"),
    "rl.range.policy": ("{names} 四选一；就近优先须填分钟数（不小于 0）", "one of {names}; nearest first needs minutes >= 0"),
    # the inspection table: entries
    "rl.i.elevator.inspection": ("电梯定期检验", "Elevator periodic inspection"),
    "rl.i.elevator.inspection.about": ("电梯下次检验日期的计算依据（《电梯监督检验和定期检验规则》）；到期提醒写明“提前申报检验”"
                                       "对应的申报截止日；新梯自行检测为改革试点，默认关闭。",
                                       "How an elevator's next inspection date is computed; reminders name the "
                                       "day to apply by; the young-lift self-testing pilot is off by default."),
    "rl.i.elevator.maintenance": ("电梯维护保养", "Elevator maintenance"),
    "rl.i.elevator.maintenance.about": ("维保间隔（《电梯维护保养规则》）和各类维保项目的周期、最短作业时间；短于最短时间的记录会被标记。",
                                        "Maintenance interval and each item set's period and minimum time; "
                                        "shorter records are flagged."),
    "rl.i.pressure_vessel.fixed.inspection": ("固定式压力容器定期检验", "Fixed pressure vessel inspection"),
    "rl.i.pressure_vessel.fixed.inspection.about": ("按安全状况等级确定检验周期；列为不允许使用的等级停止使用。",
                                                    "The interval follows the safety grade; the listed grades "
                                                    "may not stay in use."),
    "rl.i.pressure_vessel.mobile.inspection": ("移动式压力容器定期检验", "Mobile pressure vessel inspection"),
    "rl.i.pressure_vessel.mobile.inspection.about": ("罐车等移动式容器：首次检验时间和按安全状况等级的检验周期。",
                                                     "Tank vehicles and the like: first inspection and the interval "
                                                     "by safety grade."),
    "rl.i.gas_cylinder.inspection": ("气瓶定期检验", "Gas cylinder inspection"),
    "rl.i.gas_cylinder.inspection.about": ("按充装介质分类的检验周期。",
                                           "Inspection interval by the gas's class."),
    "rl.i.gas_cylinder.lpg": ("液化石油气钢瓶", "LPG cylinders"),
    "rl.i.gas_cylinder.lpg.about": ("检验周期和使用年限（GB 5842）：设计年限届满前后检验合格可延期，但不超过最长使用年限。",
                                    "Interval and service life: a pass near the end of the design life extends "
                                    "it, never beyond the maximum."),
    "rl.i.reminders": ("到期提醒", "Due-date reminders"),
    "rl.i.reminders.about": ("到期前何时提醒使用单位、用哪些渠道，以及“即将到期”的天数。",
                             "When and through which channels owners are reminded, and when a due date counts as "
                             "soon."),
    "rl.i.maintenance.plausibility": ("维保记录真实性核查", "Maintenance record checks"),
    "rl.i.maintenance.plausibility.about": ("识别虚假维保：扫码位置离设备太远，或同一人员在短时间内出现在相距过远的两处，记录会被标记。",
                                            "Flags fake maintenance: a scan too far from the unit, or one person "
                                            "in two far-apart places within a short time."),
    # the inspection table: fields
    "rl.f.interval_months": ("检验周期", "Interval"),
    "rl.f.apply_before_months": ("提前申报检验", "Apply this early"),
    "rl.f.young_self_testing": ("新梯自行检测试点", "Young-lift self-testing pilot"),
    "rl.f.enabled": ("启用", "On"),
    "rl.f.max_age_years": ("适用梯龄上限", "Up to lift age"),
    "rl.f.interval_days": ("维保间隔", "Interval"),
    "rl.f.item_sets": ("维保项目", "Item set"),
    "rl.f.half_monthly": ("半月项目", "Half-monthly"),
    "rl.f.quarterly": ("季度项目", "Quarterly"),
    "rl.f.semi_annual": ("半年项目", "Half-yearly"),
    "rl.f.annual": ("年度项目", "Annual"),
    "rl.f.every_days": ("周期", "Every"),
    "rl.f.min_minutes": ("最短作业时间", "Minimum time"),
    "rl.f.first_within_months": ("投用后首次检验期限", "First inspection within"),
    "rl.f.first_after_months": ("投用后首次检验", "First inspection after"),
    "rl.f.grade_interval_months": ("检验周期（按安全状况等级）", "Interval by safety grade"),
    "rl.f.grade3_range_months": ("3 级周期可选范围", "Grade 3 interval range"),
    "rl.f.grade4_max_total_months": ("4 级监控使用累计上限", "Grade 4 monitored use at most"),
    "rl.f.not_allowed_grades": ("不允许使用的安全状况等级", "Grades not allowed in use"),
    "rl.f.class_interval_months": ("检验周期（按介质）", "Interval by gas class"),
    "rl.f.corrosive": ("腐蚀性介质", "Corrosive"),
    "rl.f.general": ("一般气体", "General"),
    "rl.f.inert": ("惰性气体", "Inert"),
    "rl.f.design_life_years": ("设计使用年限", "Design life"),
    "rl.f.extension_years": ("检验合格可延长", "A pass extends by"),
    "rl.f.max_life_years": ("最长使用年限", "Maximum life"),
    "rl.f.extension_window_months": ("设计年限届满前可检验延期的时段", "Extension window before the end"),
    "rl.f.offsets_days": ("到期前提醒时间", "Remind before due"),
    "rl.f.due_soon_days": ("“即将到期”天数", "Due soon within"),
    "rl.f.channels": ("提醒渠道", "Channels"),
    "rl.f.stale_claim_minutes": ("发送中断后重试等待", "Retry a stalled send after"),
    "rl.f.max_attempts": ("最多发送次数", "Send attempts at most"),
    "rl.f.max_distance_m": ("扫码位置离设备最远", "Scan at most this far from the unit"),
    "rl.f.travel_km": ("两处记录相距超过", "Two records farther apart than"),
    "rl.f.travel_minutes": ("且时间相差不足", "within"),
    "rl.channel.email": ("电子邮件", "e-mail"),
    "rl.channel.webhook": ("网络回调", "web callback"),
    "rl.channel.sms": ("短信", "text message"),
    "rl.u.months": ("{v} 个月", "{v} months"), "rl.u.days": ("{v} 天", "{v} days"),
    "rl.u.years": ("{v} 年", "{v} years"), "rl.u.minutes": ("{v} 分钟", "{v} min"),
    "rl.u.m": ("{v} 米", "{v} m"), "rl.u.km": ("{v} 公里", "{v} km"), "rl.u.times": ("{v} 次", "{v} times"),
    "rl.u.grades": ("{v} 级", "grade {v}"),
    "rl.un.months": ("单位：月", "months"), "rl.un.days": ("单位：天", "days"), "rl.un.years": ("单位：年", "years"),
    "rl.un.minutes": ("单位：分钟", "minutes"), "rl.un.m": ("单位：米", "metres"), "rl.un.km": ("单位：公里", "km"),
    "rl.un.times": ("单位：次", "times"), "rl.un.grades": ("安全状况等级", "safety grades"),
}
# a field name's ending -> its unit (the inspection rules name their units: interval_months, max_distance_m)
UNITS = (("_months", "months"), ("_days", "days"), ("_years", "years"), ("_minutes", "minutes"), ("_km", "km"),
         ("_m", "m"), ("_attempts", "times"), ("_grades", "grades"))


def g(value) -> str:
    """A number as people write it: 300, 0.5, 10 (never 300.0)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- the dispatch table --------------------------------------------------------------------------------

def policy_parts(label: str) -> tuple[str, str]:
    """('eta(10)') -> ('eta', '10'); the stored label is what choice.parse_policy wrote."""
    match = re.fullmatch(r"eta\((.*)\)", label or "")
    return ("eta", match[1]) if match else (label, "")


def policy_words(label: str) -> str:
    name, slack = policy_parts(label)
    return t(f"rl.policy.{name}", slack=slack) if f"rl.policy.{name}" in CATALOGUE else label


def dispatch_value(key: str, value) -> str:
    if key == "policy":
        return policy_words(value)
    if key == "level2_after_s":
        return t("rl.unit.s", v=g(value), min=g(round(value / 60, 1)))
    if key == "level2_radius_m":
        return t("rl.unit.m", v=g(value), km=g(round(value / 1000, 1)))
    return t("rl.unit.crews", v=g(value))


def dispatch_range(key: str, bounds: dict) -> str:
    if key == "policy":
        return t("rl.range.policy", names="、".join(c["words"] for c in policy_choices()))
    low, high = bounds[key]
    if key == "level2_after_s":
        return t("rl.range.s", low=g(low), high=g(high), lmin=g(low / 60), hmin=g(high / 60))
    if key == "level2_radius_m":
        return t("rl.range.m", low=g(low), high=g(high), lkm=g(low / 1000), hkm=g(high / 1000))
    return t("rl.range.crews", low=g(low), high=g(high))


def dispatch_rows(rules: dict, bounds: dict, changes: dict) -> list[dict]:
    return [{"key": key, "name": t(f"rl.d.{key}"), "about": t(f"rl.d.{key}.about"),
             "value": rules[key], "words": dispatch_value(key, rules[key]), "range": dispatch_range(key, bounds),
             "last": changes.get((key,))} for key in DISPATCH_KEYS]


def policy_choices() -> list[dict]:
    return [{"name": n, "words": t("rl.policy.eta_short" if n == "eta" else f"rl.policy.{n}"),
             "about": t(f"rl.policy.{n}.about")} for n in POLICY_NAMES]


# --- the inspection table ------------------------------------------------------------------------------

def leaves(doc, path: tuple = ()) -> list[tuple[tuple, object]]:
    """Every value of a rules document by its path (comments left out)."""
    if isinstance(doc, dict):
        return [leaf for key, value in doc.items() if key != "_comment" for leaf in leaves(value, (*path, key))]
    return [(path, doc)]


def field_label(path: tuple) -> str:
    return t("rl.sep").join(t("rl.grade", n=p) if p.isdigit() else tr("rl.f", p) for p in path)


def _unit(path: tuple) -> str | None:
    for name in reversed(path):
        for ending, unit in UNITS:
            if name.endswith(ending):
                return unit
    return None


def field_value(path: tuple, value) -> str:
    if isinstance(value, bool):
        return t("rl.yes" if value else "rl.no")
    if isinstance(value, list):
        shown = "、".join(tr("rl.channel", v) if isinstance(v, str) else g(v) for v in value)
    else:
        shown = g(value)
    unit = _unit(path)
    return t(f"rl.u.{unit}", v=shown) if unit else shown


def field_range(value) -> str:
    if isinstance(value, bool):
        return t("rl.range.bool")
    if isinstance(value, list):
        return t("rl.range.names" if value and isinstance(value[0], str) else "rl.range.list")
    return t("rl.range.number")


def _hint(path: tuple, value) -> str:
    """What the edit form's label adds: the unit, then the allowed range."""
    unit = _unit(path)
    return t("rl.sep").join([*([t(f"rl.un.{unit}")] if unit else []), field_range(value)])


def _choose(names) -> str:
    return t("rl.range.choose", names="、".join(tr("rl.channel", n) for n in names)) if names else ""


def form_value(value) -> str:
    """The value as the edit form shows it (lists comma-separated)."""
    if isinstance(value, list):
        return ", ".join(g(v) for v in value)
    return "true" if value is True else "false" if value is False else g(value)


def inspection_entries(rules: dict, changes: dict, choices: dict) -> list[dict]:
    """`choices`: {field name: the names it may hold} for the fields the form offers as check boxes."""
    out = []
    for key, doc in rules.items():
        if key == "_comment":
            continue
        fields = [{"path": path, "name": "/".join(path), "label": field_label(path),
                   "words": field_value(path, value), "form": form_value(value),
                   "range": _choose(choices.get(path[-1])) or field_range(value),
                   "bool": isinstance(value, bool), "hint": _hint(path, value),
                   "choices": [(c, tr("rl.channel", c)) for c in choices.get(path[-1], ())]}
                  for path, value in leaves(doc)]
        out.append({"key": key, "name": tr("rl.i", key), "about": tr("rl.i", f"{key}.about"), "fields": fields,
                    "last": changes.get((key,))})
    return out


# --- versions --------------------------------------------------------------------------------------------

def changed(new: dict, old: dict | None) -> list[tuple[tuple, object, object]]:
    """(path, old, new) of every value that differs; [] for the first version (old is None)."""
    if old is None:
        return []
    before = dict(leaves(old))
    after = dict(leaves(new))
    return [(p, before.get(p), after.get(p)) for p in dict.fromkeys([*after, *before])
            if before.get(p) != after.get(p)]


def change_words(table: str, path: tuple, value) -> tuple[str, str]:
    """(name, value) of one changed value in words."""
    if value is None:
        return (_name(table, path), "—")
    if table == "dispatch":
        return (t(f"rl.d.{path[0]}"), dispatch_value(path[0], value))
    return (_name(table, path), field_value(path[1:], value))


def _name(table: str, path: tuple) -> str:
    if table == "dispatch":
        return tr("rl.d", path[0])
    return t("rl.sep").join([tr("rl.i", path[0]), *([field_label(path[1:])] if path[1:] else [])])


def who(name: str) -> str:
    return t("rl.by.migration") if name == "migration" else name


def note_words(table: str, note: str | None) -> str:
    """Notes the platform wrote itself, in words; a person's note as written."""
    note = (note or "").strip()
    if note == "defaults (rules.json)":
        return t("rl.note.defaults")
    if note.startswith("loaded from "):
        return t("rl.note.loaded")
    match = re.fullmatch(r"edit (\S+)", note)
    if match:
        return t("rl.note.edit", name=_name(table, (match[1],)))
    return note
