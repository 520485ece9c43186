"""/rules: the regulator's and admin's view of the two rules tables (emergency's dispatch rules, inspections'
due-date rules), an edit form per entry and each table's version history.

An edit goes through the owning domain's service function, the one the JSON API calls (same validation, same
new version, same audit): the page only turns form text into the value the API would receive, requires a
reason, and shows the service's refusal next to the form with what was typed.
"""
from __future__ import annotations

import math
import re

from flask import flash, redirect, render_template, request

from equipment.auth.service import require_actor
from equipment.core.errors import AppError
from equipment.core.schemas import PageQuery
from equipment.emergency import service as emergency
from equipment.inspections import service as inspections
from equipment.web import error_text
from equipment.web.i18n import t
from equipment.workspace import rules_text as words
from equipment.workspace.pages import bp, load

HISTORY_ROWS = 20
NOTE_MAX = 500  # as the API's schemas allow
SCAN_ROWS = 200  # versions read per query while looking for each entry's last change


@bp.route("/rules")
def rules_page():
    return _render(require_actor(*emergency.RULE_ROLES))


@bp.route("/rules/dispatch/<string:key>", methods=["POST"])
def rules_dispatch_edit(key):
    actor = require_actor(*emergency.RULE_ROLES)
    return _edit(actor, "dispatch", key, lambda typed, note: emergency.set_dispatch_rule(
        actor=actor, key=key, value=_dispatch_value(key, typed), note=note))


@bp.route("/rules/inspection/<string:key>", methods=["POST"])
def rules_inspection_edit(key):
    actor = require_actor("admin")
    current = inspections.rules_in_force()[1].get(key)
    return _edit(actor, "inspection", key, lambda typed, note: inspections.set_rule(
        actor=actor, key=key, value=_form_doc(current, typed, ()), note=note))


def _edit(actor, table: str, key: str, save):
    """Save (the service call) once the reason is there; else the page again with the refusal and the text."""
    # check boxes send a name each (after an empty hidden one, so that none ticked is an empty list)
    typed = {k: ",".join(v for v in values if v) for k, values in request.form.to_dict(flat=False).items()}
    error = _note_error(typed)
    if error is None:
        try:
            row = save(typed, typed["note"].strip())
        except AppError as err:
            error = _say(err, key)
    if error is not None:
        return _render(actor, form=(table, key), error=error, typed=typed)
    flash(t("rl.saved", name=words.change_words(table, (key,), None)[0], version=row.version))
    return redirect(f"/rules#rule-{key.replace('.', '-')}")


@bp.route("/rules/history/<any(dispatch, inspection):table>")
def rules_history(table):
    require_actor(*emergency.RULE_ROLES)
    page = load(PageQuery)["page"]
    out = _history(table)(page=page, per_page=HISTORY_ROWS)
    items = [{"row": row, "who": words.who(row.created_by), "note": words.note_words(table, row.note),
              "changes": [(*words.change_words(table, path, new), words.change_words(table, path, old)[1])
                          for path, old, new in words.changed(row.rules, before)],
              "full": _in_full(table, row.rules) if before is None else None} for row, before in out["items"]]
    return render_template("workspace/rules_history.html", table=table, page={**out, "items": items})


# --- the page ----------------------------------------------------------------------------------------

def _render(actor, *, form=None, error=None, typed=None):
    dispatch_version, dispatch_rules = emergency.dispatch_rules()
    inspection_version, inspection_rules = inspections.rules_in_force()
    name, slack = words.policy_parts(dispatch_rules["policy"])
    body = render_template(
        "workspace/rules.html", form=form, error=error, typed=typed or {},
        dispatch={"version": dispatch_version, "policy": name, "slack": slack or "10",
                  "rows": words.dispatch_rows(dispatch_rules, emergency.dispatch_rule_bounds(),
                                              _last_changes("dispatch"))},
        inspection={"version": inspection_version,
                    "entries": words.inspection_entries(inspection_rules, _last_changes("inspection"),
                                                        {"channels": inspections.REMINDER_CHANNELS})},
        policies=words.policy_choices(), can_edit_inspection=actor.role == "admin", note_max=NOTE_MAX)
    return body, (error or {}).get("status", 200)


def _history(table):
    return emergency.dispatch_rule_history if table == "dispatch" else inspections.rule_history


def _last_changes(table: str) -> dict:
    """{(entry,): {"row", "who", "note"}} of the newest version that changed each entry (the first version sets
    them all); rules tables change rarely, so this reads a few hundred versions at most."""
    found, page, pages = {}, 1, 1
    while page <= pages:
        out = _history(table)(page=page, per_page=SCAN_ROWS)
        for row, before in out["items"]:
            paths = words.changed(row.rules, before) if before is not None else [((k,),) for k in row.rules]
            for path, *_ in paths:
                found.setdefault(path[:1], {"row": row, "who": words.who(row.created_by),
                                            "note": words.note_words(table, row.note)})
        page, pages = page + 1, out["pages"]
    return found


def _in_full(table: str, rules: dict) -> list[tuple[str, str]]:
    return [words.change_words(table, path, value) for path, value in words.leaves(rules)
            if table == "inspection" or path[0] in words.DISPATCH_KEYS]


# --- form text -> the API's value ----------------------------------------------------------------------

def _note_error(typed: dict) -> dict | None:
    note = typed.get("note", "").strip()
    if not note:
        return {"status": 422, "message": t("rl.note_required"), "fields": []}
    if len(note) > NOTE_MAX:
        return {"status": 422, "message": t("rl.note_too_long"), "fields": []}
    return None


def _dispatch_value(key: str, typed: dict) -> str:
    """`policy` is a choice plus, for eta, its minutes: the API's text form `eta(10)`."""
    if key != "policy":
        return typed.get("value", "")
    name = typed.get("policy", "").strip()
    return f"eta({typed.get('slack', '').strip()})" if name == "eta" else name


def _form_doc(current, typed: dict, path: tuple):
    """The entry with each field the form sent, typed like the stored value; text that does not parse is
    passed on as text, for the service to refuse with its own words."""
    if isinstance(current, dict):
        return {k: v if k == "_comment" else _form_doc(v, typed, (*path, k)) for k, v in current.items()}
    raw = typed.get("/".join(path))
    return current if raw is None else _parse(current, raw.strip())


def _parse(old, raw: str):
    if isinstance(old, bool):
        return {"true": True, "false": False}.get(raw, raw)
    if isinstance(old, list):
        items = [x for x in re.split(r"[,，、\s]+", raw) if x]
        return [_parse(old[0], x) for x in items] if old else items
    if isinstance(old, (int, float)):
        for kind in (int, float):
            try:
                number = kind(raw)
            except ValueError:
                continue
            return number if math.isfinite(number) else raw
    return raw


def _say(err: AppError, key: str) -> dict:
    """The service's refusal in the page's words: the message and each field's reason, named in words."""
    message, details = error_text.localise(err.status, err.message, err.details)
    fields = []
    for field, texts in (details or {}).items():
        name = "" if field in ("value", "key", "note", "rules", key) else words.field_label(
            tuple(field.removeprefix(f"{key}.").split(".")))
        fields += [(name, text) for text in (texts if isinstance(texts, list) else [texts])]
    return {"status": err.status, "message": message, "fields": fields}
