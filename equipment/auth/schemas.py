from marshmallow import Schema, fields, validate

from equipment.auth.passwords import MAX_LENGTH, MIN_LENGTH
from equipment.core.actor import ROLES
from equipment.core.fields import Id
from equipment.core.schemas import PageArgs, page_of

PASSWORD = validate.Length(min=1, max=MAX_LENGTH)
NEW_PASSWORD = validate.Length(min=MIN_LENGTH, max=MAX_LENGTH)


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, load_only=True, validate=PASSWORD)


class TokenResponse(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class UserCreate(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.@-]{3,80}$"))
    password = fields.String(required=True, load_only=True, validate=NEW_PASSWORD)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    org_id = Id(allow_none=True)
    display_name = fields.String(allow_none=True, validate=validate.Length(max=120))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))


class PasswordChange(Schema):
    current_password = fields.String(required=True, load_only=True, validate=PASSWORD)
    new_password = fields.String(required=True, load_only=True, validate=NEW_PASSWORD)


class PasswordSet(Schema):
    password = fields.String(required=True, load_only=True, validate=NEW_PASSWORD)


class UserQuery(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=80))


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    org_id = fields.Integer()
    active = fields.Boolean()
    created_at = fields.DateTime()


UserPage = page_of(UserOut, "UserPage")


class UnlockOut(Schema):
    username = fields.String()
    clients_cleared = fields.Integer()


class MeOut(Schema):
    user_id = fields.Integer()
    username = fields.String()
    role = fields.String()
    org_id = fields.Integer()
