"""Shared pages: home, health, metrics, locally served API docs assets."""
from flask import Blueprint, Response, g, render_template, send_from_directory
from sqlalchemy import text

from equipment.extensions import db

bp = Blueprint("web", __name__)


@bp.route("/")
def home():
    return render_template("home.html", actor=g.get("actor"))


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
    ok = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ok else "unavailable", "checks": checks}, (200 if ok else 503)


@bp.route("/metrics")
def metrics():
    from equipment.web import metrics as m
    body, content_type = m.render()
    return Response(body, content_type=content_type)


@bp.route("/api/v1/docs-assets/<path:filename>")
def docs_assets(filename):
    from swagger_ui_bundle import swagger_ui_path
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
