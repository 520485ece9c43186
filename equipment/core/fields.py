"""Boundary fields shared by every domain's schemas."""
from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1  # BIGINT: a larger number cannot name a row and would overflow the driver


def Id(**kwargs) -> fields.Integer:
    """A row id: positive, within BIGINT, never a float or a bool."""
    return fields.Integer(strict=True, validate=validate.Range(1, MAX_ID), **kwargs)


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in routes: ids beyond BIGINT simply do not match (404) instead of overflowing the database."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
