"""Users, passwords, bearer tokens, page sessions and the request's actor.

Every credential (bearer token or page session) is a row in api_tokens carrying the user's credentials
version at issue: logout revokes one row; a password change, deactivation or "revoke all" bumps the
user's version, which cuts off every older credential at its next request.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app, g, has_request_context, request, session
from sqlalchemy import select

from equipment.auth import passwords, throttle
from equipment.auth.models import ApiToken, User
from equipment.core import audit
from equipment.core.actor import ROLES, Actor, acting_as, set_actor
from equipment.core.db import atomic, get_or_404, paginate
from equipment.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from equipment.core.models import utcnow
from equipment.extensions import db
from equipment.registry import service as registry

DESK_ROLES = frozenset({"admin", "dispatcher"})  # the shorter-lived tokens; and who sees callers' phones
BAD_CREDENTIALS = "Invalid username or password / 用户名或密码错误"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_password(password: str, username: str | None = None) -> None:
    passwords.validate(password, username=username)


@atomic
def create_user(*, username: str, role: str, password: str, org_id: int | None = None,
                display_name: str | None = None, phone: str | None = None) -> User:
    if role not in ROLES:
        raise Invalid("Unknown role", details={"role": [f"one of {', '.join(ROLES)}"]})
    if role not in ("admin", "regulator") and org_id is None:
        raise Invalid("Organisation required", details={"org_id": ["required for this role"]})
    validate_password(password, username)
    if org_id is not None and not _org_exists(org_id):
        raise Invalid("Unknown organisation", details={"org_id": ["no such organisation"]})
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("Username taken", details={"username": ["already exists"]})
    user = User(username=username, role=role, org_id=org_id, display_name=display_name, phone=phone,
                password_hash=passwords.hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def _org_exists(org_id: int) -> bool:
    return registry.organization_exists(org_id)


# --- logging in ----------------------------------------------------------------------------------

def authenticate(*, username: str, password: str) -> User:
    """Unknown user, wrong password, throttled client, deactivated account: one answer and the same work
    (one throttle lookup, one hash verification, one throttle write). Commits the failure count."""
    client = throttle.client_key()
    user = db.session.scalar(select(User).where(User.username == username))
    blocked = throttle.is_blocked(username, client)
    matches = passwords.verify(user.password_hash if user else None, password)
    if blocked or not matches or not user.active:
        throttle.record_failure(username, client)
        db.session.commit()
        raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
    throttle.clear(username, client)
    return user


def _ttl(user: User, kind: str) -> int:
    if kind == "session":
        return current_app.config["SESSION_TTL_S"]
    return current_app.config["TOKEN_TTL_DESK_S" if user.role in DESK_ROLES else "TOKEN_TTL_S"]


def _new_credential(user: User, kind: str) -> tuple[str, int]:
    token, ttl = secrets.token_urlsafe(32), _ttl(user, kind)
    with acting_as(_actor_for(user)):  # the audit names who logged in
        db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), kind=kind,
                                credentials_version=user.credentials_version,
                                expires_at=utcnow() + dt.timedelta(seconds=ttl)))
        db.session.flush()
    return token, ttl


@atomic
def issue_token(*, username: str, password: str) -> dict:
    user = authenticate(username=username, password=password)
    token, ttl = _new_credential(user, "api")
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


@atomic
def login_session(*, username: str, password: str) -> User:
    user = authenticate(username=username, password=password)
    token, _ = _new_credential(user, "session")
    session.clear()  # a fresh session (and CSRF token) on login: no fixation
    session["uid"], session["sid"] = user.id, token
    return user


@atomic
def logout(*, actor: Actor) -> None:
    """Revoke the credential this request came with (its bearer token, or its page session)."""
    row = g.get("credential")
    if row is not None:
        row.revoked = True
    session.clear()


# --- who is calling ------------------------------------------------------------------------------

def _actor_for(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role, org_id=user.org_id,
                 ip=request.remote_addr if has_request_context() else None)


def _credential(token: str, kind: str) -> tuple[User, ApiToken] | None:
    row = db.session.execute(
        select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.kind == kind)).first()
    if row is None:
        return None
    user, cred = row
    if cred.revoked or cred.expires_at < utcnow() or not user.active \
            or cred.credentials_version != user.credentials_version:
        return None
    return user, cred


def load_request_actor() -> None:
    """before_request: who is calling (bearer token first, then the page session)."""
    g.actor = g.credential = None
    header = request.headers.get("Authorization", "")
    if request.path == "/metrics":
        header = ""  # a scraper's bearer is the metrics token (web/views.py), not a user's token
    if header.startswith("Bearer "):
        found = _credential(header[7:].strip(), "api")
        if found is None:
            raise Unauthorized("Invalid or expired token", code="bad_token")
        g.actor, g.credential = _actor_for(found[0]), found[1]
    elif session.get("sid") and not _api_write():
        found = _credential(str(session["sid"]), "session")
        if found is not None and found[0].id == session.get("uid"):
            g.actor, g.credential = _actor_for(found[0]), found[1]
    set_actor(g.actor)


def _api_write() -> bool:
    """API writes authenticate by bearer token only: the API is exempt from CSRF, so the browser's
    session cookie (which another site's form would carry along) must not count there."""
    return request.path.startswith("/api/") and request.method not in ("GET", "HEAD", "OPTIONS")


def require_actor(*roles: str) -> Actor:
    actor = g.get("actor")
    if actor is None:
        raise Unauthorized("Login required / 请先登录")
    if roles and actor.role not in roles and actor.role != "admin":
        raise Forbidden("Your role may not do this / 无权限")
    return actor


# --- account management --------------------------------------------------------------------------

def get_user(user_id: int) -> User:
    return get_or_404(User, user_id, "No such user")


def user_by_name(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("No such user / 无此用户")
    return user


def _cut_off(user: User) -> None:
    user.credentials_version += 1


@atomic
def change_own_password(*, actor: Actor, current_password: str, new_password: str) -> None:
    """The current password is checked like a login (same back-off), so this cannot be used to guess."""
    user = authenticate(username=actor.username, password=current_password)
    _set_password(user, new_password)


@atomic
def set_password(*, actor: Actor, user_id: int, password: str) -> User:
    user = get_user(user_id)
    _set_password(user, password)
    return user


def _set_password(user: User, password: str) -> None:
    validate_password(password, user.username)
    if passwords.verify(user.password_hash, password):
        raise Invalid("Same password / 新密码与原密码相同", details={"password": ["choose a new one / 请换一个"]})
    user.password_hash = passwords.hash_password(password)
    _cut_off(user)


@atomic
def set_active(*, actor: Actor, user_id: int, active: bool) -> User:
    user = get_user(user_id)
    if not active and user.id == actor.user_id:
        raise Conflict("You cannot deactivate yourself / 不能停用自己的账号")
    if user.active != active:
        user.active = active
        _cut_off(user)
    return user


@atomic
def revoke_all(*, actor: Actor, user_id: int) -> User:
    user = get_user(user_id)
    _cut_off(user)
    return user


@atomic
def unlock(*, actor: Actor, user_id: int) -> dict:
    user = get_user(user_id)
    cleared = throttle.unlock(user.username)
    audit.record(action="unlock", entity="users", entity_id=str(user.id), changes={"clients": cleared})
    return {"username": user.username, "clients_cleared": cleared}


def list_users(*, actor: Actor, q: str | None = None, page: int = 1, per_page: int = 50) -> dict:
    stmt = select(User).order_by(User.id)
    if q:
        stmt = stmt.where(User.username.contains(q, autoescape=True))
    return paginate(stmt, page=page, per_page=per_page)


def users_of_org(org_id: int, role: str | None = None) -> list[User]:
    stmt = select(User).where(User.org_id == org_id, User.active.is_(True))
    if role:
        stmt = stmt.where(User.role == role)
    return list(db.session.scalars(stmt))


from equipment.auth.directory import active_members, find_user  # noqa: E402,F401  (for other domains)
