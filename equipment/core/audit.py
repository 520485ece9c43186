"""Audit trail of every write to audited models, recorded in the same transaction as the write.

Hooked on the session's before_flush, so no service can forget it; models opt in with
`__audited__ = True` (telemetry history is machine data and stays out).
"""
from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import BigInteger, Integer, String, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from equipment.core.actor import current_actor
from equipment.core.db import flask_db
from equipment.core.models import Base, JSONType, UTCDateTime, utcnow

SECRET_FIELDS = {"password_hash", "token_hash", "mqtt_password_hash", "secret"}


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(80))
    actor_org_id: Mapped[int | None] = mapped_column(Integer)
    actor_ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(64), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(64), index=True)
    changes: Mapped[dict] = mapped_column(JSONType, default=dict)


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (str, int, float, bool, type(None), list, dict)):
        return value
    return str(value)


def _changes(obj, action: str) -> dict:
    state = inspect(obj)
    out = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SECRET_FIELDS:
            continue
        hist = state.attrs[key].history
        if action == "update":
            if hist.has_changes():
                old = hist.deleted[0] if hist.deleted else None
                new = hist.added[0] if hist.added else None
                out[key] = [_jsonable(old), _jsonable(new)]
        elif action == "insert":
            out[key] = _jsonable(getattr(obj, key))
    return out


def _before_flush(session: Session, _ctx, _instances):
    # Attribute history is only available before the flush; ids of new rows only after it.
    pending = session.info.setdefault("audit_pending", [])
    for action, objs in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in list(objs):
            if not getattr(obj, "__audited__", False):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            ident = inspect(obj).identity
            pending.append((obj, action, _changes(obj, action), ident[0] if ident else None))


def _after_flush(session: Session, _ctx):
    pending = session.info.pop("audit_pending", None)
    if not pending:
        return
    actor = current_actor()
    for obj, action, changes, ident in pending:
        if ident is None:
            state_ident = inspect(obj).identity
            ident = state_ident[0] if state_ident else None
        session.add(_entry(actor, action=action, entity=obj.__tablename__,
                           entity_id=None if ident is None else str(ident), changes=changes))


def _entry(actor, **fields) -> AuditLog:
    return AuditLog(actor_user_id=actor.user_id if actor else None,
                    actor_name=actor.username if actor else "unknown",
                    actor_org_id=actor.org_id if actor else None, actor_ip=actor.ip if actor else None, **fields)


def record(*, action: str, entity: str, entity_id: str | None, changes: dict) -> None:
    """An audit entry for a write that changes no audited row (e.g. clearing login back-off)."""
    entry = _entry(current_actor(), action=action, entity=entity, entity_id=entity_id, changes=changes)
    flask_db().session.add(entry)


def init_session_hooks() -> None:
    from flask_sqlalchemy.session import Session as session_cls
    if event.contains(session_cls, "before_flush", _before_flush):
        return  # several apps in one process (tests) share the class
    event.listen(session_cls, "before_flush", _before_flush)
    event.listen(session_cls, "after_flush_postexec", _after_flush)
    # A rolled-back flush must not leak its pending records into the next transaction.
    event.listen(session_cls, "after_soft_rollback", lambda s, _t: s.info.pop("audit_pending", None))
