"""Hardening: enumeration resistance, secrets kept out of logs and audit, cookies, CSRF on every form,
redirects, headers, rate limits and lockout."""
from __future__ import annotations

import json
import logging
import re
from types import SimpleNamespace

import pytest

from equipment.registry.qr import new_tag
from tests.factories import PASSWORD
from tests.security.world import GHOST_ID, GHOST_TAG

JSON = {"Accept": "application/json"}


def _csrf(client, path="/login") -> str:
    client.get(path)
    with client.session_transaction() as sess:
        return sess["csrf"]


def _login_session(client, user):
    from tests.factories import Factory
    from equipment.extensions import db
    Factory(db).session(client, user.id, csrf="known-csrf-token")
    return "known-csrf-token"


# --- enumeration -------------------------------------------------------------------------------------

MALFORMED = ["nope", "A" * 21 + "B", "A" * 23, "x" * 300, "..", "%E4%BD%A0%E5%A5%BD", "-" * 22, "A" * 21 + "Q "]


@pytest.mark.parametrize("path", ["/api/v1/public/{}", "/q/{}"])
def test_unknown_and_malformed_tags_answer_alike(client, f, path):
    f.elevator()
    answers = {tag: client.get(path.format(tag)) for tag in [GHOST_TAG, new_tag(), *MALFORMED]}
    first = answers[GHOST_TAG]
    assert first.status_code == 404
    for tag, resp in answers.items():
        assert (resp.status_code, resp.data) == (first.status_code, first.data), tag


def test_reports_on_unknown_and_malformed_tags_answer_alike(client, f):
    token = _csrf(client)
    answers = [client.post(f"/q/{tag}/report", data={"csrf_token": token, "kind": "trapped"}, headers=JSON)
               for tag in [GHOST_TAG, new_tag(), *MALFORMED[:3]]]
    assert {(r.status_code, r.data) for r in answers} == {(answers[0].status_code, answers[0].data)}
    assert answers[0].status_code == 404


def _masked(resp, unit_id: int) -> str:
    """The answer with the id asked for masked; JSON decoded first (a short id is also a digit of the
    \\uXXXX escapes of a Chinese message)."""
    text = json.dumps(resp.get_json(), ensure_ascii=False) if resp.is_json else resp.get_data(as_text=True)
    return text.replace(str(unit_id), "#")


def test_other_orgs_unit_answers_exactly_like_a_missing_one(client, f):
    mine, theirs = f.org(), f.org()
    unit, other = f.elevator(user_org=mine), f.elevator(user_org=theirs)
    owner = f.user("owner", mine)
    h = f.token(client, owner)
    assert client.get(f"/api/v1/equipment/{unit.id}", headers=h).status_code == 200
    for path in ("/api/v1/equipment/{}", "/api/v1/equipment/{}/trace", "/api/v1/equipment/{}/qr.svg",
                 "/api/v1/obligations/equipment/{}", "/api/v1/equipment/labels.pdf?ids={}"):
        hidden = client.get(path.format(other.id), headers=h)
        missing = client.get(path.format(GHOST_ID), headers=h)
        assert hidden.status_code == 404, path
        assert _masked(hidden, other.id) == _masked(missing, GHOST_ID)
    _login_session(client, owner)
    page_hidden, page_missing = client.get(f"/units/{other.id}"), client.get(f"/units/{GHOST_ID}")
    assert page_hidden.status_code == page_missing.status_code == 404
    assert page_hidden.data == page_missing.data


# --- secrets -----------------------------------------------------------------------------------------

def test_secrets_never_reach_logs_or_the_audit_trail(client, f, db, caplog):
    from equipment.core.audit import AuditLog
    caplog.set_level(logging.DEBUG)
    secrets = [PASSWORD, "wrong-password-123"]
    admin = f.user("admin")
    org, unit = f.org("maintenance_unit"), None
    unit = f.elevator(maint_org=org)
    csrf = _csrf(client)
    client.post("/login", data={"username": admin.username, "password": "wrong-password-123", "csrf_token": csrf})
    assert client.post("/login", data={"username": admin.username, "password": PASSWORD,
                                       "csrf_token": csrf}).status_code == 302
    client.post("/api/v1/auth/token", json={"username": admin.username, "password": "wrong-password-123"})
    token = client.post("/api/v1/auth/token", json={"username": admin.username, "password": PASSWORD})
    secrets.append(token.get_json()["access_token"])
    h = {"Authorization": f"Bearer {secrets[-1]}"}
    created = client.post("/api/v1/users", headers=h, json={"username": "li.lei", "role": "crew",
                                                           "org_id": org.id, "password": "new-user-secret-9"})
    assert created.status_code == 201 and "password" not in created.get_json()
    secrets.append("new-user-secret-9")
    terminal = client.post("/api/v1/terminals", headers=h, json={"equipment_id": unit.id})
    assert terminal.status_code == 201
    secrets.append(terminal.get_json()["mqtt_password"])
    logging.getLogger("equipment.test").debug("control %s", "CANARY-SECRET")
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "CANARY-SECRET" in logged  # the capture sees what the platform logs
    audit = "\n".join(repr(row.changes) for row in db.session.query(AuditLog))
    assert "li.lei" in audit and "password_hash" not in audit and "mqtt_password" not in audit
    for secret in secrets:
        assert secret not in logged, "a secret was logged"
        assert secret not in audit, "a secret is in the audit trail"
    listed = client.get("/api/v1/terminals", headers=h).get_data(as_text=True)
    assert secrets[-1] not in listed and "$7$" not in listed


def test_token_and_credential_answers_are_not_cached(client, f):
    admin = f.user("admin")
    token = client.post("/api/v1/auth/token", json={"username": admin.username, "password": PASSWORD})
    assert token.headers.get("Cache-Control") == "no-store"
    unit = f.elevator()
    h = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    terminal = client.post("/api/v1/terminals", headers=h, json={"equipment_id": unit.id})
    assert terminal.status_code == 201 and terminal.headers.get("Cache-Control") == "no-store"


# --- cookies, redirects, headers -------------------------------------------------------------------

def _session_cookie(resp) -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, resp.headers
    return cookies[-1]


@pytest.mark.parametrize("secure", [False, True])
def test_session_cookie_flags(client, f, app, secure):
    user = f.user("regulator")
    csrf = _csrf(client)
    old = app.config["SESSION_COOKIE_SECURE"]
    app.config["SESSION_COOKIE_SECURE"] = secure
    try:
        resp = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": csrf})
    finally:
        app.config["SESSION_COOKIE_SECURE"] = old
    cookie = _session_cookie(resp)
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "httponly" in attrs and attrs["samesite"].lower() == "samesite=lax"
    assert ("secure" in attrs) is secure
    with client.session_transaction() as sess:
        assert sess.get("csrf") != csrf, "login must start a fresh session"


@pytest.mark.parametrize("base, secure", [("https://tags.example.cn", True), ("http://127.0.0.1:5000", False)])
def test_secure_cookie_follows_public_base_url(monkeypatch, base, secure):
    from equipment.config import load_config
    monkeypatch.setenv("EQUIPMENT_PUBLIC_BASE_URL", base)
    cfg = load_config()
    assert cfg["SESSION_COOKIE_SECURE"] is secure
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True and cfg["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_logout_ends_the_session(client, f):
    user = f.user("regulator")
    csrf = _csrf(client)
    client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": csrf})
    assert client.get("/api/v1/auth/me").status_code == 200
    client.post("/logout", data={"csrf_token": _csrf(client, "/")})
    assert client.get("/api/v1/auth/me").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example/x", "/\t/evil.example", "\\\\evil.example",
                                    "https://evil.example/", "/%0d%0aLocation:%20http://evil.example", "javascript:x"])
def test_login_redirect_stays_on_site(client, f, target):
    from urllib.parse import urlsplit
    user = f.user("regulator")
    csrf = _csrf(client)
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": csrf,
                                       "next": target})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    browser_view = location.replace("\\", "/").replace("\t", "")
    assert browser_view.startswith("/") and not browser_view.startswith("//") and not urlsplit(location).netloc


@pytest.mark.parametrize("path", ["/login", "/api/v1/auth/me", "/api/v1/equipment/1", "/q/nope", "/no/such/page"])
def test_security_headers_everywhere(client, path):
    resp = client.get(path)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


# --- CSRF --------------------------------------------------------------------------------------------

def _page_posts(app) -> list[str]:
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api/")]
    values = {"action": "accept", "tag": GHOST_TAG}  # any other parameter is an id
    return [re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values.get(m.group(1), "1"), r.rule) for r in rules]


def test_every_form_post_requires_the_csrf_token(app, client, f):
    paths = _page_posts(app)
    assert {"/login", "/logout", "/crew/duty", "/console/incidents", f"/q/{GHOST_TAG}/report"} <= set(paths)
    admin = f.user("admin")
    for path in paths:
        for bad in ({}, {"csrf_token": "forged"}):
            _login_session(client, admin)
            resp = client.post(path, data=bad, headers=JSON)
            assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf", (path, bad)
        for data, headers in (({"csrf_token": "known-csrf-token"}, {}), ({}, {"X-CSRF-Token": "known-csrf-token"})):
            _login_session(client, admin)
            resp = client.post(path, data=data, headers={**JSON, **headers})
            body = resp.get_json(silent=True) or {}
            assert body.get("error", {}).get("code") != "csrf", (path, data, headers)


def test_the_session_cookie_does_not_authenticate_api_writes(client, f):
    """The API is exempt from CSRF, so a cookie another site's form would carry along must not count there."""
    unit = f.elevator()
    admin = f.user("admin")
    token = _login_session(client, admin)
    for method, path, kwargs in (("post", f"/api/v1/equipment/{unit.id}/tag", {}),  # no body: a form could send it
                                 ("patch", f"/api/v1/equipment/{unit.id}", {"json": {"address": "篡改路1号"}}),
                                 ("post", "/api/v1/incidents", {"json": {"equipment_id": unit.id}})):
        for headers in ({}, {"X-CSRF-Token": token}):
            resp = getattr(client, method)(path, headers=headers, **kwargs)
            assert resp.status_code == 401, (path, headers, resp.status_code)
    assert client.get("/api/v1/incidents").status_code == 200  # reads stay cookie-friendly (console, stream)
    bearer = f.token(client, admin)  # the token endpoint works with a session cookie present
    assert client.post(f"/api/v1/equipment/{unit.id}/tag", headers=bearer).status_code == 201


# --- rate limits and lockout -------------------------------------------------------------------------

@pytest.fixture()
def limits(app):
    from equipment.core.ratelimit import limiter
    saved = {k: app.config[k] for k in ("PUBLIC_RATE_LIMIT", "LOGIN_RATE_LIMIT", "PUBLIC_REPORT_RATE_LIMIT")}
    limiter._windows.clear()
    yield app.config
    app.config.update(saved)
    limiter._windows.clear()


def _public_requests(client, f, user):
    from equipment.registry.tags import active_tag
    tag = active_tag(f.elevator().id).tag
    csrf = _csrf(client)
    login = {"username": user.username, "password": "wrong-password", "csrf_token": csrf}
    return {
        "LOGIN_RATE_LIMIT": [("post", "/api/v1/auth/token", {"json": {"username": "x", "password": "y"}}),
                             ("post", "/login", {"data": login})],
        "PUBLIC_RATE_LIMIT": [("get", f"/api/v1/public/{tag}", {}), ("get", f"/q/{tag}", {})],
        "PUBLIC_REPORT_RATE_LIMIT": [("post", f"/q/{tag}/report", {"data": {"csrf_token": csrf, "kind": "fault"}})],
    }


def test_login_and_public_endpoints_are_rate_limited_per_client(client, f, limits):
    from equipment.core.ratelimit import limiter
    user = f.user("owner", f.org())
    for setting, requests in _public_requests(client, f, user).items():
        for method, path, kwargs in requests:
            limiter._windows.clear()
            limits[setting] = "3/60"
            codes = [getattr(client, method)(path, **kwargs).status_code for _ in range(5)]
            # the emergency report is never refused: over the limit it is taken and held for the desk (202)
            over = 202 if setting == "PUBLIC_REPORT_RATE_LIMIT" else 429
            assert over not in codes[:3] and 429 not in codes[:3] and codes[3:] == [over, over], (path, codes)
            if path in ("/login", "/api/v1/auth/token"):  # limited means not even the right password is tried
                right = {**kwargs.get("data", kwargs.get("json")), "username": user.username, "password": PASSWORD}
                key = "data" if "data" in kwargs else "json"
                assert getattr(client, method)(path, **{key: right}).status_code == 429
            other = getattr(client, method)(path, environ_base={"REMOTE_ADDR": "10.9.8.7"}, **kwargs)
            assert other.status_code not in (429, 202), path
            limits[setting] = "100000/60"


def test_backoff_counts_page_and_api_failures_and_expires(client, f, app, db):
    from equipment.auth.models import LoginThrottle
    user = f.user("owner", f.org())
    csrf = _csrf(client)
    after = app.config["LOGIN_LOCKOUT_AFTER"]
    for i in range(after):
        if i % 2:
            client.post("/login", data={"username": user.username, "password": "nope-nope", "csrf_token": csrf})
        else:
            client.post("/api/v1/auth/token", json={"username": user.username, "password": "nope-nope"})
    blocked = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert blocked.status_code == 401 and blocked.get_json()["error"]["code"] == "bad_credentials"
    page = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": csrf})
    assert page.status_code == 401 and "用户名或密码错误" in page.get_data(as_text=True)
    row = db.session.query(LoginThrottle).filter_by(username=user.username).one()
    row.blocked_until = row.last_failure_at
    db.session.commit()
    assert client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}).status_code == 200


def test_a_success_resets_the_failure_count(client, f, app):
    user = f.user("crew", f.org("maintenance_unit"))
    bad = {"username": user.username, "password": "nope-nope"}
    for _ in range(2):
        for _ in range(app.config["LOGIN_LOCKOUT_AFTER"] - 1):
            assert client.post("/api/v1/auth/token", json=bad).status_code == 401
        ok = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
        assert ok.status_code == 200


# --- page forms: hostile values are refused, never a 500 ---------------------------------------------

HUGE = str(2**70)
PAGE_FORMS = [
    ("dispatcher", "/console/incidents/{incident}/dispatch", {"crew_id": "abc"}),
    ("dispatcher", "/console/incidents/{incident}/dispatch", {"crew_id": HUGE}),
    ("dispatcher", "/console/incidents", {"equipment_id": HUGE}),
    ("dispatcher", "/console/incidents", {"rescue_code": "x" * 5000}),
    ("crew", "/crew/position", {"lat": "nan", "lon": "1e999"}),
    ("crew", "/crew/jobs/{incident}/accept", {"cause": "x" * 300, "notes": "n" * 10_000}),
    ("regulator", "GET /incidents/stats?group=maintenance_unit&from=0001-01-01&to=9999-12-31", None),
    ("regulator", "GET /api/v1/incidents/stats?from=0001-01-01&to=9999-12-31", None),
    ("owner", "/filling", {"tag": "x" * 10_000, "record": "1"}),
    ("crew", "/maintain/{unit}", {"tag": "{tag}", "lat": "nan", "lon": "inf", "item_set": "x" * 100}),
    ("inspector", "/inspect/{unit}", {"date": "2026-01-01", "conclusion": "fail", "follows_id": HUGE}),
    ("inspector", "/inspect/{unit}", {"date": "2026-01-01", "conclusion": "pass", "safety_grade": HUGE}),
    ("inspector", "/inspect/{unit}", {"date": "2026-01-01", "conclusion": "pass", "report_no": "R" * 300}),
]


def _page_world(f):
    from tests.security import world as W
    side, users = W._side(f, lat=26.08, lon=119.30)
    users["regulator"] = f.user("regulator")
    return {**vars(side), "users": {role: SimpleNamespace(id=u.id) for role, u in users.items()}}


def _post_form(client, db, side, role, path, form):
    from tests.security.test_authz_matrix import rolled_back
    token = _login_session(client, side["users"][role])
    url = path.format(**side)
    with rolled_back(db):
        if form is None:
            return client.get(url.removeprefix("GET "), headers=JSON)
        data = {k: v.format(**side) for k, v in form.items()}
        return client.post(url, data={**data, "csrf_token": token}, headers=JSON)


def test_page_forms_refuse_hostile_values(client, f, db):
    side = _page_world(f)
    for role, path, form in PAGE_FORMS:
        resp = _post_form(client, db, side, role, path, form)
        assert resp.status_code < 500, (path, form and list(form), resp.status_code, resp.data[:300])


# --- status set by inspections ------------------------------------------------------------------------

@pytest.mark.parametrize("current, wanted", [("suspended", "in_service"), ("scrapped", "in_service"),
                                             ("in_service", "scrapped")])
def test_owner_cannot_override_a_regulated_status(client, f, current, wanted):
    from equipment.core.actor import SYSTEM, acting_as
    from equipment.registry import service
    from equipment.registry.tags import active_tag
    org = f.org()
    unit = f.elevator(user_org=org)
    with acting_as(SYSTEM):
        service.set_status(equipment_id=unit.id, status=current, reason="inspection: fail")
    owner = f.token(client, f.user("owner", org))
    assert client.patch(f"/api/v1/equipment/{unit.id}", headers=owner, json={"status": wanted}).status_code == 403
    assert client.get(f"/api/v1/public/{active_tag(unit.id).tag}").get_json()["status"] == current
    assert client.patch(f"/api/v1/equipment/{unit.id}", headers=owner, json={"address": "福州市新址路9号"}).status_code == 200
    regulator = f.token(client, f.user("regulator"))
    assert client.patch(f"/api/v1/equipment/{unit.id}", headers=regulator, json={"status": wanted}).status_code == 200


def test_rate_limits_see_clients_behind_the_load_balancer(app, limits):
    """With EQUIPMENT_PROXY_HOPS the limit is per client, not per balancer (no database needed here)."""
    from werkzeug.middleware.proxy_fix import ProxyFix
    from equipment import create_app
    from tests.conftest import test_config
    behind = create_app({**test_config(app.config["SQLALCHEMY_DATABASE_URI"], app.config["INSTANCE_DIR"]),
                         "PROXY_HOPS": 1, "PUBLIC_RATE_LIMIT": "2/60"})
    assert isinstance(behind.wsgi_app, ProxyFix)
    client, lb = behind.test_client(), {"REMOTE_ADDR": "10.0.0.1"}  # every request arrives from the balancer
    codes = {ip: [client.get("/q/nope", headers={"X-Forwarded-For": ip}, environ_base=lb).status_code
                  for _ in range(3)] for ip in ("203.0.113.7", "198.51.100.9")}
    assert codes == {"203.0.113.7": [404, 404, 429], "198.51.100.9": [404, 404, 429]}
