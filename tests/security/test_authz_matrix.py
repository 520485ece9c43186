"""Authorisation matrix: every /api/v1 endpoint x every role x own / other organisation / no such row.

One table row per (method, rule); `test_every_api_endpoint_is_in_the_table` fails when an endpoint is added
without a row, so nothing new slips through untested. For each row and role the request is made against
the role's own organisation's rows ("own"), another organisation's ("other") and ids naming nothing
("ghost"), each inside a savepoint rolled back afterwards, so cases do not see each other's writes.

Outcomes: ALLOW = 2xx or a validation/state answer (400, 409, 410, 422) reached past the permission checks;
otherwise the exact status 401 / 403 / 404. Rules checked:
- own: the table's expectation;
- other: roles that see every organisation (admin, regulator, and `wide` roles of the row) get their own
  answer; any other role must be denied, with 404 where it is allowed on its own rows, and with the very
  answer a non-existent id gets (status, code, message), so ids and existence cannot be probed;
- lists: no item of the other side for roles that do not see every organisation.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from typing import Callable


from tests.factories import PASSWORD
from tests.security import world as W

ALLOW = "allow"
ALL = frozenset(W.ROLES)
GLOBAL = frozenset({"admin", "regulator"})
DESK = frozenset({"admin", "regulator", "dispatcher"})
ROLES_AND_ANON = (*W.ROLES, "anonymous")


@dataclass
class Row:
    method: str
    rule: str
    path: str  # formatted with the target Side's fields ({unit}, {tag}, {incident}, ...)
    allow: frozenset
    body: Callable | None = None  # (world, side, role) -> JSON body
    deny: dict = field(default_factory=dict)  # role -> status when not allowed (default 403)
    scoped: bool = False  # the path/body names a side's rows: other and ghost variants apply
    wide: frozenset = frozenset()  # roles besides admin/regulator that see every organisation's rows
    other: dict = field(default_factory=dict)  # role -> expected on the other side, overriding the rule
    probe: bool = True  # the other side's answer must equal the ghost's
    public: bool = False
    leak: str | None = None  # list rows: how items name their unit ("equipment_id", "id", "org", "csv")
    kind: str = "json"  # "json", "multipart", "stream"


def B(**kw):  # body helper: a constant body
    return lambda w, s, role: kw


REGISTRY_READ = dict(allow=ALL - {"inspector"}, deny={"inspector": 404}, scoped=True, wide={"dispatcher"})
# Writes follow role, not only visibility: a unit's record (details, components, history, tags) is written by
# admins, regulators and its user unit; its alarms are cleared by its maintenance crews and user unit (the
# dispatch desk may acknowledge them).
OWNER_WRITE = dict(allow=frozenset({"admin", "regulator", "owner"}), deny={"inspector": 404}, scoped=True,
                   wide={"dispatcher"})
ALARM_ACK = dict(allow=frozenset({"admin", "dispatcher", "owner", "crew"}), deny={"inspector": 404}, scoped=True,
                 wide={"dispatcher"})
ALARM_CLEAR = {**ALARM_ACK, "allow": frozenset({"admin", "owner", "crew"})}
ACCOUNT_ADMIN = dict(allow=frozenset({"admin"}))
LIST = dict(allow=ALL, scoped=True, wide={"dispatcher"}, leak="equipment_id")
EQ = "?equipment_id={unit}"


def _unit_body(w, s, role):
    return {"category": "3110", "device_code": "311031001202099999", "address": "福州市鼓楼区安全路1号",
            "location": {"lat": 26.1, "lon": 119.3}, "user_org_id": s.orgs["owner"]}


def _contact_body(w, s, role):
    org = w.org_of(role) if s is w.own and w.org_of(role) else s.orgs["owner"]
    return {"org_id": org, "channel": "email", "address": "ops@example.test"}


TABLE = [
    # auth
    Row("POST", "/api/v1/auth/token", "/api/v1/auth/token", ALL, public=True,
        body=lambda w, s, role: {"username": w.users["owner"]["username"], "password": PASSWORD}),
    Row("GET", "/api/v1/auth/me", "/api/v1/auth/me", ALL),
    Row("POST", "/api/v1/auth/logout", "/api/v1/auth/logout", ALL),
    Row("POST", "/api/v1/auth/password", "/api/v1/auth/password", ALL,
        body=B(current_password=PASSWORD, new_password="a-fresh-passphrase-2026")),
    Row("GET", "/api/v1/users", "/api/v1/users", **ACCOUNT_ADMIN),
    Row("POST", "/api/v1/users/<int:user_id>/password", "/api/v1/users/{user}/password",
        body=B(password="a-fresh-passphrase-2026"), **ACCOUNT_ADMIN),
    Row("POST", "/api/v1/users/<int:user_id>/<any(deactivate, activate):action>", "/api/v1/users/{user}/deactivate",
        **ACCOUNT_ADMIN),
    Row("POST", "/api/v1/users/<int:user_id>/revoke", "/api/v1/users/{user}/revoke", **ACCOUNT_ADMIN),
    Row("POST", "/api/v1/users/<int:user_id>/unlock", "/api/v1/users/{user}/unlock", **ACCOUNT_ADMIN),
    Row("POST", "/api/v1/users", "/api/v1/users", frozenset({"admin"}),
        body=lambda w, s, role: {"username": "new.user", "password": "a-long-password", "role": "crew",
                                 "org_id": w.own.orgs["crew"]}),
    # organisations
    Row("POST", "/api/v1/organizations", "/api/v1/organizations", GLOBAL,
        body=B(kind="user_unit", name="新物业", code="91350100MA2XXXXX0X", phone="0591-1")),
    Row("GET", "/api/v1/organizations", "/api/v1/organizations", ALL, wide={"dispatcher"}, leak="org"),
    # registry
    Row("POST", "/api/v1/equipment", "/api/v1/equipment", frozenset({"admin", "regulator", "owner"}),
        body=_unit_body, scoped=True, other={"owner": 403}),
    Row("GET", "/api/v1/equipment", "/api/v1/equipment?q={device_code}", **{**LIST, "leak": "id"}),
    Row("GET", "/api/v1/equipment/<int:equipment_id>", "/api/v1/equipment/{unit}", **REGISTRY_READ),
    Row("PATCH", "/api/v1/equipment/<int:equipment_id>", "/api/v1/equipment/{unit}",
        body=B(address="福州市鼓楼区改址路2号"), **OWNER_WRITE),
    Row("GET", "/api/v1/equipment/<int:equipment_id>/trace", "/api/v1/equipment/{unit}/trace", **REGISTRY_READ),
    Row("POST", "/api/v1/equipment/<int:equipment_id>/history", "/api/v1/equipment/{unit}/history",
        body=B(kind="repaired", data={"note": "x"}), **OWNER_WRITE),
    Row("GET", "/api/v1/equipment/<int:equipment_id>/components", "/api/v1/equipment/{unit}/components",
        **REGISTRY_READ),
    Row("POST", "/api/v1/equipment/<int:equipment_id>/components", "/api/v1/equipment/{unit}/components",
        body=B(kind="brake", maker="X", model="Y"), **OWNER_WRITE),
    Row("GET", "/api/v1/equipment/<int:equipment_id>/tag", "/api/v1/equipment/{unit}/tag", **REGISTRY_READ),
    Row("POST", "/api/v1/equipment/<int:equipment_id>/tag", "/api/v1/equipment/{unit}/tag", **OWNER_WRITE),
    Row("POST", "/api/v1/equipment/<int:equipment_id>/tag/revoke", "/api/v1/equipment/{unit}/tag/revoke",
        body=B(reason="label damaged"), **OWNER_WRITE),
    Row("GET", "/api/v1/equipment/<int:equipment_id>/qr.png", "/api/v1/equipment/{unit}/qr.png", **REGISTRY_READ),
    Row("GET", "/api/v1/equipment/<int:equipment_id>/qr.svg", "/api/v1/equipment/{unit}/qr.svg", **REGISTRY_READ),
    Row("GET", "/api/v1/equipment/labels.pdf", "/api/v1/equipment/labels.pdf?ids={unit}", **REGISTRY_READ),
    Row("POST", "/api/v1/equipment/import", "/api/v1/equipment/import", GLOBAL, kind="multipart"),
    Row("GET", "/api/v1/equipment/export.csv", "/api/v1/equipment/export.csv", ALL, wide={"dispatcher"},
        leak="csv"),
    Row("GET", "/api/v1/public/<string:tag>", "/api/v1/public/{tag}", ALL, public=True),
    # telemetry
    Row("POST", "/api/v1/terminals", "/api/v1/terminals", body=lambda w, s, r: {"equipment_id": s.unit},
        **OWNER_WRITE),
    Row("GET", "/api/v1/terminals", "/api/v1/terminals" + EQ, **LIST),
    Row("DELETE", "/api/v1/terminals/<string:terminal_id>", "/api/v1/terminals/{terminal}", **OWNER_WRITE),
    Row("GET", "/api/v1/alarms", "/api/v1/alarms" + EQ, **LIST),
    Row("POST", "/api/v1/alarms/<int:alarm_id>/ack", "/api/v1/alarms/{alarm}/ack", **ALARM_ACK),
    Row("POST", "/api/v1/alarms/<int:alarm_id>/clear", "/api/v1/alarms/{alarm}/clear", body=B(reason="门机已修复"),
        **ALARM_CLEAR),
    Row("GET", "/api/v1/telemetry/latest", "/api/v1/telemetry/latest" + EQ, **LIST),
    # inspections
    Row("POST", "/api/v1/inspections", "/api/v1/inspections", frozenset({"admin", "regulator", "inspector"}),
        body=lambda w, s, r: {"equipment_id": s.unit, "date": dt.date.today().isoformat(), "conclusion": "pass"},
        scoped=True),
    Row("GET", "/api/v1/inspections", "/api/v1/inspections" + EQ, **LIST),
    Row("GET", "/api/v1/inspections/<int:inspection_id>", "/api/v1/inspections/{inspection}", ALL, scoped=True,
        wide={"dispatcher"}),
    Row("GET", "/api/v1/inspections/<int:inspection_id>/defects", "/api/v1/inspections/{inspection}/defects",
        ALL, scoped=True, wide={"dispatcher"}),
    Row("GET", "/api/v1/inspection-rules", "/api/v1/inspection-rules", ALL),
    Row("GET", "/api/v1/inspection-rules/versions", "/api/v1/inspection-rules/versions", GLOBAL),
    Row("PUT", "/api/v1/inspection-rules/<string:key>", "/api/v1/inspection-rules/reminders",
        frozenset({"admin"}), body=B(value="not a rule")),  # 422 for the admin: the rules cache stays as is
    Row("GET", "/api/v1/dispatch-rules", "/api/v1/dispatch-rules", ALL),
    Row("GET", "/api/v1/dispatch-rules/versions", "/api/v1/dispatch-rules/versions", GLOBAL),
    Row("PUT", "/api/v1/dispatch-rules/<string:key>", "/api/v1/dispatch-rules/policy", GLOBAL,
        body=B(value="not a policy")),  # 422 for the regulator: the live policy stays as is
    Row("GET", "/api/v1/obligations", "/api/v1/obligations" + EQ, **LIST),
    Row("GET", "/api/v1/obligations/equipment/<int:equipment_id>", "/api/v1/obligations/equipment/{unit}",
        ALL, scoped=True, wide={"dispatcher"}),
    Row("PUT", "/api/v1/obligations/equipment/<int:equipment_id>/agency",
        "/api/v1/obligations/equipment/{unit}/agency",
        body=lambda w, s, r: {"agency_org_id": s.orgs["inspector"]}, **OWNER_WRITE),
    Row("POST", "/api/v1/reminders/contacts", "/api/v1/reminders/contacts", ALL, body=_contact_body,
        scoped=True, other={r: 403 for r in W.ROLES if r not in GLOBAL}),
    Row("GET", "/api/v1/reminders", "/api/v1/reminders" + EQ, **LIST),
    Row("POST", "/api/v1/spot-checks", "/api/v1/spot-checks", GLOBAL, body=B(sample_size=1)),
    Row("GET", "/api/v1/spot-checks/<int:draw_id>", "/api/v1/spot-checks/{draw}", GLOBAL),
    Row("GET", "/api/v1/spot-checks/<int:draw_id>/verify", "/api/v1/spot-checks/{draw}/verify", GLOBAL),
    Row("GET", "/api/v1/spot-checks/assignments", "/api/v1/spot-checks/assignments",
        frozenset({"admin", "regulator", "inspector"})),
    Row("POST", "/api/v1/maintenance", "/api/v1/maintenance", frozenset({"admin", "crew"}), scoped=True,
        body=lambda w, s, r: {"equipment_id": s.unit, "item_set": "half_monthly",
                              "started_at": "2026-01-05T01:00:00Z", "ended_at": "2026-01-05T02:00:00Z"}),
    Row("GET", "/api/v1/maintenance", "/api/v1/maintenance" + EQ, **LIST),
    Row("POST", "/api/v1/maintenance/start", "/api/v1/maintenance/start", frozenset({"admin", "crew"}),
        body=lambda w, s, r: {"tag": s.tag}, scoped=True, probe=False,  # a tag is printed on the unit
        other={"crew": 403}),
    Row("POST", "/api/v1/maintenance/<int:record_id>/finish", "/api/v1/maintenance/{record}/finish",
        frozenset({"admin", "crew"}), body=B(notes="done"), scoped=True),
    Row("POST", "/api/v1/filling/check", "/api/v1/filling/check", frozenset({"admin", "owner", "crew"}),
        body=lambda w, s, r: {"tag": s.cylinder_tag}),
    Row("POST", "/api/v1/filling", "/api/v1/filling", frozenset({"admin", "owner", "crew"}),
        body=lambda w, s, r: {"tag": s.cylinder_tag, "gas": "LPG", "mass_kg": 14.5}),
    # emergency
    Row("GET", "/api/v1/incidents", "/api/v1/incidents" + EQ, **LIST),
    Row("POST", "/api/v1/incidents", "/api/v1/incidents", DESK, body=lambda w, s, r: {"equipment_id": s.unit},
        scoped=True, wide={"dispatcher"}),
    Row("GET", "/api/v1/incidents/stats", "/api/v1/incidents/stats", ALL),
    Row("GET", "/api/v1/incidents/<int:incident_id>", "/api/v1/incidents/{incident}", ALL - {"inspector"},
        deny={"inspector": 404}, scoped=True, wide={"dispatcher"}),
    Row("POST", "/api/v1/incidents/<int:incident_id>/<any(accept, arrive, release, close, false_alarm, cancel):action>",
        "/api/v1/incidents/{incident}/accept", frozenset({"admin", "dispatcher", "crew"}), body=B(),
        deny={"inspector": 404}, scoped=True, wide={"dispatcher"}),
    Row("POST", "/api/v1/incidents/<int:incident_id>/dispatch", "/api/v1/incidents/{incident}/dispatch",
        frozenset({"admin", "dispatcher"}), body=B(), scoped=True, wide={"dispatcher"}),
    Row("POST", "/api/v1/incidents/<int:incident_id>/escalate", "/api/v1/incidents/{incident}/escalate",
        frozenset({"admin", "dispatcher"}), scoped=True, wide={"dispatcher"}),
    Row("POST", "/api/v1/incidents/<int:incident_id>/verify", "/api/v1/incidents/{incident}/verify",
        frozenset({"admin", "dispatcher"}), body=B(method="callback"), scoped=True, wide={"dispatcher"}),
    Row("GET", "/api/v1/public-reports", "/api/v1/public-reports", ALL - {"inspector"}, leak="equipment_id",
        wide={"dispatcher"}),
    Row("POST", "/api/v1/public-reports/<int:report_id>/rescue", "/api/v1/public-reports/{report}/rescue",
        frozenset({"admin", "dispatcher"}), scoped=True, wide={"dispatcher"}),
    Row("GET", "/api/v1/public/reports/<string:tracking_no>", "/api/v1/public/reports/{tracking}", ALL,
        public=True),
    Row("GET", "/api/v1/incidents/stream", "/api/v1/incidents/stream",
        frozenset({"admin", "regulator", "dispatcher", "crew"}), kind="stream"),
    Row("GET", "/api/v1/crews", "/api/v1/crews", DESK),
    Row("GET", "/api/v1/crews/me", "/api/v1/crews/me", frozenset({"admin", "crew"})),
    Row("PUT", "/api/v1/crews/me/duty", "/api/v1/crews/me/duty", frozenset({"crew"}), body=B(on_duty=True)),
    Row("POST", "/api/v1/crews/me/position", "/api/v1/crews/me/position", frozenset({"crew"}),
        body=B(lat=26.1, lon=119.3)),
    Row("GET", "/api/v1/crews/me/jobs", "/api/v1/crews/me/jobs", frozenset({"crew"})),
    # documentation
    Row("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", ALL, public=True),
    Row("GET", "/api/v1/docs", "/api/v1/docs", ALL, public=True),
    Row("GET", "/api/v1/docs-assets/<path:filename>", "/api/v1/docs-assets/swagger-ui.css", ALL, public=True),
]


# --- running one case ----------------------------------------------------------------------------------

def outcome(status: int):
    if 200 <= status < 300 or status in (400, 409, 410, 422):
        return ALLOW
    return status


@contextlib.contextmanager
def rolled_back(db):
    """Each case in its own savepoint: services commit into it, the rollback undoes them."""
    conn = db.session.get_bind()
    db.session.close()
    savepoint = conn.begin_nested()
    try:
        yield
    finally:
        db.session.close()
        savepoint.rollback()


def call(client, db, world, row: Row, side, role: str):
    path = row.path.format(**vars(side), draw=world.draw, user=world.users["owner"]["id"])
    kwargs = {"headers": world.headers(role)}
    if row.body is not None:
        kwargs["json"] = row.body(world, side, role)
    if row.kind == "multipart":
        kwargs["data"] = {"file": (io.BytesIO(b"category,address\n3110,x\n"), "units.csv")}
        kwargs["content_type"] = "multipart/form-data"
    if row.kind == "stream":
        kwargs["buffered"] = False
    with rolled_back(db):
        resp = client.open(path, method=row.method, **kwargs)
        body = resp.get_data() if row.kind != "stream" else b""
        resp.close()  # a live stream releases its slot
    return resp.status_code, body


def expected_own(row: Row, role: str):
    if role == "anonymous":
        return ALLOW if row.public else 401
    return ALLOW if role in row.allow else row.deny.get(role, 403)


def _error_shape(body: bytes) -> str:
    try:
        err = json.loads(body).get("error", {})
    except (ValueError, AttributeError):
        return repr(body[:200])
    return re.sub(r"\d+", "#", json.dumps([err.get("code"), err.get("message"), err.get("details")]))


def check_other(row: Row, role: str, own, other, ghost) -> str | None:
    if role in row.other:
        want = row.other[role]
        return None if outcome(other[0]) == want else f"other side: {other[0]}, want {want}"
    if row.leak or role == "anonymous" or role in GLOBAL | row.wide:  # a list filtered on the other side's
        want = expected_own(row, role)                                  # ids answers, empty (see check_leak)
        return None if outcome(other[0]) == want else f"other side: {other[0]}, want {want} as on its own"
    got = outcome(other[0])
    if got == ALLOW or (own == ALLOW and got != 404) or got not in (403, 404):
        return f"other side: {other[0]}, want 404 (hidden) or 403 (refused before the lookup)"
    if row.probe and (other[0] != ghost[0] or _error_shape(other[1]) != _error_shape(ghost[1])):
        return (f"other side answers unlike a non-existent id: {other[0]} {other[1][:160]!r} vs "
                f"{ghost[0]} {ghost[1][:160]!r}")
    return None


def check_leak(row: Row, world, role: str, status: int, body: bytes) -> str | None:
    if row.leak is None or role in GLOBAL | row.wide or outcome(status) != ALLOW:
        return None
    other = world.other
    if row.leak == "csv":
        text = body.decode("utf-8-sig")
        units = [r.get("device_code") for r in csv.DictReader(io.StringIO(text))]
        return f"export shows another organisation's unit {other.device_code}" if other.device_code in units else None
    items = json.loads(body)["items"]
    if row.leak == "org":
        foreign = [i["id"] for i in items if i["id"] != world.org_of(role)]
        return f"lists other organisations {foreign}" if foreign else None
    foreign = [i for i in items if i.get(row.leak) == other.unit]
    return f"lists another organisation's rows {foreign[:2]}" if foreign else None


def run_row(client, db, world, row: Row) -> list[str]:
    problems = []
    for role in ROLES_AND_ANON:
        own = call(client, db, world, row, world.own, role)
        want = expected_own(row, role)
        if own[0] >= 500:
            problems.append(f"{role}: own side {own[0]}")
        elif outcome(own[0]) != want:
            problems.append(f"{role}: own side {own[0]}, want {want}: {own[1][:200]!r}")
        if (leak := check_leak(row, world, role, *own)):
            problems.append(f"{role}: {leak}")
        if not row.scoped:
            continue
        other = call(client, db, world, row, world.other, role)
        ghost = call(client, db, world, row, world.ghost, role)
        problems += [f"{role}: {name} side {status}" for name, (status, _) in (("other", other), ("ghost", ghost))
                     if status >= 500]
        if (problem := check_other(row, role, outcome(own[0]), other, ghost)):
            problems.append(f"{role}: {problem}")
        if (leak := check_leak(row, world, role, *other)):
            problems.append(f"{role}: {leak}")
    return [f"{row.method} {row.path}: {p}" for p in problems]


# --- tests ---------------------------------------------------------------------------------------------

def api_endpoints(app) -> set[tuple[str, str]]:
    return {(m, r.rule) for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")
            for m in r.methods - {"HEAD", "OPTIONS"}}


def test_every_api_endpoint_is_in_the_table(app):
    listed = {(r.method, r.rule) for r in TABLE}
    assert len(listed) == len(TABLE), "a (method, rule) is listed twice"
    missing = sorted(api_endpoints(app) - listed)
    assert not missing, f"endpoints without an authorisation row (add them to TABLE): {missing}"
    stale = sorted(listed - api_endpoints(app))
    assert not stale, f"rows for endpoints that no longer exist: {stale}"


# Problems found in domains other helpers own, reported to the lead rather than fixed here. Each must still
# occur (so a fix is noticed and its entry removed); anything not listed fails the test.
KNOWN: dict[str, str] = {}  # problems found and not yet fixed: none now


def test_authorisation_matrix(app, client, f, db):
    world = W.build(f, client)
    problems = []
    for row in TABLE:
        problems += run_row(client, db, world, row)
    unknown = [p for p in problems if not any(re.match(k, p) for k in KNOWN)]
    assert not unknown, f"{len(unknown)} authorisation problems:\n" + "\n".join(unknown)
    fixed = [why for k, why in KNOWN.items() if not any(re.match(k, p) for p in problems)]
    assert not fixed, f"known problems no longer occur, remove them from KNOWN: {fixed}"


def test_matrix_detects_a_leak(app, client, f, db):
    """The checks themselves can fail: a row claiming the owner may not read its unit is reported,
    and another organisation's unit answered like one's own is reported."""
    world = W.build(f, client)
    wrong = Row("GET", "x", "/api/v1/equipment/{unit}", frozenset({"admin"}), scoped=True)
    problems = run_row(client, db, world, wrong)
    assert any(p.startswith("GET /api/v1/equipment/{unit}: owner: own side 200, want 403") for p in problems)
    assert check_other(wrong, "owner", ALLOW, (200, b"{}"), (404, b"{}")) is not None
    assert check_other(wrong, "owner", ALLOW, (403, b"{}"), (404, b"{}")) is not None
