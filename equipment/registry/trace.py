"""The per-unit hash chain: pure functions, so `trace verify` and the writer agree byte for byte."""
from __future__ import annotations

import hashlib
import hmac
import json

GENESIS = "0" * 64
HISTORY_KINDS = ("manufactured", "installed", "registered", "inspected", "maintained", "repaired",
                 "modified", "relocated", "filled", "fault", "rescue", "scrapped", "suspended",
                 "reinstated", "tag_issued", "tag_revoked", "updated", "anchor")
# Records whose data.status is the platform's own status decision (none of these can be posted by a user).
STATUS_KINDS = ("registered", "updated", "suspended", "scrapped", "reinstated")
# The daily refresh moves units between these two by due date alone, set-based and without a record.
DUE_DRIVEN = ("in_service", "overdue")


def canonical(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def record_hash(*, equipment_id: int, seq: int, kind: str, at_iso: str, actor_name: str,
                actor_org_id: int | None, data: dict, prev_hash: str) -> str:
    body = {"equipment_id": equipment_id, "seq": seq, "kind": kind, "at": at_iso,
            "actor": actor_name, "actor_org_id": actor_org_id, "data": data, "prev": prev_hash}
    return hashlib.sha256(canonical(body)).hexdigest()


def canonical_data(data: dict) -> dict:
    """What JSON storage will give back (dates become strings), so the hash survives a round trip."""
    return json.loads(canonical(data))


def at_iso(value) -> str:
    # Microseconds and an explicit UTC offset: identical on PostgreSQL and SQLite round trips.
    return value.astimezone(__import__("datetime").timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def record_mac(key: bytes, digest: str) -> str:
    """The record's signature: only a holder of the chain key (never stored in the database) can make it."""
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def _mac_problem(row, key: bytes, anchored: bool) -> str | None:
    if row.mac is None:
        # Records written before signing existed are accepted only up to a signed 'anchor' record.
        return f"record id {row.id} (seq {row.seq}) is not signed" if anchored else None
    if not hmac.compare_digest(row.mac, record_mac(key, row.hash)):
        return f"record id {row.id} (seq {row.seq}) has a signature this platform's key did not make"
    if not anchored and row.seq > 1 and row.kind != "anchor":
        return f"record id {row.id} (seq {row.seq}) is signed after unsigned records without an anchor"
    return None


def verify_chain(rows, *, anchor_count: int, anchor_head: str | None, key: bytes) -> str | None:
    """Return None if the chain holds, else a sentence naming the first broken record."""
    prev = GENESIS
    expected_seq = 1
    anchored = False  # from the first signed record on, every record must be signed
    for row in rows:
        if row.seq != expected_seq:
            return f"record seq {expected_seq} is missing (found seq {row.seq}, id {row.id})"
        if row.prev_hash != prev:
            return f"record id {row.id} (seq {row.seq}) does not link to the previous record"
        digest = record_hash(equipment_id=row.equipment_id, seq=row.seq, kind=row.kind,
                             at_iso=at_iso(row.at), actor_name=row.actor_name,
                             actor_org_id=row.actor_org_id, data=row.data, prev_hash=row.prev_hash)
        if digest != row.hash:
            return f"record id {row.id} (seq {row.seq}) was altered: its hash does not match its content"
        problem = _mac_problem(row, key, anchored)
        if problem:
            return problem
        anchored = anchored or row.mac is not None
        prev = row.hash
        expected_seq += 1
    count = expected_seq - 1
    if count == 0:
        return "the unit has no history: every unit starts with its registration record, so records were removed"
    if count != anchor_count or prev != anchor_head:
        return f"the chain ends at seq {count} but the unit records {anchor_count}: records were removed or added"
    if not anchored:
        return "the chain is not signed: run `equipment trace anchor` once (records written before signing)"
    return None


def _status_of(data) -> str | None:
    value = data.get("status") if isinstance(data, dict) else None
    if isinstance(value, list) and len(value) == 2:
        return value[1]
    return value if isinstance(value, str) else None


def state_problem(rows, unit) -> str | None:
    """The unit's status and last inspection must be what its (verified) chain says they are."""
    status, inspected = None, None
    for row in rows:
        if row.kind in STATUS_KINDS and _status_of(row.data):
            status = _status_of(row.data)
        if row.kind == "inspected":
            inspected = row
    if status is not None and unit.status != status and not {unit.status, status} <= set(DUE_DRIVEN):
        return f"the unit's status is {unit.status} but its history says {status}"
    last = (inspected.data.get("date"), inspected.data.get("conclusion")) if inspected else (None, None)
    shown = (unit.last_inspection_date.isoformat() if unit.last_inspection_date else None,
             unit.last_inspection_conclusion)
    if shown != last:
        return f"the unit shows last inspection {shown[0]} {shown[1]} but its history says {last[0]} {last[1]}"
    return None
