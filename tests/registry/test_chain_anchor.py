"""The chain anchored outside the database (issue 11): each tampering of the table fails `trace verify`.

An attacker here can write any row of the database (SQL below), but holds neither the chain key nor the
checkpoint files: re-hashing, rolling anchors back, deleting whole chains and editing state columns are caught.
"""
import json

import pytest
from sqlalchemy import bindparam, text

from equipment.core.actor import SYSTEM, acting_as
from equipment.registry import checkpoints, service, trace
from equipment.registry.models import Equipment, HistoryEvent


def _verify(app, *args):
    return app.test_cli_runner().invoke(args=["trace", "verify", *map(str, args)])


def _grow(unit, n=3):
    with acting_as(SYSTEM):
        for i in range(n):
            service.append_history(equipment_id=unit.id, kind="maintained", data={"n": i})


def _rows(db, unit):
    return list(db.session.query(HistoryEvent).filter_by(equipment_id=unit.id).order_by(HistoryEvent.seq))


def _rehash_from(db, unit, seq):
    """What someone with database access but no key can do: recompute every hash after an edit."""
    rows = _rows(db, unit)
    prev = rows[seq - 2].hash if seq > 1 else trace.GENESIS
    for row in rows[seq - 1:]:
        row.prev_hash = prev
        row.hash = trace.record_hash(equipment_id=row.equipment_id, seq=row.seq, kind=row.kind,
                                     at_iso=trace.at_iso(row.at), actor_name=row.actor_name,
                                     actor_org_id=row.actor_org_id, data=row.data, prev_hash=prev)
        prev = row.hash
    db.session.get(Equipment, unit.id).history_head = prev
    db.session.flush()


def test_a_fresh_chain_is_signed_and_verifies(app, f, db):
    unit = f.elevator()
    _grow(unit)
    assert all(row.mac for row in _rows(db, unit))
    result = _verify(app, unit.id)
    assert result.exit_code == 0, result.output


def test_an_edited_record_with_the_rest_rehashed_is_caught(app, f, db):
    unit = f.elevator()
    _grow(unit)
    row = _rows(db, unit)[2]
    row.data = {"n": 99, "forged": True}
    _rehash_from(db, unit, row.seq)
    result = _verify(app, unit.id)
    assert result.exit_code == 1
    assert f"record id {row.id} (seq {row.seq}) has a signature this platform's key did not make" in result.output


def test_newest_records_deleted_and_anchor_rolled_back_fail_against_a_checkpoint(app, f, db, tmp_path):
    unit = f.elevator()
    _grow(unit)
    path = tmp_path / "cp.json"
    checkpoints.write(path)
    keep = _rows(db, unit)[2]
    db.session.execute(text("DELETE FROM history_events WHERE equipment_id=:e AND seq>3"), {"e": unit.id})
    db.session.execute(text("UPDATE equipment SET history_count=3, history_head=:h WHERE id=:e"),
                       {"h": keep.hash, "e": unit.id})
    db.session.expire_all()
    assert _verify(app, unit.id).exit_code == 0  # consistent inside the database: only the checkpoint knows
    unit_id = unit.id
    for args in ([unit_id], []):
        result = _verify(app, *args, "--checkpoint", path)
        assert result.exit_code == 1, result.output
        assert f"equipment {unit_id}: the chain is shorter than at the checkpoint" in result.output


def test_every_record_deleted_and_anchor_zeroed_is_caught(app, f, db, tmp_path):
    unit_id = f.elevator().id
    checkpoints.write(tmp_path / "cp.json")
    db.session.execute(text("DELETE FROM history_events WHERE equipment_id=:e"), {"e": unit_id})
    db.session.execute(text("UPDATE equipment SET history_count=0, history_head=NULL WHERE id=:e"), {"e": unit_id})
    db.session.expire_all()
    result = _verify(app, unit_id)
    assert result.exit_code == 1 and "the unit has no history" in result.output
    result = _verify(app, "--checkpoint", tmp_path / "cp.json")
    assert result.exit_code == 1 and "records were removed" in result.output


def test_a_unit_deleted_with_its_chain_is_caught_by_the_checkpoint(app, f, db, tmp_path):
    gone, kept = f.elevator().id, f.elevator().id
    checkpoints.write(tmp_path / "cp.json")
    for table in ("history_events", "qr_tags", "components"):
        db.session.execute(text(f"DELETE FROM {table} WHERE equipment_id=:e"), {"e": gone})
    db.session.execute(text("DELETE FROM equipment WHERE id=:e"), {"e": gone})
    db.session.expire_all()
    result = _verify(app, "--checkpoint", tmp_path / "cp.json")
    assert result.exit_code == 1 and f"equipment {gone}: the unit was deleted after the checkpoint" in result.output
    assert f"equipment {kept}" not in result.output


def test_status_and_last_inspection_are_checked_against_the_chain(app, f, db):
    unit = f.elevator()
    with acting_as(SYSTEM):
        service.set_status(equipment_id=unit.id, status="suspended", reason="inspection: 不合格", kind="suspended")
    assert _verify(app, unit.id).exit_code == 0
    db.session.execute(text("UPDATE equipment SET status='in_service' WHERE id=:e"), {"e": unit.id})
    db.session.expire_all()
    result = _verify(app, unit.id)
    assert result.exit_code == 1 and "status is in_service but its history says suspended" in result.output
    db.session.execute(text("UPDATE equipment SET status='suspended', last_inspection_date='2026-10-01', "
                            "last_inspection_conclusion='合格' WHERE id=:e"), {"e": unit.id})
    db.session.expire_all()
    result = _verify(app, unit.id)
    assert result.exit_code == 1 and "shows last inspection 2026-10-01 合格 but its history says None" in result.output


def test_the_daily_overdue_flip_is_not_tampering(app, f, db):
    unit = f.elevator()
    db.session.execute(text("UPDATE equipment SET status='overdue' WHERE id=:e"), {"e": unit.id})
    db.session.expire_all()
    assert _verify(app, unit.id).exit_code == 0


def test_chains_from_before_signing_are_anchored_once(app, f, db):
    unit = f.elevator()
    _grow(unit, 2)
    db.session.execute(text("UPDATE history_events SET mac=NULL WHERE equipment_id=:e"), {"e": unit.id})
    db.session.expire_all()
    result = _verify(app, unit.id)
    assert result.exit_code == 1 and "not signed" in result.output
    result = app.test_cli_runner().invoke(args=["trace", "anchor"])
    assert result.exit_code == 0 and "anchored 1 chains" in result.output, result.output
    db.session.expire_all()
    last = _rows(db, unit)[-1]
    assert last.kind == "anchor" and last.data["count"] == last.seq - 1
    assert _verify(app, unit.id).exit_code == 0
    _grow(unit, 1)
    db.session.execute(text("UPDATE history_events SET mac=NULL WHERE id=:i"), {"i": _rows(db, unit)[-1].id})
    db.session.expire_all()
    result = _verify(app, unit.id)
    assert result.exit_code == 1 and "is not signed" in result.output


def test_anchoring_goes_in_batches_and_a_second_run_signs_nothing_twice(app, f, db, monkeypatch):
    from equipment.registry import history
    units = [f.elevator() for _ in range(5)]
    db.session.execute(text("UPDATE history_events SET mac=NULL WHERE equipment_id IN :ids")
                       .bindparams(bindparam("ids", expanding=True)), {"ids": [u.id for u in units[:3]]})
    db.session.expire_all()
    monkeypatch.setattr(history, "ANCHOR_BATCH", 2)  # several batches, one transaction each
    real, calls = history.append, []

    def append_failing_on_the_third(**kw):  # a run stopped in its second batch
        calls.append(kw["equipment_id"])
        if len(calls) == 3:
            raise RuntimeError("stopped")
        return real(**kw)
    monkeypatch.setattr(history, "append", append_failing_on_the_third)
    with acting_as(SYSTEM), pytest.raises(RuntimeError):
        history.anchor_unsigned()
    db.session.expire_all()
    first = [u for u in units[:3] if _rows(db, u)[-1].kind == "anchor"]
    assert len(first) == 2, "the first batch's two anchors stay; the failed batch wrote none"
    monkeypatch.setattr(history, "append", real)
    seen = []
    with acting_as(SYSTEM):
        assert history.anchor_unsigned(progress=seen.append) == 1  # only what the stopped run left
        assert history.anchor_unsigned() == 0
    assert sum(seen) == db.session.query(Equipment).count() and max(seen) <= 2
    db.session.expire_all()
    assert [_rows(db, u)[-1].kind == "anchor" for u in units] == [True, True, True, False, False]
    assert all(_verify(app, u.id).exit_code == 0 for u in units)


def test_an_edited_or_foreign_checkpoint_is_rejected(app, f, db, tmp_path, monkeypatch):
    unit = f.elevator()
    path = tmp_path / "cp.json"
    checkpoints.write(path)
    data = json.loads(path.read_text())
    data["units"] = [[eid, 1, head] for eid, _, head in data["units"]]
    path.write_text(json.dumps(data))
    result = _verify(app, unit.id, "--checkpoint", path)
    assert result.exit_code == 1 and "checkpoint rejected" in result.output and "signature" in result.output
    checkpoints.write(path)
    monkeypatch.setitem(app.config, "CHAIN_KEY", "another platform's key")
    result = _verify(app, unit.id, "--checkpoint", path)
    assert result.exit_code == 1 and "checkpoint rejected" in result.output


def test_the_scheduled_job_keeps_checkpoints_in_the_instance_folder(app, f, db, tmp_path, monkeypatch):
    from equipment.core.domain import job_specs
    from equipment.core.jobs import resolve
    monkeypatch.setitem(app.config, "INSTANCE_DIR", str(tmp_path))
    spec = next(s for s in job_specs(app) if s.id == "trace_checkpoint")
    unit = f.elevator()
    _grow(unit, 1)
    monkeypatch.setattr(checkpoints, "KEEP", 2)
    for stamp in ("20260101T000000Z", "20260102T000000Z"):
        (tmp_path / "checkpoints").mkdir(exist_ok=True)
        (tmp_path / "checkpoints" / f"checkpoint-{stamp}.json").write_text("{}")
    resolve(spec.func)()
    files = sorted((tmp_path / "checkpoints").glob("checkpoint-*.json"))
    assert len(files) == 2 and files[0].name == "checkpoint-20260102T000000Z.json"
    newest = checkpoints.load(tmp_path / "checkpoints")
    assert [unit.id, 3, _rows(db, unit)[-1].hash] in newest["units"]
    result = _verify(app, "--checkpoint", tmp_path / "checkpoints")
    assert result.exit_code == 0 and "extends the checkpoint" in result.output, result.output
    result = app.test_cli_runner().invoke(args=["trace", "checkpoint", "--out", str(tmp_path / "x.json")])
    assert result.exit_code == 0 and (tmp_path / "x.json").exists()
