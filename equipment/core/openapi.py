"""The OpenAPI document says what the API really answers.

Output schemas dump whatever the row holds, and most columns are nullable (a cylinder has no device code,
an open incident no cause), but marshmallow fields only document `nullable` when declared `allow_none`.
Rather than annotate every output field of every domain, this plugin marks the properties of every schema
reached from a response as nullable, so clients (and schemathesis) read the contract the code keeps.
"""
from __future__ import annotations

from apispec import BasePlugin

_PREFIX = "#/components/schemas/"


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
