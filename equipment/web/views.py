"""Shared pages: health, metrics, locally served API docs assets."""
import hmac
import ipaddress

from flask import Blueprint, Response, current_app, request, send_from_directory
from sqlalchemy import text

from equipment.core.domain import domains_of
from equipment.core.errors import NotFound
from equipment.extensions import db
from equipment.web import metrics as m

bp = Blueprint("web", __name__)


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links: answer with the SVG icon instead of a 404."""
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.route("/healthz")
def healthz():
    return {"status": "ok"}


@bp.route("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as err:  # readiness reports, it does not raise
        checks["database"] = f"error: {type(err).__name__}"
    for domain in domains_of():  # e.g. telemetry: can this process reach the MQTT broker?
        for name, check in domain.readiness.items():
            checks[name] = check()
    ok = all(v in ("ok", "not configured") for v in checks.values())
    return {"status": "ok" if ok else "unavailable", "checks": checks}, (200 if ok else 503)


@bp.route("/metrics")
def metrics():
    if not _scraper_allowed():
        raise NotFound("Not found")  # as for any unknown path: nothing tells the internet it exists
    body, content_type = m.render()
    return Response(body, content_type=content_type)


def _scraper_allowed() -> bool:
    """With EQUIPMENT_METRICS_TOKEN set, a scraper sends it as a bearer token; without, only callers from
    loopback or private networks (a Prometheus beside the platform) may read the figures."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        return hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}")
    try:
        return not ipaddress.ip_address(request.remote_addr or "").is_global
    except ValueError:
        return False


@bp.route("/api/v1/docs-assets/<path:filename>")
def docs_assets(filename):
    from swagger_ui_bundle import swagger_ui_path
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
