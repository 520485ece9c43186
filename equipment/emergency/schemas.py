"""Boundary schemas of the emergency API."""
import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from equipment.core.fields import Id
from equipment.core.schemas import PageArgs, Strict, page_of

from equipment.emergency.models import CAUSES, KINDS, PROBLEMS, REPORT_KINDS, REPORT_STATUSES, STATUSES

PHONE = validate.Regexp(r"^\+?[0-9][0-9 \-]{3,19}$", error="digits, 4 to 20 / 电话号码格式不正确")


class IncidentIn(Strict):
    equipment_id = Id(strict=False, load_default=None)
    rescue_code = fields.String(load_default=None, validate=validate.Regexp(r"^\d{5,6}$", error="5-6 digits"))
    source = fields.String(load_default="phone", validate=validate.OneOf(("phone", "manual")))
    caller_phone = fields.String(load_default=None, allow_none=True, validate=PHONE)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))

    OPENAPI_EXTRA = {"oneOf": [{"required": ["equipment_id"], "properties": {"equipment_id": {"type": "integer"}}},
                               {"required": ["rescue_code"], "properties": {"rescue_code": {"type": "string"}}}]}

    @validates_schema
    def one_unit(self, data, **_):
        if (data.get("equipment_id") is None) == (data.get("rescue_code") is None):
            raise ValidationError("give exactly one of rescue_code or equipment_id", "rescue_code")


class IncidentQuery(PageArgs):
    equipment_id = Id(strict=False, load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(("open", "all", *STATUSES)))
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))


class TransitionIn(Strict):
    cause = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(CAUSES))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    # arrival proof: the crew's browser position (checked against the unit's geofence)
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90), allow_nan=False)
    lon = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180), allow_nan=False)
    accuracy_m = fields.Float(load_default=None, allow_none=True, validate=validate.Range(0, 100_000),
                              allow_nan=False)


class VerifyIn(Strict):
    method = fields.String(required=True, validate=validate.OneOf(("callback", "intercom")))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class PublicReportIn(Strict):
    """The scan page's form (csrf_token is checked before and dropped)."""
    kind = fields.String(required=True, validate=validate.OneOf(REPORT_KINDS))
    problem = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PROBLEMS))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    caller_phone = fields.String(load_default=None, allow_none=True, validate=PHONE, data_key="caller_phone")


class PublicReportOut(Schema):
    id = fields.Integer()
    tracking_no = fields.String()
    equipment_id = fields.Integer()
    family = fields.String()
    kind = fields.String()
    problem = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    reply_phone = fields.String(allow_none=True)
    over_limit = fields.Boolean()
    status = fields.String()
    verified = fields.Boolean()
    incident_id = fields.Integer(allow_none=True)
    route_org_id = fields.Integer(allow_none=True)
    district_code = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    created_at = fields.DateTime()


PublicReportPage = page_of(PublicReportOut, "PublicReportPage")


class PublicReportQuery(PageArgs):
    kind = fields.String(load_default=None, validate=validate.OneOf(REPORT_KINDS))
    status = fields.String(load_default=None, validate=validate.OneOf(REPORT_STATUSES))
    district = fields.String(load_default=None, validate=validate.Regexp(r"^\d{2,6}$", error="2-6 digits"))
    equipment_id = Id(strict=False, load_default=None)


class DispatchIn(Strict):
    crew_id = Id(strict=False, load_default=None, allow_none=True)


class ConsoleDispatchIn(DispatchIn):
    reassign = fields.Boolean(load_default=False)  # the dispatcher confirmed withdrawing a pending offer


class ReasonIn(Strict):
    """误报 / 撤销 / 升级 from the console and 拒单 from a crew: always with a reason."""
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200),
                           error_messages={"required": "a reason is required / 请填写原因"})


class CrewChoiceOut(Schema):
    id = fields.Integer()
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    org_id = fields.Integer()
    org_name = fields.String()
    contracted = fields.Boolean()
    distance_m = fields.Integer(allow_none=True)
    eta_min = fields.Integer(allow_none=True)
    position_at = fields.DateTime(allow_none=True)
    status = fields.String()


class PointOut(Schema):
    lat = fields.Float(allow_nan=False)
    lon = fields.Float(allow_nan=False)


class CrewOut(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.String()
    org_id = fields.Integer()
    location = fields.Nested(PointOut, allow_none=True)
    position_at = fields.DateTime(allow_none=True)
    on_duty = fields.Boolean()


class EventOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    kind = fields.String()
    actor_name = fields.String()
    actor_org_id = fields.Integer(allow_none=True)
    data = fields.Dict()


class IncidentOut(Schema):
    id = fields.Integer()
    equipment_id = fields.Integer()
    status = fields.String()
    kind = fields.String(dump_default="rescue", metadata={"description": "rescue 困人 | fault 故障"})
    fault_code = fields.String(allow_none=True)
    source = fields.String()
    family = fields.String(allow_none=True)  # the unit's equipment family: elevator, pressure_vessel, ...
    reason = fields.String(allow_none=True)
    caller_phone = fields.String(allow_none=True)
    level = fields.Integer()
    signals = fields.Integer()
    address = fields.String(allow_none=True)
    district_code = fields.String(allow_none=True)
    maintenance_org_id = fields.Integer(allow_none=True)
    rescue_code = fields.String(allow_none=True)
    device_code = fields.String(allow_none=True)
    location = fields.Nested(PointOut, allow_none=True)
    reported_at = fields.DateTime()
    dispatched_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    arrived_at = fields.DateTime(allow_none=True)
    released_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    arrival_deadline = fields.DateTime(allow_none=True)
    accept_deadline = fields.DateTime(allow_none=True)
    arrival_overdue = fields.Boolean()
    fire_notified_at = fields.DateTime(allow_none=True)
    verified = fields.Boolean()
    verified_at = fields.DateTime(allow_none=True)
    verify_method = fields.String(allow_none=True)
    false_alarm_claimed_at = fields.DateTime(allow_none=True)
    reports = fields.List(fields.Dict())
    cause = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    crew_id = fields.Integer(allow_none=True)
    crew = fields.Dict(allow_none=True)
    offer_status = fields.String(allow_none=True)
    allowed_actions = fields.List(fields.String())
    events = fields.List(fields.Nested(EventOut))


IncidentPage = page_of(IncidentOut, "IncidentPage")


class DutyIn(Strict):
    on_duty = fields.Boolean(required=True)


class PositionIn(Strict):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90), allow_nan=False)
    lon = fields.Float(required=True, validate=validate.Range(-180, 180), allow_nan=False)
    on_duty = fields.Boolean(load_default=None, allow_none=True)
    accuracy_m = fields.Float(load_default=None, allow_none=True)


# Dates near year 1 or 9999 overflow once shifted to local midnight and UTC: bound them (a 422, not a 500).
STATS_DATES = validate.Range(dt.date(1970, 1, 1), dt.date(9000, 12, 31))


STATS_GROUPS = ("month", "day", "district", "maintenance_unit", "cause")


class StatsQuery(Schema):
    date_from = fields.Date(load_default=None, data_key="from", validate=STATS_DATES)
    date_to = fields.Date(load_default=None, data_key="to", validate=STATS_DATES)
    group = fields.String(load_default="month", validate=validate.OneOf(STATS_GROUPS))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class DispatchRuleIn(Strict):
    value = fields.String(required=True, validate=validate.Length(min=1, max=40),
                          metadata={"description": "policy: contract | ladder | eta(SLACK_MIN) | pool; "
                                                   "level2_after_s: 60-1800; parallel: 1-5; level2_radius_m: 500-50000"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class DispatchRulesOut(Schema):
    version = fields.Integer()
    rules = fields.Dict()
    note = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
