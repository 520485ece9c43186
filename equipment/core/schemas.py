"""Schema bases every domain shares: strict input, paging arguments and the page envelope of a list."""
from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields

from equipment.core.fields import PageNumber, PerPage
from equipment.core.input_guard import GuardedSchema


class Strict(GuardedSchema):
    """A JSON body: unknown keys are a 422, text passes the input guard."""

    class Meta:
        unknown = RAISE


class PageArgs(Schema):
    """?page=&per_page= with the bounds core.db.paginate enforces."""
    page = PageNumber()
    per_page = PerPage()


class PageQuery(PageArgs):
    """Paging of a server-rendered list: other query keys (?lang=, filters read elsewhere) are ignored."""

    class Meta:
        unknown = EXCLUDE


class Page(Schema):
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


def page_of(item: type[Schema], name: str) -> type[Page]:
    """The envelope of one page of `item` rows (core.db.paginate's dict); `name` is its OpenAPI component."""
    return type(name, (Page,), {"items": fields.List(fields.Nested(item)), "__module__": item.__module__})
