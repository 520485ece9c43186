"""A unit from validated data: identifiers, category, attributes and organisations checked, nothing flushed.

Shared by the registry's service (one unit from the API) and its importer (many from a spreadsheet); it sits
below both so that neither imports the other's caller.
"""
from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy import or_, select

from equipment.core.errors import Invalid
from equipment.core.geo import point
from equipment.extensions import db
from equipment.registry import identifiers
from equipment.registry.models import Category, Equipment, Organization
from equipment.registry.schemas import attribute_schema

IDENTIFIERS = {
    "device_code": identifiers.validate_device_code,
    "registration_code": identifiers.validate_registration_code,
    "use_certificate_no": identifiers.validate_use_certificate_no,
    "rescue_code": identifiers.validate_rescue_code,
    "cylinder_code": identifiers.validate_cylinder_code,
}


def resolve_category(value: str) -> Category:
    stmt = select(Category).where(or_(Category.code == value, Category.family == value))
    cats = db.session.scalars(stmt.order_by(Category.code)).all()
    if not cats:
        raise Invalid("Unknown category", details={"category": [f"unknown category {value!r}"]})
    return cats[0]


def validate_identifiers(data: dict) -> dict:
    errors, clean = {}, {}
    for key, check in IDENTIFIERS.items():
        if data.get(key) in (None, ""):
            continue
        try:
            clean[key] = check(data[key])
        except identifiers.IdentifierError as err:
            errors[key] = [str(err), err.zh]
    if errors:
        raise Invalid("Invalid identifiers", details=errors)
    return clean


def validate_attributes(family: str, attrs: dict, *, partial: bool = False) -> dict:
    schema = attribute_schema(family)  # every family has one: no free-form keys
    try:
        loaded = schema(partial=partial).load(attrs)
    except ValidationError as err:
        raise Invalid("Invalid attributes", details={"attributes": err.normalized_messages()}) from None
    return schema().dump(loaded)


def check_orgs(data: dict) -> None:
    errors = {}
    for key in ("user_org_id", "maintenance_org_id", "maker_org_id"):
        if data.get(key) is not None and db.session.get(Organization, data[key]) is None:
            errors[key] = ["no such organisation"]
    if errors:
        raise Invalid("Unknown organisation", details=errors)


def build_equipment(data: dict) -> Equipment:
    """Validate and construct (no flush); shared by the API and the CSV importer."""
    cat = resolve_category(data["category"])
    ids = validate_identifiers(data)
    check_orgs(data)
    if cat.family == "elevator" and not data.get("location"):
        raise Invalid("Location required", details={"location": ["elevators need a location"]})
    loc = data.get("location")
    return Equipment(
        family=cat.family, category_code=cat.code, address=data["address"],
        district_code=data.get("district_code"), location=point(loc["lat"], loc["lon"]) if loc else None,
        user_org_id=data["user_org_id"], maintenance_org_id=data.get("maintenance_org_id"),
        maker_org_id=data.get("maker_org_id"), status=data.get("status") or "in_service",
        attributes=validate_attributes(cat.family, data.get("attributes") or {}), **ids)


def ids_of(unit: Equipment) -> dict:
    return {k: getattr(unit, k) for k in IDENTIFIERS if getattr(unit, k)}
