"""Query strings of the workspace pages: bad values are a 422 in the one envelope, never a 500 or a guess."""
from marshmallow import EXCLUDE, Schema, fields, validate

from equipment.core.schemas import PageQuery
from equipment.registry.service import LIST_SORTS as SORTS, STATUSES


class UnitsQuery(PageQuery):
    q = fields.String(validate=validate.Length(max=100))
    category = fields.String(validate=validate.Length(max=32))
    status = fields.String(validate=validate.OneOf(STATUSES))
    district = fields.String(validate=validate.Regexp(r"^(\d{2}|\d{4}|\d{6})$"))  # province, city, county
    maintenance_org_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    overdue = fields.Boolean()
    has_terminal = fields.Boolean()
    online = fields.Boolean()
    sort = fields.String(load_default="id", validate=validate.OneOf(SORTS))
    view = fields.String(load_default="table", validate=validate.OneOf(("table", "map")))


class ExportQuery(UnitsQuery):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class LabelsForm(Schema):
    class Meta:
        unknown = EXCLUDE

    ids = fields.List(fields.Integer(validate=validate.Range(1, 2**31 - 1)), required=True,
                      validate=validate.Length(min=1, max=500))


class AlarmsQuery(PageQuery):
    status = fields.String(load_default="active", validate=validate.OneOf(("active", "open", "acknowledged",
                                                                          "cleared")))


class TerminalsQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("active", "revoked")))


class MaintenanceQuery(PageQuery):
    flagged = fields.Boolean()


class ObligationsQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("ok", "due_soon", "overdue", "blocked")))
    kind = fields.String(validate=validate.OneOf(("inspection", "maintenance")))


class DossierQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    tab = fields.String(load_default="overview", validate=validate.OneOf((
        "overview", "history", "inspections", "maintenance", "alarms", "telemetry", "incidents", "components",
        "tag")))
