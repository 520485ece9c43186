"""Registry pages: the public scan page (the unit dossier for logged-in users is in equipment/workspace)."""
from flask import Blueprint, current_app, g, render_template

from equipment.core import ratelimit
from equipment.core.errors import Gone, NotFound
from equipment.registry import service

bp = Blueprint("registry_pages", __name__)

# Other domains add, from their Domain.setup, what a crew member or inspector can do from a scan
# (roles, label key, url template, allowed(actor, unit) -> bool, or None for the registry's own visibility)
# and HTML panels on the unit page (latest state, alarms, incidents...). Kept per app, not per process.
SCAN_ACTIONS_KEY, UNIT_PANELS_KEY = "equipment.scan_actions", "equipment.unit_panels"


def add_scan_action(app, roles, label, url_template, allowed=None) -> None:
    """`allowed` lets a domain grant an action beyond registry visibility (an inspector linked by agency)."""
    app.extensions.setdefault(SCAN_ACTIONS_KEY, []).append((frozenset(roles), label, url_template, allowed))


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
    ratelimit.check("public", "PUBLIC_RATE_LIMIT")
    try:
        unit = service.resolve_tag(tag)
    except Gone:
        return render_template("registry/void.html"), 410
    except NotFound:
        return render_template("registry/unknown.html"), 404
    view = service.public_view(unit)
    actor = g.get("actor")
    return render_template("registry/public.html", v=view, unit_id=unit.id, actions=_actions_for(unit),
                           can_view=actor is not None and _visible(actor, unit), tag=tag)


def unit_panels(app) -> list:
    """The panels other domains put on the unit dossier (equipment/workspace/dossier.py)."""
    return list(app.extensions.get(UNIT_PANELS_KEY, ()))
