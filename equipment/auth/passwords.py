"""Password rules and hashing: length, not a common password, not the username."""
from __future__ import annotations

import functools
from importlib import resources

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from equipment.core.errors import Invalid

MIN_LENGTH = 8
MAX_LENGTH = 200


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_method())


def _method() -> str:
    return current_app.config["PASSWORD_HASH_METHOD"]


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("equipment.auth").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@functools.cache
def _dummy_hash(method: str) -> str:
    # Made on first use, not at import: hashing costs tens of milliseconds that every CLI start would pay.
    return generate_password_hash("not-a-user-password", method=method)


def verify(password_hash: str | None, password: str) -> bool:
    """One hash verification whether or not there is a user, so both take the same time (the dummy is made
    with the configured method, like every stored hash)."""
    return (check_password_hash(password_hash or _dummy_hash(_method()), password or "")
            and password_hash is not None)


def validate(password, *, username: str | None = None) -> None:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise Invalid("Password too short / 密码太短",
                      details={"password": [f"at least {MIN_LENGTH} characters / 至少 {MIN_LENGTH} 位"]})
    if len(password) > MAX_LENGTH:
        raise Invalid("Password too long / 密码太长",
                      details={"password": [f"at most {MAX_LENGTH} characters / 最多 {MAX_LENGTH} 位"]})
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        raise Invalid("Password too common / 密码过于常见",
                      details={"password": ["a commonly used password: choose another / 常见密码，请另选"]})
    if username and username.lower() in lowered:
        raise Invalid("Password contains the username / 密码不能包含用户名",
                      details={"password": ["must not contain the username / 不能包含用户名"]})
