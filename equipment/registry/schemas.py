"""Boundary schemas of the registry (marshmallow)."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from webargs.fields import DelimitedList

from equipment.core.fields import Id
from equipment.core.schemas import PageArgs, Strict, page_of

from equipment.core.geo import lat_lon
from equipment.registry.models import ORG_KINDS, STATUSES

DISTRICT = validate.Regexp(r"^\d{6}$", error="6-digit GB/T 2260 district code")


class LatLon(Strict):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90), allow_nan=False)
    lon = fields.Float(required=True, validate=validate.Range(-180, 180), allow_nan=False)


class OrganizationIn(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    code = fields.String(required=True, validate=validate.Length(equal=18))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    licence_no = fields.String(allow_none=True, validate=validate.Length(max=64))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    district_code = fields.String(allow_none=True, validate=DISTRICT)


class OrganizationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    code = fields.String()
    phone = fields.String()
    licence_no = fields.String()
    address = fields.String()
    district_code = fields.String()


class ElevatorAttrs(Strict):
    model = fields.String(validate=validate.Length(max=100))
    factory_no = fields.String(validate=validate.Length(max=64))
    rated_load_kg = fields.Integer(validate=validate.Range(50, 100_000))
    rated_speed_mps = fields.Float(validate=validate.Range(0.05, 20), allow_nan=False)
    floors = fields.Integer(validate=validate.Range(1, 300))
    stops = fields.Integer(validate=validate.Range(1, 300))
    doors = fields.Integer(validate=validate.Range(1, 600))
    drive = fields.String(validate=validate.OneOf(("traction", "forced", "hydraulic", "escalator", "moving_walk")))
    manufacture_date = fields.Date()
    install_date = fields.Date()
    self_testing = fields.Boolean()


class CylinderAttrs(Strict):
    gas_medium = fields.String(required=True, validate=validate.Length(min=1, max=64))
    gas_class = fields.String(required=True, validate=validate.OneOf(("corrosive", "general", "inert", "lpg")))
    material = fields.String(validate=validate.Length(max=64))
    nominal_pressure_mpa = fields.Float(validate=validate.Range(0.01, 100), allow_nan=False)
    volume_l = fields.Float(validate=validate.Range(0.1, 3000), allow_nan=False)
    manufacture_date = fields.Date(required=True)
    design_life_years = fields.Integer(validate=validate.Range(1, 50))
    filling_org_id = Id()


class VesselAttrs(Strict):
    vessel_type = fields.String(required=True, validate=validate.OneOf(("fixed", "mobile")))
    safety_grade = fields.Integer(validate=validate.Range(1, 5))
    volume_m3 = fields.Float(validate=validate.Range(0.001, 100_000), allow_nan=False)
    design_pressure_mpa = fields.Float(validate=validate.Range(0, 1000), allow_nan=False)
    medium = fields.String(validate=validate.Length(max=64))
    manufacture_date = fields.Date()
    first_use_date = fields.Date()


class GenericAttrs(Strict):
    """Families registered before their own schema exists (boilers, cranes, ...): a short key allow-list,
    so a unit's attributes stay a bounded record rather than free-form storage."""
    model = fields.String(validate=validate.Length(max=100))
    factory_no = fields.String(validate=validate.Length(max=64))
    medium = fields.String(validate=validate.Length(max=64))
    rated_capacity = fields.String(validate=validate.Length(max=64))
    manufacture_date = fields.Date()
    install_date = fields.Date()
    first_use_date = fields.Date()


ATTRIBUTE_SCHEMAS = {"elevator": ElevatorAttrs, "gas_cylinder": CylinderAttrs, "pressure_vessel": VesselAttrs}


def attribute_schema(family: str) -> type[Strict]:
    return ATTRIBUTE_SCHEMAS.get(family, GenericAttrs)


class ComponentIn(Strict):
    kind = fields.String(required=True, validate=validate.OneOf((
        "brake", "door_lock", "controller", "governor", "traction_machine", "safety_gear", "buffer",
        "rope", "valve", "safety_valve", "pressure_gauge", "other")))
    maker = fields.String(required=True, validate=validate.Length(min=1, max=200))
    model = fields.String(required=True, validate=validate.Length(min=1, max=100))
    serial = fields.String(allow_none=True, validate=validate.Length(max=100))
    fitted_on = fields.Date(allow_none=True)
    removed_on = fields.Date(allow_none=True)


class ComponentOut(Schema):
    id = fields.Integer()
    equipment_id = fields.Integer()
    kind = fields.String()
    maker = fields.String()
    model = fields.String()
    serial = fields.String()
    fitted_on = fields.Date()
    removed_on = fields.Date()


class EquipmentIn(Strict):
    category = fields.String(required=True, validate=validate.Length(min=4, max=32))
    device_code = fields.String(allow_none=True)
    registration_code = fields.String(allow_none=True)
    use_certificate_no = fields.String(allow_none=True)
    rescue_code = fields.String(allow_none=True)
    cylinder_code = fields.String(allow_none=True)
    address = fields.String(required=True, validate=validate.Length(min=2, max=300))
    district_code = fields.String(allow_none=True, validate=DISTRICT)
    location = fields.Nested(LatLon, allow_none=True)
    user_org_id = Id(required=True)
    maintenance_org_id = Id(allow_none=True)
    maker_org_id = Id(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    attributes = fields.Dict(keys=fields.String(), load_default=dict)
    components = fields.List(fields.Nested(ComponentIn), load_default=list)

    OPENAPI_EXTRA = {"anyOf": [{"required": [key], "properties": {key: {"type": "string", "minLength": 1}}}
                               for key in ("device_code", "registration_code", "cylinder_code")]}

    @validates_schema
    def one_identifier(self, data, **_):
        if not any(data.get(k) for k in ("device_code", "registration_code", "cylinder_code")):
            raise ValidationError("give a device_code, registration_code or cylinder_code", "device_code")


class EquipmentPatch(Strict):
    address = fields.String(validate=validate.Length(min=2, max=300))
    district_code = fields.String(allow_none=True, validate=DISTRICT)
    location = fields.Nested(LatLon, allow_none=True)
    use_certificate_no = fields.String(allow_none=True)
    rescue_code = fields.String(allow_none=True)
    maintenance_org_id = Id(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    attributes = fields.Dict(keys=fields.String(), validate=validate.Length(min=1))

    OPENAPI_EXTRA = {"minProperties": 1}

    @validates_schema
    def something_to_change(self, data, **_):
        # An empty PATCH would still append an (empty) record to the append-only history.
        if not data:
            raise ValidationError("nothing to change / 没有要修改的字段", "_schema")


class EquipmentOut(Schema):
    id = fields.Integer()
    category = fields.String(attribute="family")
    category_code = fields.String()
    device_code = fields.String()
    registration_code = fields.String()
    use_certificate_no = fields.String()
    rescue_code = fields.String()
    cylinder_code = fields.String()
    address = fields.String()
    district_code = fields.String()
    location = fields.Method("get_location")
    user_org_id = fields.Integer()
    maintenance_org_id = fields.Integer()
    maker_org_id = fields.Integer()
    status = fields.String()
    attributes = fields.Dict()
    last_inspection_date = fields.Date()
    last_inspection_conclusion = fields.String()
    next_inspection_due = fields.Date()
    last_maintenance_at = fields.DateTime()
    created_at = fields.DateTime()

    def get_location(self, obj):
        return lat_lon(obj.location)


class EquipmentQuery(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=64))
    category = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    district_code = fields.String(validate=DISTRICT)
    org_id = Id(strict=False)
    component_kind = fields.String()
    component_maker = fields.String()
    component_model = fields.String()


EquipmentPage = page_of(EquipmentOut, "EquipmentPage")


OrganizationPage = page_of(OrganizationOut, "OrganizationPage")


class HistoryOut(Schema):
    id = fields.Integer()
    seq = fields.Integer()
    kind = fields.String()
    at = fields.DateTime()
    actor_name = fields.String()
    actor_org_id = fields.Integer()
    data = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


class TraceOut(Schema):
    equipment_id = fields.Integer()
    verified = fields.Boolean()
    problem = fields.String(allow_none=True)
    items = fields.List(fields.Nested(HistoryOut))


class HistoryIn(Strict):
    kind = fields.String(required=True, validate=validate.OneOf((
        "manufactured", "installed", "registered", "repaired", "modified", "relocated", "fault")))
    data = fields.Dict(keys=fields.String(), load_default=dict)  # size capped by history.append


class TagOut(Schema):
    tag = fields.String()
    url = fields.String()
    active = fields.Boolean()
    issued_at = fields.DateTime()


class RevokeIn(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500))


class LabelQuery(Schema):
    ids = DelimitedList(Id(strict=False), required=True, validate=validate.Length(min=1, max=2000))
    label_w_mm = fields.Float(load_default=70, validate=validate.Range(20, 210))
    label_h_mm = fields.Float(load_default=37, validate=validate.Range(15, 297))
    columns = fields.Integer(load_default=3, validate=validate.Range(1, 10))
    rows = fields.Integer(load_default=8, validate=validate.Range(1, 20))
    start_offset = fields.Integer(load_default=0, validate=validate.Range(0, 199))


class PublicView(Schema):
    category = fields.String()
    category_name = fields.String()
    device_code = fields.String()
    registration_code = fields.String()
    rescue_code = fields.String()
    cylinder_code = fields.String()
    use_certificate_no = fields.String(allow_none=True)
    address = fields.String()
    status = fields.String()
    user_unit = fields.Dict()
    last_inspection = fields.Dict(allow_none=True)
    next_inspection_due = fields.Date(allow_none=True)
    last_maintenance = fields.DateTime(allow_none=True)
    maintenance_unit = fields.Dict(allow_none=True)
    category_name_en = fields.String()
    hotline = fields.String()


class ImportReport(Schema):
    rows = fields.Integer()
    imported = fields.Integer()
    ok = fields.Boolean()
    errors = fields.List(fields.Dict())
