"""Fixed-window counters kept in the database, so every web process shares one limit.

The in-process limiter (core/ratelimit.py) lets N processes allow N times the rate; the scan-page reports
(an abuse target: anonymous reports once reached 119) need one count across processes and hosts, and the
database is the store every process already shares. One row per (bucket, key, window), bumped by a
set-based upsert in the caller's transaction; rows past their window are purged as new windows start.
Clients are keyed by address, an IPv6 client by its /64 (one subscriber line hands out a whole /64).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress

from flask import current_app
from sqlalchemy import BigInteger, Integer, String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from equipment.core.db import flask_db
from equipment.core.models import Base, UTCDateTime, utcnow


class RateHit(Base):
    __tablename__ = "rate_hits"
    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


def client_key(addr: str | None) -> str:
    """The address a limit counts against: IPv4 as is, IPv6 by its /64 prefix."""
    try:
        ip = ipaddress.ip_address((addr or "").strip())
    except ValueError:
        return "-"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is an IPv4 client
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_hash(addr: str | None) -> str:
    """Keyed hash of the client key: stored on reports to link floods without keeping addresses."""
    secret = str(current_app.config.get("SECRET_KEY") or "").encode()
    return hmac.new(secret, client_key(addr).encode(), hashlib.sha256).hexdigest()


def _insert(dialect: str):
    return (postgresql if dialect == "postgresql" else sqlite).insert(RateHit)


def hit(bucket: str, key: str, *, limit: int, window_s: float, now: dt.datetime | None = None) -> tuple[bool, int]:
    """Count one hit; returns (within the limit, count in this window). Runs in the caller's transaction."""
    now = now or utcnow()
    window = max(1, int(window_s))
    start = int(now.timestamp()) // window * window
    expires = dt.datetime.fromtimestamp(start + window, dt.timezone.utc)
    session = flask_db().session
    stmt = _insert(session.get_bind().dialect.name).values(
        bucket=bucket, key=key[:64], window_start=start, count=1, expires_at=expires)
    stmt = stmt.on_conflict_do_update(index_elements=["bucket", "key", "window_start"],
                                      set_={"count": RateHit.count + 1}).returning(RateHit.count)
    count = session.execute(stmt).scalar_one()
    if count == 1:  # first hit of a window: drop expired windows (indexed, a handful of rows)
        session.execute(delete(RateHit).where(RateHit.expires_at < now))
    return count <= limit, count

