"""zh-CN first, English available (?lang=en, remembered in a cookie)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, request

from equipment.core.regions import region_label
from equipment.web import messages

TEXT = {
    "status.registered": ("已登记", "Registered"),
    "status.in_service": ("在用", "In service"),
    "status.overdue": ("超期未检", "Inspection overdue"),
    "status.suspended": ("停用整改", "Suspended"),
    "status.idle": ("停用", "Out of use"),
    "status.scrapped": ("已报废", "Scrapped"),
    "family.elevator": ("电梯", "Elevator"),
    "family.gas_cylinder": ("气瓶", "Gas cylinder"),
    "family.pressure_vessel": ("压力容器", "Pressure vessel"),
    "label.device_code": ("设备代码", "Device code"),
    "label.registration_code": ("注册代码", "Registration code"),
    "label.rescue_code": ("96333 救援码", "96333 rescue code"),
    "label.cylinder_code": ("气瓶编码", "Cylinder code"),
    "label.address": ("使用地点", "Location"),
    "label.user_unit": ("使用单位", "User unit"),
    "label.maintenance_unit": ("维保单位", "Maintenance unit"),
    "label.last_inspection": ("最近检验", "Last inspection"),
    "label.next_due": ("下次检验日期", "Next inspection due"),
    "label.last_maintenance": ("最近维保", "Last maintenance"),
    "label.hotline": ("应急救援电话", "Emergency hotline"),
    "label.none": ("暂无", "None yet"),
    "label.void": ("此标签已作废", "This tag is void"),
    "label.void_hint": ("请勿依据此标签判断设备状态，请联系使用单位或拨打 96333。",
                        "Do not rely on this tag; contact the user unit or call 96333."),
    "label.not_found": ("未找到该设备", "Unit not found"),
    "label.history": ("履历", "History"),
    "label.your_actions": ("您的操作", "Your actions"),
    "label.trapped": ("我被困在电梯里", "I am trapped"),
    "label.report_fault": ("报告故障", "Report a fault"),
    "label.login": ("登录", "Log in"),
    "label.username": ("用户名", "Username"),
    "label.password": ("密码", "Password"),
    "label.logout": ("退出", "Log out"),
    "label.public_notice": ("特种设备公示信息", "Special equipment public notice"),
    "conclusion.pass": ("合格", "Pass"),
    "conclusion.fail": ("不合格", "Fail"),
    "flag.no_scan": ("未扫码", "No scan"), "flag.tag_mismatch": ("标签不符", "Tag mismatch"),
}
TEXT.update(messages.all_entries())


def add_text(entries) -> None:
    """A domain's strings join the one catalogue (Domain.text, at create_app)."""
    TEXT.update(entries)


def lang() -> str:
    wanted = request.args.get("lang") or request.cookies.get("lang") or ""
    return "en" if wanted.startswith("en") else "zh"


def t(key: str, **params) -> str:
    zh, en = TEXT.get(key, (key, key))
    text = en if lang() == "en" else zh
    return text.format(**params) if params else text


def tr(prefix: str, value) -> str:
    """A stored code in words ('hist', 'registered' -> 登记); an unknown code is shown as is (and the
    untranslated-key test over the rendered pages catches it)."""
    if value is None or value == "":
        return ""
    key = f"{prefix}.{str(value).lower() if isinstance(value, bool) else value}"
    return t(key) if key in TEXT else str(value)


def tr_lead(prefix: str, value, *, zh: bool = False) -> str:
    """A code followed by free words, the code in words: ('reason', 'public: fault 按钮失灵') -> 故障 按钮失灵.
    The longest code that starts the text wins; text that starts with no code is shown as is. `zh` for text
    that leaves the page (an SMS), which is Chinese whoever triggered it."""
    text = "" if value is None else str(value)
    head = prefix + "."
    best = max((k for k in TEXT if k.startswith(head) and len(k) > len(head) and text.startswith(k[len(head):])),
               key=len, default=None)
    if best is None:
        return text
    return (TEXT[best][0] if zh else t(best)) + text[len(best) - len(head):]


def group(prefix: str) -> dict:
    """Every string under `prefix.` as {rest: text}, for a page script that labels codes it receives live."""
    head = prefix + "."
    return {key[len(head):]: t(key) for key in TEXT if key.startswith(head)}


def local_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m-%d")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def local_time(value) -> str:
    """Store UTC, show Asia/Shanghai, to the minute (an ISO string from JSON data too)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.datetime):
        tz = ZoneInfo(current_app.config["TIMEZONE"])
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def init_app(app) -> None:
    app.jinja_env.globals.update(t=t, tr=tr, tr_lead=tr_lead, lang=lang, text_group=group)
    app.jinja_env.filters.update(local_time=local_time, local_date=local_date, district=region_label)

    @app.after_request
    def remember_lang(resp):
        if request.args.get("lang") in ("en", "zh"):
            resp.set_cookie("lang", request.args["lang"], max_age=365 * 86400, samesite="Lax")
        return resp
