"""/units: the registry list for every signed-in role (scoped as the API is), its map view, its exports
and label printing of a selection."""
from __future__ import annotations

import csv
import io

from flask import Response, current_app, render_template, request

from equipment.auth.service import require_actor
from equipment.core.regions import region_label
from equipment.registry import service as registry
from equipment.telemetry import service as telemetry
from equipment.web import i18n
from equipment.workspace import schemas
from equipment.workspace.pages import bp, load, scope_for

MAP_LIMIT = 2000
EXPORT_LIMIT = 100_000
FILTERS = ("q", "category", "status", "district", "maintenance_org_id", "overdue")


def _where(args: dict) -> list:
    return [*registry.filter_clauses(**{k: args.get(k) for k in FILTERS}),
            *telemetry.unit_clauses(has_terminal=args.get("has_terminal"), online=args.get("online"))]


@bp.route("/units")
def units_list():
    actor = require_actor()
    args = load(schemas.UnitsQuery)
    scope, where = scope_for(actor), _where(args)
    page = registry.list_units(scope=scope, where=where, sort=args["sort"], page=args["page"],
                               per_page=args["per_page"])
    return render_template("workspace/units.html", page=page, args=args, query=_query_without("page"),
                           categories=[c for c in registry.list_categories() if c.in_scope],
                           maintenance_orgs=registry.maintenance_orgs(scope=scope),
                           districts=registry.districts_in_use(scope=scope), map_limit=MAP_LIMIT,
                           tile_url=current_app.config.get("TILE_URL") or "")


def _query_without(*keys) -> str:
    from urllib.parse import urlencode
    return urlencode([(k, v) for k, v in request.args.items(multi=True) if k not in keys])


@bp.route("/units/map.json")
def units_map():
    actor = require_actor()
    args = load(schemas.UnitsQuery)
    points = registry.map_points(scope=scope_for(actor), where=_where(args), limit=MAP_LIMIT)
    return {"items": [{"id": p["id"], "level": i18n.t(f"status.{p['status']}"), "status": p["status"],
                       "code": p["code"], "address": p["address"], "location": {"lat": p["lat"], "lon": p["lon"]}}
                      for p in points]}


def _columns() -> list[tuple[str, object]]:
    t, tr = i18n.t, i18n.tr
    return [("ID", lambda r: r["id"]), (t("dossier.category"), lambda r: _category(r)),
            (t("label.device_code"), lambda r: r["device_code"] or ""),
            (t("label.registration_code"), lambda r: r["registration_code"] or ""),
            (t("label.rescue_code"), lambda r: r["rescue_code"] or ""),
            (t("label.cylinder_code"), lambda r: r["cylinder_code"] or ""),
            (t("list.address"), lambda r: r["address"]),
            (t("list.district"), lambda r: region_label(r["district_code"]) if r["district_code"] else ""),
            (t("list.status"), lambda r: tr("status", r["status"])),
            (t("list.next_due"), lambda r: r["next_inspection_due"].isoformat() if r["next_inspection_due"] else ""),
            (t("list.user_unit"), lambda r: r["user_org"] or ""),
            (t("list.maintenance_unit"), lambda r: r["maintenance_org"] or "")]


def _category(row) -> str:
    return row["name_en"] if i18n.lang() == "en" else row["name_zh"]


def _cell(value):
    """Text through the registry export's formula escaping (CSV/XLSX injection); numbers stay numbers."""
    return registry.csv_cell(value) if isinstance(value, str) else value


@bp.route("/units/export")
def units_export():
    actor = require_actor()
    args = load(schemas.ExportQuery)
    rows = registry.iter_units(scope=scope_for(actor), where=_where(args), sort=args["sort"], limit=EXPORT_LIMIT)
    cols = _columns()
    if args["format"] == "xlsx":
        return _xlsx(rows, cols)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([name for name, _ in cols])
    for row in rows:
        writer.writerow([_cell(get(row)) for _, get in cols])
    return Response(buf.getvalue().encode("utf-8-sig"), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=units.csv"})


def _xlsx(rows, cols) -> Response:
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("units")
    ws.append([name for name, _ in cols])
    for row in rows:
        ws.append([_cell(get(row)) for _, get in cols])
    buf = io.BytesIO()
    wb.save(buf)
    return Response(buf.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=units.xlsx"})


@bp.route("/units/labels", methods=["POST"])
def units_labels():
    """The list's selection as a printable label sheet (the same service as the API's labels.pdf)."""
    actor = require_actor()
    form = load(schemas.LabelsForm, {"ids": request.form.getlist("ids")})
    pdf = registry.label_sheet(actor=actor, equipment_ids=form["ids"])
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": "inline; filename=labels.pdf"})
