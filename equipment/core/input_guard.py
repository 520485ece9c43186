"""Refuse text that no store can hold before it reaches a service.

PostgreSQL text cannot contain NUL (0x00), SQLite would keep it and the two backends would disagree,
so a NUL anywhere in a request's query, form or JSON is a 400 with the field named.
"""
from __future__ import annotations

from flask import request

from equipment.core.errors import Invalid


def _find_nul(value, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            hit = _find_nul(key, path) or _find_nul(item, f"{path}.{key}" if path else str(key))
            if hit:
                return hit
    if isinstance(value, list):
        for i, item in enumerate(value):
            hit = _find_nul(item, f"{path}[{i}]")
            if hit:
                return hit
    return None


def has_nul(value) -> bool:
    return _find_nul(value, "") is not None


def reject_nul() -> None:
    if not request.query_string and request.method in ("GET", "HEAD", "OPTIONS"):
        return  # nothing to look at (most reads): skip building the args, form and JSON views
    sources = [("query", request.args.to_dict(flat=False))]
    if request.form:
        sources.append(("form", request.form.to_dict(flat=False)))
    if request.is_json:
        sources.append(("json", request.get_json(silent=True)))
    for _, data in sources:
        hit = _find_nul(data, "")
        if hit is not None:
            field = hit.split(".")[0].split("[")[0] or "_schema"
            raise Invalid("NUL characters are not allowed", details={field: ["contains a NUL character"]})
