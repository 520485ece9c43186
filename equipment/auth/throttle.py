"""Login back-off per (username, client address), kept in the database so every web process shares it.

A client that keeps failing for one username waits longer and longer (doubling up to a cap); another
client is not affected, so nobody can lock the owner out. Unknown usernames are throttled the same way,
so the answers and the work never tell which usernames exist.
"""
from __future__ import annotations

import datetime as dt
import ipaddress

from flask import current_app, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from equipment.auth.models import LoginThrottle
from equipment.core.models import utcnow
from equipment.extensions import db


def client_key() -> str:
    """The client's address; IPv6 by its /64, which one subscriber gets whole and can rotate within."""
    raw = request.remote_addr or "-"
    try:
        addr = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if addr.version == 6:
        if addr.ipv4_mapped:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def _row(username: str, client: str) -> LoginThrottle | None:
    return db.session.scalar(select(LoginThrottle).where(LoginThrottle.username == username,
                                                         LoginThrottle.client == client))


def is_blocked(username: str, client: str) -> bool:
    row = _row(username, client)
    return row is not None and row.blocked_until is not None and row.blocked_until > utcnow()


def backoff_s(failures: int) -> float:
    """Free attempts first, then base * 2^n seconds, capped."""
    cfg = current_app.config
    over = failures - cfg["LOGIN_LOCKOUT_AFTER"]
    if over < 0:
        return 0.0
    return float(min(cfg["LOGIN_BACKOFF_BASE_S"] * 2 ** min(over, 30), cfg["LOGIN_LOCKOUT_S"]))


def record_failure(username: str, client: str) -> None:
    """Count one failure (in the caller's transaction)."""
    now = utcnow()
    row = _row(username, client)
    if row is None:
        row = LoginThrottle(username=username, client=client, failures=0)
        db.session.add(row)
    elif now - row.last_failure_at > dt.timedelta(seconds=current_app.config["LOGIN_THROTTLE_RESET_S"]):
        row.failures = 0  # a quiet day forgets old failures
    row.failures += 1
    row.last_failure_at = now
    wait = backoff_s(row.failures)
    row.blocked_until = now + dt.timedelta(seconds=wait) if wait else None
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent first failure of the same pair: count it on the winner's row
        db.session.rollback()
        record_failure(username, client)


def clear(username: str, client: str) -> None:
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.username == username,
                                                   LoginThrottle.client == client))


def unlock(username: str) -> int:
    """Admin unlock: forget the failures of every client for this username."""
    return db.session.execute(delete(LoginThrottle).where(LoginThrottle.username == username)).rowcount
