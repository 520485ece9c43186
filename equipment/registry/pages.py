"""Registry pages: the public scan page (the unit dossier for logged-in users is in equipment/workspace)."""
import time

from flask import Blueprint, current_app, g, render_template, session

from equipment.core import ratelimit
from equipment.core.errors import Gone, NotFound, RateLimited
from equipment.registry import service

bp = Blueprint("registry_pages", __name__)

# Other domains add, from their Domain.setup, what a crew member or inspector can do from a scan
# (roles, label key, url template, allowed(actor, unit) -> bool, or None for the registry's own visibility)
# and HTML panels on the unit page (latest state, alarms, incidents...). Kept per app, not per process.
SCAN_ACTIONS_KEY, UNIT_PANELS_KEY = "equipment.scan_actions", "equipment.unit_panels"
PUBLIC_FACTS_KEY = "equipment.public_facts"

# The public scan page's guidance by status and family: what a passer-by must do, first.
TEXT = {
    "label.use_certificate_no": ("使用登记证编号", "Use certificate no."),
    "label.inspection_agency": ("检验机构", "Inspection agency"),
    "label.life_end": ("设计使用年限至", "Design life ends"),
    "guide.elevator.suspended": ("本电梯停用整改中，请勿乘坐。", "Out of service for repairs: do not ride."),
    "guide.elevator.overdue": ("本电梯超期未检，请勿乘坐，并告知使用单位。",
                               "Inspection overdue: do not ride, and tell the user unit."),
    "guide.elevator.scrapped": ("本电梯已报废，请勿乘坐。", "Scrapped: do not ride."),
    "guide.elevator.idle": ("本电梯已停用，请勿乘坐。", "Out of use: do not ride."),
    "guide.other.suspended": ("本设备停用整改中，请勿使用。", "Out of service for repairs: do not use."),
    "guide.other.overdue": ("本设备超期未检，请勿使用。", "Inspection overdue: do not use."),
    "guide.other.scrapped": ("本设备已报废，请勿使用。", "Scrapped: do not use."),
    "guide.other.idle": ("本设备已停用，请勿使用。", "Out of use: do not use."),
    "guide.gas_cylinder.overdue": ("本气瓶超期未检，禁止充装，请勿使用。", "Inspection overdue: must not be filled or used."),
    "guide.gas_cylinder.scrapped": ("本气瓶已报废，禁止充装，请勿使用。", "Scrapped: must not be filled or used."),
    "warning.past_life": ("本气瓶已超过设计使用年限，禁止充装，请勿使用。",
                          "Past its design life: must not be filled or used."),
}
GUIDED_STATUSES = ("suspended", "overdue", "scrapped", "idle")


def guidance_key(family: str, status: str) -> str | None:
    if status not in GUIDED_STATUSES:
        return None
    own = f"guide.{family}.{status}"
    if own in TEXT:
        return own
    return f"guide.{'elevator' if family == 'elevator' else 'other'}.{status}"


def add_scan_action(app, roles, label, url_template, allowed=None) -> None:
    """`allowed` lets a domain grant an action beyond registry visibility (an inspector linked by agency)."""
    app.extensions.setdefault(SCAN_ACTIONS_KEY, []).append((frozenset(roles), label, url_template, allowed))


def add_public_facts(app, provider) -> None:
    """provider(unit) -> {"facts": [(label, value)], "warnings": [text]}: what another domain adds to the public
    scan page (the inspection agency, a cylinder's design life). No personal data."""
    app.extensions.setdefault(PUBLIC_FACTS_KEY, []).append(provider)


def public_extras(unit) -> dict:
    facts, warnings = [], []
    for provider in current_app.extensions.get(PUBLIC_FACTS_KEY, ()):
        extra = provider(unit) or {}
        facts += extra.get("facts", [])
        warnings += extra.get("warnings", [])
    return {"facts": facts, "warnings": warnings}


def add_unit_panel(app, panel) -> None:
    """panel(unit) -> HTML for the unit page."""
    app.extensions.setdefault(UNIT_PANELS_KEY, []).append(panel)


def _visible(actor, unit) -> bool:
    try:
        service.get_equipment(actor=actor, equipment_id=unit.id)
        return True
    except NotFound:
        return False


def _actions_for(unit) -> list[dict]:
    actor = g.get("actor")
    if actor is None:
        return []
    out = []
    for roles, label, url, allowed in current_app.extensions.get(SCAN_ACTIONS_KEY, ()):
        if actor.role not in roles and actor.role != "admin":
            continue
        if (allowed or _visible)(actor, unit):
            out.append({"label": label, "url": url.format(id=unit.id)})
    return out


@bp.route("/q/<string:tag>")
def scan(tag):
    try:
        ratelimit.check("public", "PUBLIC_RATE_LIMIT")
    except RateLimited:  # never a bare 429 where someone may be trapped: the hotline and the report form stay
        return render_template("registry/busy.html", tag=tag, hotline=current_app.config["HOTLINE"]), 429
    try:
        unit = service.resolve_tag(tag)
    except Gone:
        return render_template("registry/void.html"), 410
    except NotFound:
        return render_template("registry/unknown.html"), 404
    view = service.public_view(unit)
    actor = g.get("actor")
    if actor is not None:
        _note_scan(unit)
    return render_template("registry/public.html", v=view, unit_id=unit.id, actions=_actions_for(unit),
                           can_view=actor is not None and _visible(actor, unit), tag=tag,
                           extras=public_extras(unit), guidance=guidance_key(view["category"], view["status"]))


SCANS_KEY, SCANS_KEPT = "scans", 20  # units remembered per browser session (a crew scans a handful a day)


def _note_scan(unit) -> None:
    """A signed-in user's browser opened this unit's tag page: kept in the signed session cookie (never taken
    from the Referer, which in-app browsers strip), as proof of presence for maintenance and rescue arrival."""
    scans = dict(session.get(SCANS_KEY) or {})
    scans[str(unit.id)] = int(time.time())
    session[SCANS_KEY] = dict(sorted(scans.items(), key=lambda kv: kv[1])[-SCANS_KEPT:])


def scanned_at(unit_id: int) -> int | None:
    """When this browser session last opened the unit's tag page (epoch seconds), or None."""
    return (session.get(SCANS_KEY) or {}).get(str(unit_id))


def unit_panels(app) -> list:
    """The panels other domains put on the unit dossier (equipment/workspace/dossier.py)."""
    return list(app.extensions.get(UNIT_PANELS_KEY, ()))
