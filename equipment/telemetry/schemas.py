"""Boundary schemas of telemetry (marshmallow at the HTTP edge only; the MQTT hot path uses payload.py)."""
from marshmallow import Schema, fields, validate

from equipment.core.fields import Id
from equipment.core.schemas import PageArgs, Strict, page_of

from equipment.telemetry.models import ALARM_STATUSES


class TerminalIn(Strict):
    equipment_id = Id(required=True)


class TerminalCreated(Schema):
    terminal_id = fields.String()
    equipment_id = fields.Integer()
    mqtt_username = fields.String()
    mqtt_password = fields.String()
    mqtt_url = fields.String()


class TerminalOut(Schema):
    terminal_id = fields.String()
    equipment_id = fields.Integer()
    status = fields.String()
    online = fields.Boolean()
    last_seen_at = fields.DateTime()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime()


class TerminalQuery(PageArgs):
    equipment_id = Id(strict=False)
    status = fields.String(validate=validate.OneOf(("active", "revoked")))


TerminalPage = page_of(TerminalOut, "TerminalPage")


class AlarmOut(Schema):
    id = fields.Integer()
    equipment_id = fields.Integer()
    code = fields.String()
    status = fields.String()
    count = fields.Integer()
    first_seen = fields.DateTime()
    last_seen = fields.DateTime()
    acked_by = fields.String()
    acked_at = fields.DateTime()
    cleared_by = fields.String()
    cleared_at = fields.DateTime()
    clear_reason = fields.String(allow_none=True)
    detail = fields.Dict()


class AlarmClear(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class AlarmQuery(PageArgs):
    equipment_id = Id(strict=False)
    status = fields.String(validate=validate.OneOf((*ALARM_STATUSES, "active")))
    code = fields.String(validate=validate.Length(min=1, max=16))


AlarmPage = page_of(AlarmOut, "AlarmPage")


class LatestOut(Schema):
    equipment_id = fields.Integer()
    terminal_id = fields.String()
    body = fields.Dict()
    ts = fields.DateTime()
    boot = fields.Integer()
    seq = fields.Integer()
    online = fields.Boolean()
    last_seen_at = fields.DateTime()


class LatestQuery(PageArgs):
    equipment_id = Id(strict=False)
    online = fields.Boolean()


LatestPage = page_of(LatestOut, "LatestPage")
