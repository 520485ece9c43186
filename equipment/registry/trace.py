"""The per-unit hash chain: pure functions, so `trace verify` and the writer agree byte for byte."""
from __future__ import annotations

import hashlib
import json

GENESIS = "0" * 64
HISTORY_KINDS = ("manufactured", "installed", "registered", "inspected", "maintained", "repaired",
                 "modified", "relocated", "filled", "fault", "rescue", "scrapped", "suspended",
                 "reinstated", "tag_issued", "tag_revoked", "updated")


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


def verify_chain(rows, *, anchor_count: int, anchor_head: str | None) -> str | None:
    """Return None if the chain holds, else a sentence naming the first broken record."""
    prev = GENESIS
    expected_seq = 1
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
        prev = row.hash
        expected_seq += 1
    count = expected_seq - 1
    if count != anchor_count or (count and prev != anchor_head):
        return f"the chain ends at seq {count} but the unit records {anchor_count}: records were removed or added"
    return None
