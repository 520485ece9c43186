from marshmallow import Schema, fields, validate

from equipment.core.actor import ROLES
from equipment.core.fields import Id


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class TokenResponse(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class UserCreate(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.@-]{3,80}$"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    org_id = Id(allow_none=True)
    display_name = fields.String(allow_none=True, validate=validate.Length(max=120))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    org_id = fields.Integer()
    active = fields.Boolean()


class MeOut(Schema):
    user_id = fields.Integer()
    username = fields.String()
    role = fields.String()
    org_id = fields.Integer()
