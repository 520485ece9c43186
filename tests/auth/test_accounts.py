"""Accounts: login back-off per (username, client), identical answers, revocation at once, password rules."""
from __future__ import annotations

import re

import pytest

from equipment.auth import passwords, throttle
from equipment.auth.models import ApiToken, LoginThrottle, User
from equipment.core.audit import AuditLog
from tests.factories import PASSWORD

A, B = {"REMOTE_ADDR": "198.51.100.7"}, {"REMOTE_ADDR": "203.0.113.9"}
NEW = "a-fresh-passphrase-2026"


def _token(client, username, password=PASSWORD, env=None):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base=env or A)


def _bearer(resp) -> dict:
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}


def _csrf(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _page_login(app, username, password=PASSWORD):
    """A browser logged in through the login form; returns it and a copy of its session cookie."""
    browser = app.test_client()
    resp = browser.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(browser)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return browser, browser.get_cookie("session").value


def _with_cookie(app, value):
    thief = app.test_client()
    thief.set_cookie("session", value)
    return thief


def _me(client, headers=None) -> int:
    return client.get("/api/v1/auth/me", headers=headers or {}).status_code


# --- back-off and identical answers -------------------------------------------------------------

def test_fifty_failures_from_one_client_do_not_stop_the_owner_from_another(client, f):
    user = f.user("dispatcher", f.org("emergency_centre"))
    for _ in range(50):
        assert _token(client, user.username, "wrong-password-1", env=A).status_code == 401
    # the guessing client is slowed down, even with the right password ...
    assert _token(client, user.username, PASSWORD, env=A).status_code == 401
    # ... but the owner, from elsewhere, logs in at once
    assert _me(client, _bearer(_token(client, user.username, PASSWORD, env=B))) == 200


def test_unknown_wrong_throttled_and_deactivated_answer_identically_with_equal_work(client, f, db, app,
                                                                                     monkeypatch):
    wrong, blocked, gone = (f.user("crew", f.org("maintenance_unit")) for _ in range(3))
    for _ in range(app.config["LOGIN_LOCKOUT_AFTER"]):
        _token(client, blocked.username, "wrong-password-1")
    gone_row = db.session.get(User, gone.id)
    gone_row.active = False
    db.session.commit()
    checks = []
    real = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash", lambda h, p: checks.append(h) or real(h, p))
    answers = {
        "unknown": _token(client, "no-such-user-here", PASSWORD),
        "wrong": _token(client, wrong.username, "wrong-password-1"),
        "throttled": _token(client, blocked.username, PASSWORD),
        "deactivated": _token(client, gone.username, PASSWORD),
    }
    bodies = {k: (r.status_code, r.get_data()) for k, r in answers.items()}
    assert len(set(bodies.values())) == 1, bodies
    assert bodies["unknown"][0] == 401 and answers["unknown"].get_json()["error"]["code"] == "bad_credentials"
    assert len(checks) == 4  # one hash verification each, a dummy hash for the unknown user
    counted = {r.username for r in db.session.query(LoginThrottle)}
    assert {"no-such-user-here", wrong.username, blocked.username, gone.username} <= counted


def test_backoff_doubles_to_a_cap_and_expires(client, f, db, app):
    after, base, cap = (app.config[k] for k in ("LOGIN_LOCKOUT_AFTER", "LOGIN_BACKOFF_BASE_S", "LOGIN_LOCKOUT_S"))
    with app.test_request_context():
        waits = [throttle.backoff_s(n) for n in range(1, after + 12)]
    assert waits[:after - 1] == [0.0] * (after - 1)
    assert waits[after - 1:after + 2] == [base, 2 * base, 4 * base] and max(waits) == cap == waits[-1]
    user = f.user("owner", f.org())
    for _ in range(after):
        _token(client, user.username, "wrong-password-1")
    assert _token(client, user.username).status_code == 401
    row = db.session.query(LoginThrottle).filter_by(username=user.username).one()
    assert row.client == A["REMOTE_ADDR"] and row.failures == after + 1  # the blocked try counts too
    row.blocked_until = row.last_failure_at  # the wait is over
    db.session.commit()
    assert _token(client, user.username).status_code == 200
    assert db.session.query(LoginThrottle).filter_by(username=user.username).count() == 0  # success forgets


def test_ipv6_clients_are_counted_by_their_64_prefix(app):
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2:aaaa::1"}):
        assert throttle.client_key() == "2001:db8:1:2::/64"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "::ffff:192.0.2.1"}):
        assert throttle.client_key() == "192.0.2.1"


def test_admin_unlocks_by_api_and_cli(client, f, db, app):
    admin = f.user("admin")
    user = f.user("owner", f.org())
    for _ in range(app.config["LOGIN_LOCKOUT_AFTER"]):
        _token(client, user.username, "wrong-password-1")
    assert _token(client, user.username).status_code == 401
    owner_token = _bearer(_token(client, user.username, env=B))
    assert client.post(f"/api/v1/users/{user.id}/unlock", headers=owner_token).status_code == 403
    resp = client.post(f"/api/v1/users/{user.id}/unlock", headers=_bearer(_token(client, admin.username, env=B)))
    assert resp.status_code == 200 and resp.get_json() == {"username": user.username, "clients_cleared": 1}
    assert _token(client, user.username).status_code == 200
    assert db.session.query(AuditLog).filter_by(action="unlock", entity_id=str(user.id)).count() == 1

    for _ in range(app.config["LOGIN_LOCKOUT_AFTER"]):
        _token(client, user.username, "wrong-password-1")
    result = app.test_cli_runner().invoke(args=["users", "unlock", user.username])
    assert result.exit_code == 0, result.output
    assert _token(client, user.username).status_code == 200
    missing = app.test_cli_runner().invoke(args=["users", "unlock", "nobody-at-all"])
    assert missing.exit_code == 1 and "No such user" in missing.output


# --- revocation ------------------------------------------------------------------------------------

def test_logout_cuts_off_the_bearer_token_and_the_copied_cookie_at_once(client, f, db, app):
    user = f.user("dispatcher", f.org("emergency_centre"))
    first, second = _bearer(_token(client, user.username)), _bearer(_token(client, user.username))
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
    assert _me(client, first) == 401 and _me(client, second) == 200  # only the token logged out
    assert client.post("/api/v1/auth/logout").status_code == 401

    browser, cookie = _page_login(app, user.username)
    assert _me(_with_cookie(app, cookie)) == 200
    browser.post("/logout", data={"csrf_token": _csrf(browser)})
    assert _me(browser) == 401 and _me(_with_cookie(app, cookie)) == 401
    revoked = db.session.query(ApiToken).filter_by(user_id=user.id, revoked=True).count()
    logged = db.session.query(AuditLog).filter_by(entity="api_tokens", action="update", actor_user_id=user.id)
    assert revoked == 2 and logged.count() == 2


def test_password_change_cuts_off_every_token_and_cookie(client, f, app):
    user = f.user("crew", f.org("maintenance_unit"))
    token = _bearer(_token(client, user.username))
    _, cookie = _page_login(app, user.username)
    resp = client.post("/api/v1/auth/password", headers=token,
                       json={"current_password": "wrong-password-1", "new_password": NEW})
    assert resp.status_code == 401 and _me(client, token) == 200  # a wrong current password changes nothing
    resp = client.post("/api/v1/auth/password", headers=token,
                       json={"current_password": PASSWORD, "new_password": "12345678"})
    assert resp.status_code == 422 and "password" in resp.get_json()["error"]["details"]
    resp = client.post("/api/v1/auth/password", headers=token,
                       json={"current_password": PASSWORD, "new_password": NEW})
    assert resp.status_code == 204
    assert _me(client, token) == 401 and _me(_with_cookie(app, cookie)) == 401
    assert _token(client, user.username).status_code == 401
    assert _me(client, _bearer(_token(client, user.username, NEW))) == 200


def test_admin_password_deactivate_and_revoke_cut_off_at_once(client, f, app):
    admin = _bearer(_token(client, f.user("admin").username, env=B))
    user = f.user("owner", f.org())
    for action, body in (("password", {"password": NEW}), ("revoke", None), ("deactivate", None)):
        password = NEW if action != "password" else PASSWORD
        token = _bearer(_token(client, user.username, password))
        _, cookie = _page_login(app, user.username, password)
        resp = client.post(f"/api/v1/users/{user.id}/{action}", headers=admin, json=body)
        assert resp.status_code == 200, (action, resp.get_json())
        assert _me(client, token) == 401 and _me(_with_cookie(app, cookie)) == 401, action
    assert _token(client, user.username, NEW).status_code == 401  # deactivated: refused like a wrong password
    assert client.post(f"/api/v1/users/{user.id}/activate", headers=admin).get_json()["active"] is True
    assert _me(client, _bearer(_token(client, user.username, NEW))) == 200
    me = client.get("/api/v1/auth/me", headers=admin).get_json()
    resp = client.post(f"/api/v1/users/{me['user_id']}/deactivate", headers=admin)
    assert resp.status_code == 409  # not oneself
    listed = client.get(f"/api/v1/users?q={user.username}", headers=admin).get_json()
    assert [u["username"] for u in listed["items"]] == [user.username] and listed["items"][0]["active"]


def test_users_cli_passwd_revoke_deactivate(client, f, app):
    user = f.user("inspector", f.org("inspection_agency"))
    runner = app.test_cli_runner()
    token = _bearer(_token(client, user.username))
    result = runner.invoke(args=["users", "passwd", user.username, "--password-stdin"], input=NEW + "\n")
    assert result.exit_code == 0 and NEW not in result.output and _me(client, token) == 401
    weak = runner.invoke(args=["users", "passwd", user.username, "--password-stdin"], input="password123\n")
    assert weak.exit_code == 1 and "too common" in weak.output
    token = _bearer(_token(client, user.username, NEW))
    assert runner.invoke(args=["users", "revoke", user.username]).exit_code == 0 and _me(client, token) == 401
    token = _bearer(_token(client, user.username, NEW))
    assert runner.invoke(args=["users", "deactivate", user.username]).exit_code == 0
    assert _me(client, token) == 401 and _token(client, user.username, NEW).status_code == 401


def test_desk_roles_get_shorter_tokens(client, f, app):
    desk = _token(client, f.user("dispatcher", f.org("emergency_centre")).username).get_json()
    field = _token(client, f.user("crew", f.org("maintenance_unit")).username).get_json()
    assert desk["expires_in"] == app.config["TOKEN_TTL_DESK_S"] < field["expires_in"] == app.config["TOKEN_TTL_S"]


# --- password rules --------------------------------------------------------------------------------

@pytest.mark.parametrize("password, problem", [
    ("12345678", "too common"), ("Password1", "too common"), ("qwertyuiop", "too common"),
    ("woaini1314", "too common"), ("aaaaaaaaaaaa", "too common"), ("short", "too short"),
    ("Zhang.San-2026!", "contains the username"), ("my-ZHANG.SAN-key", "contains the username"),
])
def test_weak_passwords_are_refused(client, f, password, problem):
    admin = _bearer(_token(client, f.user("admin").username))
    resp = client.post("/api/v1/users?lang=en", headers=admin,
                       json={"username": "zhang.san", "password": password, "role": "regulator"})
    assert resp.status_code == 422 and "password" in resp.get_json()["error"]["details"]
    if problem != "too short":  # that one the schema catches first
        assert problem in resp.get_json()["error"]["message"].lower()


def test_the_demo_and_test_passwords_pass_the_rules():
    from equipment.demo import DEMO_PASSWORD
    for password, username in ((DEMO_PASSWORD, "admin"), (PASSWORD, "crew1"), (NEW, "owner")):
        passwords.validate(password, username=username)
    assert len(passwords.common_passwords()) > 4000


def test_prune_forgets_expired_credentials_and_old_failures(client, f, db, app):
    import datetime as dt
    from equipment.auth import jobs
    user = f.user("owner", f.org())
    live = _bearer(_token(client, user.username))
    _token(client, "someone-else", "wrong-password-1")
    old = db.session.query(ApiToken).filter_by(user_id=user.id).one()
    _bearer(_token(client, user.username))  # a second one, then made long expired with the failure row
    stale = db.session.query(ApiToken).filter(ApiToken.user_id == user.id, ApiToken.id != old.id).one()
    stale.expires_at -= dt.timedelta(days=3)
    row = db.session.query(LoginThrottle).filter_by(username="someone-else").one()
    row.last_failure_at -= dt.timedelta(seconds=app.config["LOGIN_THROTTLE_RESET_S"] + 1)
    db.session.commit()
    with app.test_request_context():
        assert jobs.prune() == {"tokens": 1, "throttle": 1}
    assert _me(client, live) == 200
