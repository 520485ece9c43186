"""The history hash chain: `equipment trace verify` finds edited, inserted and deleted records."""
from sqlalchemy import text

from equipment.core.actor import SYSTEM, acting_as
from equipment.registry import service


def _verify(app, *args):
    return app.test_cli_runner().invoke(args=["trace", "verify", *map(str, args)])


def _grow(unit, n=3):
    with acting_as(SYSTEM):
        for i in range(n):
            service.append_history(equipment_id=unit.id, kind="maintained", data={"n": i, "items": ["brake"]})


def test_intact_chain_verifies(app, f, db):
    unit = f.elevator()
    _grow(unit)
    db.session.commit()
    result = _verify(app, unit.id)
    assert result.exit_code == 0, result.output
    assert "verified" in result.output


def test_edited_record_is_named(app, f, db):
    unit = f.elevator()
    _grow(unit)
    db.session.commit()
    row_id = db.session.execute(text("SELECT id FROM history_events WHERE equipment_id=:e AND seq=3"),
                                {"e": unit.id}).scalar()
    db.session.execute(text("UPDATE history_events SET actor_name='mallory' WHERE id=:i"), {"i": row_id})
    result = _verify(app, unit.id)
    assert result.exit_code == 1
    assert f"record id {row_id} (seq 3) was altered" in result.output


def test_deleted_middle_record_is_named(app, f, db):
    unit = f.elevator()
    _grow(unit)
    db.session.execute(text("DELETE FROM history_events WHERE equipment_id=:e AND seq=2"), {"e": unit.id})
    result = _verify(app, unit.id)
    assert result.exit_code == 1
    assert "seq 2 is missing" in result.output


def test_deleted_last_record_is_found(app, f, db):
    unit = f.elevator()
    _grow(unit)
    db.session.execute(text("DELETE FROM history_events WHERE equipment_id=:e AND seq=5"), {"e": unit.id})
    result = _verify(app, unit.id)
    assert result.exit_code == 1 and "records were removed or added" in result.output


def test_inserted_forged_record_is_found(app, f, db):
    unit = f.elevator()
    _grow(unit, 1)
    last = db.session.execute(text("SELECT hash FROM history_events WHERE equipment_id=:e AND seq=3"),
                              {"e": unit.id}).scalar()
    db.session.execute(text(
        "INSERT INTO history_events (equipment_id, seq, kind, at, actor_name, data, prev_hash, hash) "
        "VALUES (:e, 4, 'inspected', '2026-01-01 00:00:00', 'forger', '{}', :p, :h)"),
        {"e": unit.id, "p": last, "h": "f" * 64})
    result = _verify(app, unit.id)
    assert result.exit_code == 1 and "(seq 4) was altered" in result.output


def test_verify_all_names_only_the_broken_unit(app, f, db):
    good, bad = f.elevator(), f.elevator()
    db.session.execute(text("UPDATE history_events SET kind='scrapped' WHERE equipment_id=:e AND seq=1"),
                       {"e": bad.id})
    result = _verify(app)
    assert result.exit_code == 1
    assert f"equipment {bad.id}:" in result.output and f"equipment {good.id}:" not in result.output


def test_trace_api_and_page_show_the_chain(client, f, db):
    unit = f.elevator()
    _grow(unit, 2)
    h = f.token(client, f.user("admin"))
    body = client.get(f"/api/v1/equipment/{unit.id}/trace", headers=h).get_json()
    assert body["verified"] and [e["seq"] for e in body["items"]] == [1, 2, 3, 4]
    assert all(e["prev_hash"] == p["hash"] for p, e in zip(body["items"], body["items"][1:]))
