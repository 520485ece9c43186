"""Per-terminal budgets (telemetry/budget.py), the consumer's rate_limited rejects, and the cap of
terminals per unit."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from equipment.core.actor import SYSTEM, acting_as
from equipment.telemetry import budget, ingest, service
from equipment.telemetry.models import RejectCount, TelemetryEvent, TelemetryState, Terminal
from tests.telemetry.test_ingest import IDLE, Rig


def test_budget_parse_and_refusals():
    assert budget.Budget.parse("20/100") == budget.Budget(20.0, 100.0)
    for bad in ("0/10", "5/0", "x", "-1/3"):
        with pytest.raises(ValueError):
            budget.Budget.parse(bad)


def test_bucket_allows_the_burst_then_the_rate_per_terminal_and_kind():
    budgets = budget.TerminalBudgets(states=budget.Budget(2, 3), events=budget.Budget(1, 1))
    assert [budgets.allow("A", "state", 100.0) for _ in range(4)] == [True, True, True, False]
    assert budgets.allow("A", "online", 100.0) is False  # online counts with the states
    assert budgets.allow("B", "state", 100.0)  # another terminal: its own bucket
    assert budgets.allow("A", "event", 100.0) and not budgets.allow("A", "event", 100.0)
    assert budgets.allow("A", "state", 100.5)  # half a second at 2/s: one more
    assert not budgets.allow("A", "state", 100.5)
    assert [budgets.allow("A", "state", 200.0) for _ in range(4)] == [True, True, True, False]  # refilled to the burst


def test_over_budget_messages_are_rejected_as_rate_limited_and_events_have_their_own(db, f):
    rig = Rig(db, f)
    other = Rig(db, f)
    for r in (rig, other):
        r.ingestor = ingest.Ingestor(cfg=r.ingestor.cfg, budgets=budget.TerminalBudgets(
            states=budget.Budget(1, 3), events=budget.Budget(1, 2)))
    at = time.time()  # one receive time for the whole batch: no refill inside it
    batch = [rig.msg("state", at=at, **IDLE) for _ in range(8)] + [rig.msg("event", at=at, code="04")]
    result = rig.run(*batch)
    assert result.rejects == {"rate_limited": 5}
    assert rig.count(TelemetryState) == 3 and rig.count(TelemetryEvent) == 1  # the event came after 8 states
    assert db.session.scalar(select(RejectCount.count).where(RejectCount.reason == "rate_limited")) == 5
    assert other.run(other.msg("state", at=at, **IDLE)).rejects == {}


def test_third_terminal_of_a_unit_is_refused_with_409_and_nothing_written(client, f, db):
    user_org = f.org("user_unit")
    owner = f.user("owner", user_org)
    unit = f.elevator(user_org=user_org)
    h = f.token(client, owner)
    first, second = (client.post("/api/v1/terminals", json={"equipment_id": unit.id}, headers=h)
                     for _ in range(2))
    assert first.status_code == second.status_code == 201
    third = client.post("/api/v1/terminals", json={"equipment_id": unit.id}, headers=h)
    assert third.status_code == 409, third.get_json()
    error = third.get_json()["error"]
    assert error["code"] == "conflict" and "equipment_id" in error["details"]
    count = select(func.count()).select_from(Terminal).where(Terminal.equipment_id == unit.id)
    assert db.session.scalar(count) == 2
    assert client.delete(f"/api/v1/terminals/{first.get_json()['terminal_id']}", headers=h).status_code == 200
    assert client.post("/api/v1/terminals", json={"equipment_id": unit.id}, headers=h).status_code == 201


def test_terminal_cap_is_a_setting(app, f, db):
    unit = f.elevator()
    app.config["TERMINALS_PER_UNIT"] = 1
    try:
        with acting_as(SYSTEM):
            service.provision_terminal(actor=SYSTEM, equipment_id=unit.id)
            with pytest.raises(service.Conflict):
                service.provision_terminal(actor=SYSTEM, equipment_id=unit.id)
    finally:
        app.config["TERMINALS_PER_UNIT"] = 2
