"""Appending to and verifying the per-unit hash chain."""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from sqlalchemy import and_, func, select

from equipment.core.actor import SYSTEM, current_actor
from equipment.core.db import atomic
from equipment.core.errors import Invalid
from equipment.core.models import utcnow
from equipment.extensions import db
from equipment.registry import trace
from equipment.registry.models import Equipment, HistoryEvent

MAX_DATA_BYTES = 16 * 1024


def chain_key() -> bytes:
    """EQUIPMENT_CHAIN_KEY, else derived from the secret key under its own label; never in the database, so
    whoever can write the database cannot sign records (docs/trace.md)."""
    configured = current_app.config.get("CHAIN_KEY")
    if configured:
        return configured.encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"equipment history chain signing key v1", hashlib.sha256).digest()


def _lock_unit(equipment_id: int) -> Equipment:
    # Row lock on PostgreSQL serialises appends per unit; SQLite already serialises writers.
    stmt = select(Equipment).where(Equipment.id == equipment_id).with_for_update()
    return db.session.scalars(stmt).one()


def append(*, equipment_id: int, kind: str, data: dict | None = None, at=None) -> HistoryEvent:
    """Append one record; the caller's transaction commits it together with the change it records."""
    if kind not in trace.HISTORY_KINDS:
        raise ValueError(f"unknown history kind {kind}")
    data = trace.canonical_data(data or {})
    if len(trace.canonical(data)) > MAX_DATA_BYTES:
        # The chain is append-only: an oversized record could never be removed without breaking it.
        raise Invalid(f"History record data over {MAX_DATA_BYTES // 1024} KiB / 履历记录内容过大",
                      details={"data": [f"at most {MAX_DATA_BYTES} bytes as JSON"]})
    unit = _lock_unit(equipment_id)
    actor = current_actor() or SYSTEM
    at = at or utcnow()
    seq = unit.history_count + 1
    prev = unit.history_head or trace.GENESIS
    digest = trace.record_hash(equipment_id=equipment_id, seq=seq, kind=kind, at_iso=trace.at_iso(at),
                               actor_name=actor.username, actor_org_id=actor.org_id, data=data,
                               prev_hash=prev)
    event = HistoryEvent(equipment_id=equipment_id, seq=seq, kind=kind, at=at, actor_name=actor.username,
                         actor_org_id=actor.org_id, data=data, prev_hash=prev, hash=digest,
                         mac=trace.record_mac(chain_key(), digest))
    db.session.add(event)
    unit.history_count = seq
    unit.history_head = digest
    return event


def events_of(equipment_id: int) -> list[HistoryEvent]:
    stmt = select(HistoryEvent).where(HistoryEvent.equipment_id == equipment_id).order_by(HistoryEvent.seq)
    return list(db.session.scalars(stmt))


def verify(equipment_id: int, key: bytes | None = None) -> str | None:
    unit = db.session.get(Equipment, equipment_id)
    rows = events_of(equipment_id)
    return (trace.verify_chain(rows, anchor_count=unit.history_count, anchor_head=unit.history_head,
                               key=key or chain_key())
            or trace.state_problem(rows, unit))


ANCHOR_BATCH = 1000


def anchor_unsigned(*, progress=None) -> int:
    """Once, after upgrading a database whose chains predate signing: a signed 'anchor' record on every unit
    whose newest record is unsigned. Its hash links to that record, so the signature covers the chain as it
    stands now (verify it first: anchoring vouches for whatever is there). One transaction per batch of units:
    a run stopped halfway keeps what it signed and the next run signs the rest (a signed head is skipped)."""
    signed, last_id = 0, 0
    while True:
        ids = list(db.session.scalars(select(Equipment.id).where(Equipment.id > last_id)
                                      .order_by(Equipment.id).limit(ANCHOR_BATCH)))
        if not ids:
            return signed
        signed += _anchor_batch(ids)
        if progress:
            progress(len(ids))
        last_id = ids[-1]  # committed rows are clean: the identity map (weak) lets them go, no expunge needed


@atomic
def _anchor_batch(ids: list[int]) -> int:
    newest = (select(HistoryEvent.equipment_id, func.max(HistoryEvent.seq).label("seq"))
              .where(HistoryEvent.equipment_id.in_(ids)).group_by(HistoryEvent.equipment_id).subquery())
    heads = db.session.execute(
        select(HistoryEvent.equipment_id, HistoryEvent.hash, HistoryEvent.seq)
        .join(newest, and_(HistoryEvent.equipment_id == newest.c.equipment_id, HistoryEvent.seq == newest.c.seq))
        .where(HistoryEvent.mac.is_(None)).order_by(HistoryEvent.equipment_id)).all()
    for head in heads:
        append(equipment_id=head.equipment_id, kind="anchor", data={"head": head.hash, "count": head.seq})
    return len(heads)


def verify_all(progress=None):
    """Yield (equipment_id, problem) for every broken chain; streams units in id order."""
    key = chain_key()
    last_id = 0
    while True:
        ids = list(db.session.scalars(select(Equipment.id).where(Equipment.id > last_id)
                                      .order_by(Equipment.id).limit(1000)))
        if not ids:
            return
        for eid in ids:
            problem = verify(eid, key)
            if progress:
                progress(1)
            if problem:
                yield eid, problem
        last_id = ids[-1]
        db.session.expunge_all()
