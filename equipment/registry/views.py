"""Registry REST API (thin: schema in, one service call, schema out)."""
import orjson
from flask import Response
from flask_smorest import Blueprint

from equipment.auth.service import require_actor
from equipment.core import ratelimit
from equipment.core.errors import ErrorEnvelope
from equipment.core.input_guard import large_body
from equipment.registry import importer, qr, schemas, service
from equipment.registry.tags import tag_url

orgs = Blueprint("organizations", __name__, url_prefix="/api/v1/organizations", description="Organisations")
units = Blueprint("equipment", __name__, url_prefix="/api/v1/equipment", description="Equipment registry")
public = Blueprint("public", __name__, url_prefix="/api/v1/public", description="Public scan view")
api_blueprints = [orgs, units, public]


@orgs.route("", methods=["POST"])
@orgs.arguments(schemas.OrganizationIn)
@orgs.response(201, schemas.OrganizationOut)
def create_org(body):
    return service.create_organization(actor=require_actor(), **body)


@orgs.route("", methods=["GET"])
@orgs.response(200, schemas.OrganizationPage)
def list_orgs():
    from flask import request
    return service.list_organizations(actor=require_actor(), kind=request.args.get("kind"),
                                      page=request.args.get("page", 1, type=int),
                                      per_page=request.args.get("per_page", 50, type=int))


@units.route("", methods=["POST"])
@units.arguments(schemas.EquipmentIn)
@units.response(201, schemas.EquipmentOut)
def create_unit(body):
    return service.create_equipment(actor=require_actor(), **body)


@units.route("", methods=["GET"])
@units.arguments(schemas.EquipmentQuery, location="query")
@units.response(200, schemas.EquipmentPage)
def list_units(args):
    return service.search_equipment(actor=require_actor(), **args)


@units.route("/<int:equipment_id>", methods=["GET"])
@units.response(200, schemas.EquipmentOut)
def get_unit(equipment_id):
    return service.get_equipment(actor=require_actor(), equipment_id=equipment_id)


@units.route("/<int:equipment_id>", methods=["PATCH"])
@units.arguments(schemas.EquipmentPatch)
@units.response(200, schemas.EquipmentOut)
def patch_unit(body, equipment_id):
    return service.update_equipment(actor=require_actor(), equipment_id=equipment_id, **body)


@units.route("/<int:equipment_id>/trace", methods=["GET"])
@units.response(200, schemas.TraceOut)
def trace(equipment_id):
    return service.trace_of(actor=require_actor(), equipment_id=equipment_id)


@units.route("/<int:equipment_id>/history", methods=["POST"])
@units.arguments(schemas.HistoryIn)
@units.response(201, schemas.HistoryOut)
def add_history(body, equipment_id):
    return service.record_history(actor=require_actor(), equipment_id=equipment_id, **body)


@units.route("/<int:equipment_id>/components", methods=["GET"])
@units.response(200, schemas.ComponentOut(many=True))
def list_components(equipment_id):
    return service.components_of(actor=require_actor(), equipment_id=equipment_id)


@units.route("/<int:equipment_id>/components", methods=["POST"])
@units.arguments(schemas.ComponentIn)
@units.response(201, schemas.ComponentOut)
def add_component(body, equipment_id):
    return service.add_component(actor=require_actor(), equipment_id=equipment_id, **body)


def _tag_out(tag):
    return {"tag": tag.tag, "url": tag_url(tag.tag), "active": tag.active, "issued_at": tag.issued_at}


@units.route("/<int:equipment_id>/tag", methods=["GET"])
@units.response(200, schemas.TagOut)
def get_tag(equipment_id):
    return _tag_out(service.tag_of(actor=require_actor(), equipment_id=equipment_id))


@units.route("/<int:equipment_id>/tag", methods=["POST"])
@units.response(201, schemas.TagOut)
def reissue(equipment_id):
    return _tag_out(service.reissue_tag(actor=require_actor(), equipment_id=equipment_id))


@units.route("/<int:equipment_id>/tag/revoke", methods=["POST"])
@units.arguments(schemas.RevokeIn)
@units.response(200, schemas.TagOut)
def revoke(body, equipment_id):
    return _tag_out(service.void_tag(actor=require_actor(), equipment_id=equipment_id, **body))


@units.route("/<int:equipment_id>/qr.png", methods=["GET"])
@units.response(200, content_type="image/png")
def qr_png(equipment_id):
    tag = service.tag_of(actor=require_actor(), equipment_id=equipment_id)
    return Response(qr.qr_png(tag_url(tag.tag)), mimetype="image/png")


@units.route("/<int:equipment_id>/qr.svg", methods=["GET"])
@units.response(200, content_type="image/svg+xml")
def qr_svg(equipment_id):
    tag = service.tag_of(actor=require_actor(), equipment_id=equipment_id)
    return Response(qr.qr_svg(tag_url(tag.tag)), mimetype="image/svg+xml")


@units.route("/labels.pdf", methods=["GET"])
@units.arguments(schemas.LabelQuery, location="query")
@units.response(200, content_type="application/pdf")
def label_sheet(args):
    pdf = service.label_sheet(actor=require_actor(), equipment_ids=args.pop("ids"), **args)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": "inline; filename=labels.pdf"})


@public.route("/<string:tag>", methods=["GET"])
@public.response(200, schemas.PublicView)
def public_unit(tag):
    ratelimit.check("public", "PUBLIC_RATE_LIMIT")
    # The hottest read skips the schema pass: the view holds only the schema's fields, in JSON-native
    # types, so orjson writes what the schema would (tests/registry/test_public_fast.py holds them equal).
    return Response(orjson.dumps(service.public_lookup(tag)), mimetype="application/json")


@units.route("/import", methods=["POST"])
@units.response(200, schemas.ImportReport)
@units.alt_response(422, schema={"oneOf": [schemas.ImportReport, ErrorEnvelope]},
                    description="bad rows (a report) or an unreadable file (an error); nothing imported")
@large_body
def import_units():
    """Upload a CSV/XLSX (multipart field `file`); all rows are imported or none."""
    from flask import request
    actor = require_actor("admin", "regulator")
    upload = request.files.get("file")
    if upload is None:
        raise importer.ImportRejected("Send the file as multipart field 'file'")
    rows = importer.read_rows(upload.read(), upload.filename or "upload.csv")
    report = service.import_registry(actor=actor, rows=rows, dry_run=request.args.get("dry_run") == "1")
    return report.as_dict(), (200 if report.ok else 422)


@units.route("/export.csv", methods=["GET"])
@units.response(200, content_type="text/csv")
def export_units():
    import io
    buf = io.StringIO()
    importer.export_csv(buf, actor=require_actor())
    return Response(buf.getvalue().encode("utf-8-sig"), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=equipment.csv"})
