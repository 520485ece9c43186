"""Auth: hashed passwords, random tokens, lockout, sessions with CSRF, the users CLI, locally served docs."""
import re

import pytest

from equipment.auth.models import ApiToken, User
from equipment.config import load_config
from tests.factories import PASSWORD


def test_password_is_hashed_and_token_is_random_and_stored_hashed(client, f, db):
    user = f.user("regulator")
    row = db.session.get(User, user.id)
    assert PASSWORD not in row.password_hash and row.password_hash.startswith(("scrypt:", "pbkdf2:"))
    t1 = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}).get_json()
    t2 = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}).get_json()
    assert t1["access_token"] != t2["access_token"] and len(t1["access_token"]) >= 40
    stored = [t.token_hash for t in db.session.query(ApiToken).filter_by(user_id=user.id)]
    assert t1["access_token"] not in stored and len(stored) == 2
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {t1['access_token']}"}).get_json()
    assert me["username"] == user.username and me["role"] == "regulator"


def test_production_hashing_is_scrypt_at_full_cost_and_weaker_is_refused_outside_tests(monkeypatch, tmp_path):
    monkeypatch.setenv("EQUIPMENT_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("EQUIPMENT_PASSWORD_HASH_METHOD", raising=False)
    assert load_config()["PASSWORD_HASH_METHOD"] == "scrypt:32768:8:1"
    assert load_config({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:600000"})  # as strong: allowed
    for weak in ("scrypt:1024:8:1", "pbkdf2:sha256:1000", "plain", "scrypt:many"):
        monkeypatch.setenv("EQUIPMENT_PASSWORD_HASH_METHOD", weak)
        with pytest.raises(RuntimeError, match="weaker than"):
            load_config()
    monkeypatch.setenv("EQUIPMENT_PASSWORD_HASH_METHOD", "scrypt:1024:8:1")  # the tests' own cost
    assert load_config({"TESTING": True})["PASSWORD_HASH_METHOD"] == "scrypt:1024:8:1"


def test_bad_credentials_and_tokens(client, f):
    user = f.user("crew", org=f.org("maintenance_unit"))
    resp = client.post("/api/v1/auth/token", json={"username": user.username, "password": "wrong-password"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "bad_credentials"
    resp = client.post("/api/v1/auth/token", json={"username": "nobody-here", "password": "wrong-password"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "bad_credentials"
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged"}).status_code == 401
    resp = client.post("/api/v1/auth/token", json={"username": user.username})
    assert resp.status_code == 422 and "password" in resp.get_json()["error"]["details"]


def test_backoff_after_repeated_failures_answers_like_a_wrong_password(client, f, app):
    user = f.user("owner", org=f.org())
    for _ in range(app.config["LOGIN_LOCKOUT_AFTER"]):
        client.post("/api/v1/auth/token", json={"username": user.username, "password": "nope-nope"})
    resp = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "bad_credentials"


def _csrf(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


def test_session_login_requires_csrf_and_shows_user(client, f):
    user = f.user("regulator")
    form = {"username": user.username, "password": PASSWORD}
    assert client.post("/login", data=form).status_code == 403  # no CSRF token
    token = _csrf(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={**form, "csrf_token": token})
    assert resp.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert user.username in home
    bad = client.post("/login", data={"username": user.username, "password": "x" * 9,
                                      "csrf_token": _csrf(client.get("/login").get_data(as_text=True))})
    assert bad.status_code == 401


def test_login_next_is_not_an_open_redirect(client, f):
    user = f.user("regulator")
    token = _csrf(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token,
                                       "next": "//evil.example/steal"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_security_headers(client):
    resp = client.get("/login")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


def test_users_cli_reads_password_from_stdin(app, f, db):
    org = f.org("maintenance_unit")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "wang.wei", "--role", "crew", "--org", str(org.id),
                                 "--password-stdin"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert "a-long-password" not in result.output
    user = db.session.query(User).filter_by(username="wang.wei").one()
    assert user.role == "crew" and user.org_id == org.id
    again = runner.invoke(args=["users", "create", "wang.wei", "--role", "crew", "--org", str(org.id),
                                "--password-stdin"], input="a-long-password\n")
    assert again.exit_code != 0 and "Username taken" in again.output
    short = runner.invoke(args=["users", "create", "li.na", "--role", "admin", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "Password too short" in short.output


def test_openapi_and_docs_assets_are_local(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/public/{tag}" in spec["paths"] and "/api/v1/equipment" in spec["paths"]
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    # served by this platform (Swagger UI's bundle, and its start script without inline code), never a CDN
    assert assets and all(a.startswith(("/api/v1/docs-assets/", "/static/")) for a in assets)
    assert all(client.get(a).status_code == 200 for a in assets)


def test_public_endpoint_is_rate_limited(client, f, app):
    from equipment.core.ratelimit import limiter
    from equipment.registry.tags import active_tag
    unit = f.elevator()
    tag = active_tag(unit.id).tag
    app.config["PUBLIC_RATE_LIMIT"] = "3/60"
    limiter._windows.clear()
    try:
        codes = [client.get(f"/api/v1/public/{tag}").status_code for _ in range(5)]
    finally:
        app.config["PUBLIC_RATE_LIMIT"] = "100000/60"
        limiter._windows.clear()
    assert codes == [200, 200, 200, 429, 429]
