"""The OpenAPI document says what the API really answers.

Output schemas dump whatever the row holds, and most columns are nullable (a cylinder has no device code,
an open incident no cause), but marshmallow fields only document `nullable` when declared `allow_none`.
Rather than annotate every output field of every domain, this plugin marks the properties of every schema
reached from a response as nullable, so clients (and schemathesis) read the contract the code keeps.
"""
from __future__ import annotations

from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from equipment.core.input_guard import DOCUMENTED_CLASS

_PREFIX = "#/components/schemas/"
# What core.input_guard refuses in any text, as a JSON-schema pattern: a schema-valid request is never refused
# for its characters (NUL, lone surrogates, bidi controls, zero-width characters).
SAFE_TEXT = f"^[^{DOCUMENTED_CLASS}]*$"


class NullableResponseFields(BasePlugin):
    def init_spec(self, spec) -> None:
        self.spec = spec
        self._done: set[str] = set()

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for operation in (operations or {}).values():
            for response in (operation.get("responses") or {}).values():
                if isinstance(response, dict):
                    self._walk(response.get("content"))

    def _walk(self, node) -> None:
        if isinstance(node, list):
            for item in node:
                self._walk(item)
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                self._mark(ref.removeprefix(_PREFIX))
            for value in node.values():
                self._walk(value)

    def _mark(self, name: str) -> None:
        schema = self.spec.components.schemas.get(name)
        if schema is None or name in self._done:
            return
        self._done.add(name)
        for key, prop in (schema.get("properties") or {}).items():
            if key in schema.get("required", ()):
                continue
            if "$ref" in prop:  # OpenAPI 3.0 ignores siblings of $ref: wrap it to carry nullable
                ref = prop.pop("$ref")
                prop["allOf"] = [{"$ref": ref}]
            prop["nullable"] = True
            self._walk(prop)


def _text_pattern(self, field, ret=None, **_) -> dict:
    """Every string property says which characters the boundary refuses (unless it has a stricter pattern).
    A nullable nested schema becomes allOf + nullable: apispec's anyOf [{type: object}, $ref] for OpenAPI 3.0
    admits any object at all, so generated requests the schema refuses looked valid."""
    any_of = (ret or {}).get("anyOf")
    if isinstance(field, fields.Nested) and any_of and any_of[0] == {"type": "object", "nullable": True}:
        ret.pop("anyOf")
        return {"allOf": any_of[1:], "nullable": True}
    if isinstance(field, fields.Dict) and "minLength" in (ret or {}):  # apispec words a Dict's Length for strings
        return {"minProperties": ret.pop("minLength")}
    if isinstance(field, fields.String) and not isinstance(field, (fields.Email, fields.URL, fields.UUID)) \
            and "pattern" not in (ret or {}) and "enum" not in (ret or {}):
        return {"pattern": SAFE_TEXT}
    return {}


class BoundaryContract(BasePlugin):
    """Rules the schemas enforce in code, stated in the document too: the text pattern above, and a schema's
    OPENAPI_EXTRA (cross-field rules marshmallow cannot express, e.g. exactly one of two fields)."""

    def init_spec(self, spec) -> None:
        marshmallow = next(p for p in spec.plugins if isinstance(p, MarshmallowPlugin))
        marshmallow.converter.add_attribute_function(_text_pattern)

    def schema_helper(self, name, definition, **kwargs) -> dict | None:
        schema = kwargs.get("schema")
        cls = schema if isinstance(schema, type) else type(schema)
        return getattr(cls, "OPENAPI_EXTRA", None)
