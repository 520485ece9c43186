"""Boundary fields shared by every domain's schemas."""
from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter

# Entity ids are INTEGER columns (PostgreSQL int4): a larger number cannot name a row, and PostgreSQL
# answers it with "integer out of range" (a 500), so the boundary refuses it first.
MAX_ID = 2**31 - 1


def Id(*, strict: bool = True, **kwargs) -> fields.Integer:
    """A row id: positive, within INTEGER. Strict in JSON bodies (no "7" or 7.0); query strings pass strict=False."""
    return fields.Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


MAX_PAGE, MAX_PER_PAGE = 1_000_000, 200  # what core.db.paginate accepts


def PageNumber() -> fields.Integer:
    """A list's page (query string): the bounds paginate enforces, stated in the schema and the OpenAPI."""
    return fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE))


def PerPage() -> fields.Integer:
    return fields.Integer(load_default=50, validate=validate.Range(1, MAX_PER_PAGE))


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in routes: ids beyond BIGINT simply do not match (404) instead of overflowing the database."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
