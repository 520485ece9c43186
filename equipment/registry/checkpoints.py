"""Signed checkpoints of the history chains: each unit's record count and head hash at a moment, signed with
the chain key and kept outside the database (instance folder, or wherever the operator copies them).

A chain can be cut back to an earlier, still valid state (newest records deleted, the unit's anchor rolled
back) or deleted whole: nothing inside the database can tell. A checkpoint taken before can: the unit must
still hold a record at the checkpoint's count whose hash is the checkpoint's head.
"""
from __future__ import annotations

import datetime as dt
import hmac
import json
import os
from pathlib import Path

from flask import current_app
from sqlalchemy import select, tuple_

from equipment.extensions import db
from equipment.registry import history, trace
from equipment.registry.models import Equipment, HistoryEvent

FORMAT = "equipment-trace-checkpoint/1"
KEEP = 60  # scheduled checkpoints kept in the instance folder (two months of dailies)
BATCH = 500


class CheckpointError(Exception):
    """The file is not a checkpoint this platform signed (damaged, edited or another key)."""


def _signature(body: dict) -> str:
    return trace.record_mac(history.chain_key(), trace.canonical(body).decode())


def build(*, now: dt.datetime | None = None) -> dict:
    stmt = (select(Equipment.id, Equipment.history_count, Equipment.history_head)
            .where(Equipment.history_count > 0).order_by(Equipment.id))
    body = {"format": FORMAT, "created_at": (now or dt.datetime.now(dt.timezone.utc)).isoformat(),
            "units": [[eid, count, head] for eid, count, head in db.session.execute(stmt)]}
    return {**body, "mac": _signature(body)}


def write(path: str | Path) -> dict:
    """Write atomically (a reader never sees half a file)."""
    checkpoint = build()
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(checkpoint, separators=(",", ":")))
    os.replace(tmp, path)
    return checkpoint


def folder() -> Path:
    path = Path(current_app.config["INSTANCE_DIR"]) / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_scheduled() -> None:
    """The daily job: a new checkpoint in the instance folder, the oldest beyond KEEP removed."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    write(folder() / f"checkpoint-{stamp}.json")
    for old in sorted(folder().glob("checkpoint-*.json"))[:-KEEP]:
        old.unlink(missing_ok=True)


def load(path: str | Path) -> dict:
    """A file, or a folder (its newest checkpoint); CheckpointError unless signed with this platform's key."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("checkpoint-*.json"))
        if not files:
            raise CheckpointError(f"no checkpoint-*.json in {path}")
        path = files[-1]
    try:
        checkpoint = json.loads(path.read_text())
        body = {k: checkpoint[k] for k in ("format", "created_at", "units")}
        mac = checkpoint["mac"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({err})") from None
    if body["format"] != FORMAT or not hmac.compare_digest(str(mac), _signature(body)):
        raise CheckpointError(f"{path}: the signature does not match (edited, or signed with another key)")
    return checkpoint


def compare(checkpoint: dict, equipment_id: int | None = None):
    """Yield (equipment_id, problem) for every unit whose chain no longer extends the checkpoint's."""
    units = [u for u in checkpoint["units"] if equipment_id is None or u[0] == equipment_id]
    when = checkpoint["created_at"]
    for start in range(0, len(units), BATCH):
        chunk = units[start:start + BATCH]
        ids = [u[0] for u in chunk]
        present = set(db.session.scalars(select(Equipment.id).where(Equipment.id.in_(ids))))
        heads = dict(((eid, seq), digest) for eid, seq, digest in db.session.execute(
            select(HistoryEvent.equipment_id, HistoryEvent.seq, HistoryEvent.hash)
            .where(tuple_(HistoryEvent.equipment_id, HistoryEvent.seq).in_([(u[0], u[1]) for u in chunk]))))
        for eid, count, head in chunk:
            if eid not in present:
                yield eid, f"the unit was deleted after the checkpoint of {when}"
            elif (eid, count) not in heads:
                yield eid, (f"the chain is shorter than at the checkpoint of {when} ({count} records then): "
                            "records were removed")
            elif heads[(eid, count)] != head:
                yield eid, f"record seq {count} differs from the checkpoint of {when}: the history was rewritten"
