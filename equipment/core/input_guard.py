"""Refuse text that no store can hold, or that misleads a reader, before it reaches a service.

- NUL (0x00): PostgreSQL text cannot hold it and SQLite would keep it, so the two backends would disagree.
- Lone surrogates (U+D800-U+DFFF, e.g. JSON "\\ud800"): not encodable as UTF-8; SQLite fails with a 500.
- Bidi controls and zero-width characters: stored in a name or an address they reorder or hide text on the
  dispatcher console and the public page (a spoofed address or organisation), so they are refused too.

One check (`text_problem`) serves the request hook (every query, form and JSON value, page or API) and the
shared schema base (`GuardedSchema`) that also covers files read outside a request (CSV/XLSX imports).
"""
from __future__ import annotations

import re

from flask import current_app, request
from marshmallow import Schema, ValidationError, pre_load

from equipment.core.errors import Invalid

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# zero-width space/non-joiner/joiner, LRM, RLM; embeddings/overrides LRE..RLO; word joiner and invisible
# operators; isolates LRI..PDI; ALM; Mongolian vowel separator; BOM used as a zero-width no-break space.
_HIDDEN_CLASS = r"\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c\u180e\ufeff"
_HIDDEN = re.compile(f"[{_HIDDEN_CLASS}]")
# What text_problem refuses, for the OpenAPI document's string pattern. Lone surrogates are left out: they are
# not Unicode scalar values, so no JSON-schema string holds one (and regex engines refuse the range).
DOCUMENTED_CLASS = r"\u0000" + _HIDDEN_CLASS


def text_problem(value: str) -> str | None:
    """Why this text is refused (English / Chinese), or None."""
    if "\x00" in value:
        return "contains a NUL character / 含空字符"
    if _SURROGATE.search(value):
        return "contains an unpaired surrogate (invalid Unicode) / 含无效的 Unicode 代理字符"
    if _HIDDEN.search(value):
        return "contains invisible direction or zero-width characters / 含不可见的方向控制或零宽字符"
    return None


def _find_bad(value, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        problem = text_problem(value)
        return (path, problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            hit = _find_bad(key, path) or _find_bad(item, f"{path}.{key}" if path else str(key))
            if hit:
                return hit
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            hit = _find_bad(item, f"{path}[{i}]")
            if hit:
                return hit
    return None


def _field(path: str) -> str:
    return path.split(".")[0].split("[")[0] or "_schema"


def reject_bad_text() -> None:
    if not request.query_string and request.method in ("GET", "HEAD", "OPTIONS"):
        return  # nothing to look at (most reads): skip building the args, form and JSON views
    sources = [request.args.to_dict(flat=False)]
    if request.form:
        sources.append(request.form.to_dict(flat=False))
    if request.is_json:
        sources.append(request.get_json(silent=True))
    for data in sources:
        hit = _find_bad(data, "")
        if hit is not None:
            raise Invalid("Text with characters that cannot be stored or displayed safely / 文本含不允许的字符",
                          details={_field(hit[0]): [hit[1]]})


def large_body(view):
    """Mark an upload view: it may receive UPLOAD_MAX_CONTENT_LENGTH instead of the small JSON limit."""
    view.large_body = True
    return view


def body_limit() -> None:
    """Before the body is read: the big limit only where a view asked for it (imports and uploads)."""
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "large_body", False):
        request.max_content_length = current_app.config["UPLOAD_MAX_CONTENT_LENGTH"]


class GuardedSchema(Schema):
    """Base of every domain's input schemas: the same text check for data that did not come by HTTP."""

    @pre_load
    def _refuse_bad_text(self, data, **_):
        hit = _find_bad(data, "")
        if hit is not None:
            raise ValidationError({_field(hit[0]): [hit[1]]})
        return data
