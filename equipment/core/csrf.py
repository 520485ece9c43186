"""CSRF protection for cookie-authenticated form posts (the API uses bearer tokens, so it is exempt)."""
from __future__ import annotations

import hmac
import secrets

from flask import request, session

from equipment.core.errors import Forbidden

SAFE = {"GET", "HEAD", "OPTIONS"}


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def protect() -> None:
    if request.method in SAFE or request.path.startswith("/api/"):
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("CSRF token missing or wrong; reload the page / 页面已过期，请刷新", code="csrf")
