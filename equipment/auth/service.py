"""Users, passwords, bearer tokens and the request's actor."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app, g, request, session
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from equipment.auth.models import ApiToken, User
from equipment.core.actor import ROLES, Actor, set_actor
from equipment.core.db import atomic
from equipment.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from equipment.core.models import utcnow
from equipment.extensions import db

# Checked against when the user does not exist, so a login takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-user-password")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < 8:
        raise Invalid("Password too short", details={"password": ["at least 8 characters / 至少 8 位"]})


@atomic
def create_user(*, username: str, role: str, password: str, org_id: int | None = None,
                display_name: str | None = None, phone: str | None = None) -> User:
    if role not in ROLES:
        raise Invalid("Unknown role", details={"role": [f"one of {', '.join(ROLES)}"]})
    if role not in ("admin", "regulator") and org_id is None:
        raise Invalid("Organisation required", details={"org_id": ["required for this role"]})
    validate_password(password)
    if org_id is not None and not _org_exists(org_id):
        raise Invalid("Unknown organisation", details={"org_id": ["no such organisation"]})
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("Username taken", details={"username": ["already exists"]})
    user = User(username=username, role=role, org_id=org_id, display_name=display_name, phone=phone,
                password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.flush()
    return user


def _org_exists(org_id: int) -> bool:
    from equipment.registry import service as registry
    return registry.organization_exists(org_id)


def _check_credentials(user: User | None, password: str) -> bool:
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return False
    return check_password_hash(user.password_hash, password or "")


def authenticate(*, username: str, password: str) -> User:
    """Verify a password with lockout after repeated failures; commits the failure counter."""
    user = db.session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is not None and user.locked_until and user.locked_until > now:
        raise Unauthorized("Account temporarily locked / 账号已临时锁定", code="locked")
    if not _check_credentials(user, password) or (user is not None and not user.active):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= current_app.config["LOGIN_LOCKOUT_AFTER"]:
                user.locked_until = now + dt.timedelta(seconds=current_app.config["LOGIN_LOCKOUT_S"])
                user.failed_logins = 0
            db.session.commit()
        raise Unauthorized("Invalid username or password / 用户名或密码错误", code="bad_credentials")
    if user.failed_logins:
        user.failed_logins = 0
        db.session.commit()
    return user


@atomic
def issue_token(*, username: str, password: str) -> dict:
    user = authenticate(username=username, password=password)
    token = secrets.token_urlsafe(32)
    ttl = current_app.config["TOKEN_TTL_S"]
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token),
                            expires_at=utcnow() + dt.timedelta(seconds=ttl)))
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


def _actor_for(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role, org_id=user.org_id,
                 ip=request.remote_addr)


def _user_from_bearer(token: str) -> User:
    row = db.session.execute(
        select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.ApiToken.revoked or row.ApiToken.expires_at < utcnow() or not row.User.active:
        raise Unauthorized("Invalid or expired token", code="bad_token")
    return row.User


def load_request_actor() -> None:
    """before_request: who is calling (bearer token first, then the page session)."""
    g.actor = None
    header = request.headers.get("Authorization", "")
    if request.path == "/metrics":
        header = ""  # a scraper's bearer is the metrics token (web/views.py), not a user's token
    if header.startswith("Bearer "):
        g.actor = _actor_for(_user_from_bearer(header[7:].strip()))
    elif session.get("uid") and not _api_write():
        user = db.session.get(User, session["uid"])
        if user is not None and user.active:
            g.actor = _actor_for(user)
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


def login_session(*, username: str, password: str) -> User:
    user = authenticate(username=username, password=password)
    session.clear()
    session["uid"] = user.id
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user")
    return user


def users_of_org(org_id: int, role: str | None = None) -> list[User]:
    stmt = select(User).where(User.org_id == org_id, User.active.is_(True))
    if role:
        stmt = stmt.where(User.role == role)
    return list(db.session.scalars(stmt))


from equipment.auth.directory import active_members, find_user  # noqa: E402,F401  (for other domains)
