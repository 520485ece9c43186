"""Boundary schemas of the inspections domain (marshmallow)."""
import datetime as dt

from marshmallow import Schema, fields, validate

from equipment.core.fields import Id
from equipment.core.schemas import Strict, page_of

from equipment.inspections.schedule import CONCLUSIONS

UTC = dt.timezone.utc


class ChecklistItem(Strict):
    item = fields.String(required=True, validate=validate.Length(min=1, max=64))
    result = fields.String(required=True, validate=validate.OneOf(("pass", "fail", "na")))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))
    photo = fields.String(allow_none=True, validate=validate.Length(max=300))  # reference to a stored photo


class DefectIn(Strict):
    item = fields.String(required=True, validate=validate.Length(min=1, max=64))
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    deadline = fields.Date(allow_none=True)


class DefectOut(Schema):
    id = fields.Integer()
    item = fields.String()
    description = fields.String()
    deadline = fields.Date()
    rectified_at = fields.DateTime()


class InspectionIn(Strict):
    equipment_id = Id(strict=False, required=True)
    kind = fields.String(load_default="periodic", validate=validate.OneOf(("periodic", "recheck", "spot",
                                                                             "acceptance")))
    date = fields.Date(required=True)
    conclusion = fields.String(required=True, validate=validate.Length(min=2, max=24))
    safety_grade = fields.Integer(allow_none=True, validate=validate.Range(1, 5))
    grade3_months = fields.Integer(allow_none=True, validate=validate.Range(36, 72))
    report_no = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    follows_id = Id(strict=False, allow_none=True)
    spot_assignment_id = Id(strict=False, allow_none=True)
    items = fields.List(fields.Nested(ChecklistItem), load_default=list)
    defects = fields.List(fields.Nested(DefectIn), load_default=list)
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))


def conclusion_label(obj, lang_index=0):
    for codes in CONCLUSIONS.values():
        if obj.conclusion in codes:
            return codes[obj.conclusion][lang_index]
    return obj.conclusion


class InspectionOut(Schema):
    id = fields.Integer()
    equipment_id = fields.Integer()
    kind = fields.String()
    date = fields.Date()
    conclusion = fields.String()
    conclusion_zh = fields.Function(lambda o: conclusion_label(o, 0))
    conclusion_en = fields.Function(lambda o: conclusion_label(o, 1))
    passed = fields.Boolean()
    safety_grade = fields.Integer()
    report_no = fields.String()
    follows_id = fields.Integer()
    inspector_user_id = fields.Integer()
    agency_org_id = fields.Integer()
    items = fields.List(fields.Dict())
    notes = fields.String()
    next_due = fields.Date()
    created_at = fields.DateTime()


InspectionPage = page_of(InspectionOut, "InspectionPage")


class RuleEditIn(Strict):
    value = fields.Raw(required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class RuleSetOut(Schema):
    version = fields.Integer()
    rules = fields.Dict()
    note = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()


class ObligationOut(Schema):
    id = fields.Integer()
    equipment_id = fields.Integer()
    kind = fields.String()
    rule_key = fields.String()
    rule_version = fields.Integer()
    last_done = fields.Date()
    next_due = fields.Date()
    life_end = fields.Date()
    allowed = fields.Boolean()
    status = fields.String()
    responsible_org_id = fields.Integer()


ObligationPage = page_of(ObligationOut, "ObligationPage")


class AgencyIn(Strict):
    agency_org_id = Id(strict=False, required=True, allow_none=True)


class ContactIn(Strict):
    org_id = Id(strict=False, required=True)
    channel = fields.String(required=True, validate=validate.OneOf(("email", "webhook")))
    address = fields.String(required=True, validate=validate.Length(min=3, max=300))


class ContactOut(Schema):
    id = fields.Integer()
    org_id = fields.Integer()
    channel = fields.String()
    address = fields.String()


class ReminderOut(Schema):
    id = fields.Integer()
    equipment_id = fields.Integer()
    obligation_kind = fields.String()
    due_date = fields.Date()
    offset_days = fields.Integer()
    contact_id = fields.Integer()
    status = fields.String()
    attempts = fields.Integer()
    sent_at = fields.DateTime()
    error = fields.String()


ReminderPage = page_of(ReminderOut, "ReminderPage")


class DrawFilters(Strict):
    category = fields.String(allow_none=True, validate=validate.Length(max=32))
    district_code = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{6}$"))
    status = fields.String(allow_none=True, validate=validate.Length(max=16))


class DrawIn(Strict):
    filters = fields.Nested(DrawFilters, load_default=dict)
    sample_size = fields.Integer(required=True, validate=validate.Range(1, 100_000))
    seed = fields.Integer(allow_none=True, validate=validate.Range(0, 2**63 - 1))
    inspector_ids = fields.List(Id(strict=False), allow_none=True)


class DrawOut(Schema):
    id = fields.Integer()
    seed = fields.Integer()
    filters = fields.Dict()
    sample_size = fields.Integer()
    inspector_ids = fields.List(fields.Integer())
    candidate_count = fields.Integer()
    candidate_digest = fields.String()
    result = fields.List(fields.Dict())
    created_by = fields.String()
    created_at = fields.DateTime()


class DrawVerifyOut(Schema):
    draw_id = fields.Integer()
    seed = fields.Integer()
    matches = fields.Boolean()
    candidates_unchanged = fields.Boolean()
    result = fields.List(fields.Dict())


class AssignmentOut(Schema):
    id = fields.Integer()
    draw_id = fields.Integer()
    equipment_id = fields.Integer()
    inspector_user_id = fields.Integer()
    agency_org_id = fields.Integer()
    status = fields.String()


class ScanIn(Strict):
    tag = fields.String(required=True, validate=validate.Length(min=1, max=64))
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90), allow_nan=False)
    lon = fields.Float(allow_none=True, validate=validate.Range(-180, 180), allow_nan=False)


class MaintenanceStartIn(ScanIn):
    item_set = fields.String(load_default="half_monthly", validate=validate.Length(max=16))


class MaintenanceFinishIn(Strict):
    items = fields.List(fields.Nested(ChecklistItem), load_default=list)
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    photos = fields.List(fields.String(validate=validate.Length(max=300)), load_default=list)


class MaintenanceIn(MaintenanceFinishIn):
    equipment_id = Id(strict=False, required=True)
    item_set = fields.String(load_default="half_monthly", validate=validate.Length(max=16))
    started_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    ended_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    scan = fields.Nested(ScanIn, allow_none=True)


class MaintenanceOut(Schema):
    id = fields.Integer()
    equipment_id = fields.Integer()
    crew_user_id = fields.Integer()
    org_id = fields.Integer()
    item_set = fields.String()
    status = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime()
    scan_tag = fields.String()
    scan_distance_m = fields.Float()
    items = fields.List(fields.Dict())
    notes = fields.String()
    photos = fields.List(fields.String())
    flags = fields.List(fields.String())
    flagged = fields.Boolean()


MaintenancePage = page_of(MaintenanceOut, "MaintenancePage")


class FillCheckIn(Strict):
    tag = fields.String(required=True, validate=validate.Length(min=1, max=64))


class FillCheckOut(Schema):
    allow = fields.Boolean()
    reason = fields.String()
    reason_zh = fields.String()
    equipment_id = fields.Integer()
    cylinder_code = fields.String()
    next_inspection_due = fields.Date()
    details = fields.Nested(lambda: FillDetailsOut(), allow_none=True)


class FillDetailsOut(Schema):
    gas_medium = fields.String()
    manufacture_date = fields.String()
    design_life_years = fields.Integer()
    life_end = fields.Date()
    status = fields.String()
    last_fill_at = fields.DateTime()


class FillIn(FillCheckIn):
    gas = fields.String(allow_none=True, validate=validate.Length(max=64))
    mass_kg = fields.Float(allow_none=True, validate=validate.Range(0, 10_000), allow_nan=False)


class FillOut(Schema):
    id = fields.Integer()
    equipment_id = fields.Integer()
    station_org_id = fields.Integer()
    user_id = fields.Integer()
    at = fields.DateTime()
    gas = fields.String()
    mass_kg = fields.Float()
