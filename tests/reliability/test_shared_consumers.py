"""Two consumer processes on one shared subscription: they split the load; one is SIGKILLed mid-burst, the
other carries on; the killed one comes back with the same client id and its session's share is delivered.

Which process stored a row is told by a trigger that records the inserting session's application_name
(each consumer connects as its own name); rows that hit the dedupe key insert nothing and are not counted.
"""
from __future__ import annotations

import time

import pytest

from tests.reliability.conftest import provision_terminals, start_consumer
from tests.reliability.support import wait_subscribed
from tests.telemetry.conftest import wait_until
from tests.telemetry.test_crash import publish_burst

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

TERMINALS = 10
PER_TERMINAL = 1500
TOTAL = TERMINALS * PER_TERMINAL
A, B = "rel-ingest-a", "rel-ingest-b"


@pytest.mark.timeout(150)
def test_two_consumers_split_the_load_and_survive_one_being_killed(rig, broker, procs, tmp_path):
    probe, *creds = provision_terminals(rig, TERMINALS + 1)
    rig.db.track_writers()
    first_a = start_consumer(rig, broker, procs, tmp_path, A, "a1")
    start_consumer(rig, broker, procs, tmp_path, B, "b")
    assert wait_subscribed(rig.db, broker, probe, writers={"a1", "b"}), (rig.db.by_writer(), procs.tails())

    pubs = publish_burst(broker, creds, PER_TERMINAL)
    try:
        assert wait_until(lambda: rig.db.stored()[0] >= TOTAL // 3, 60, 0.02), procs.tails()
        first_a.kill()
        at_kill = rig.db.by_writer()
        for pub in pubs:
            assert pub.wait(60) == 0, pub.stderr.read()
        # b carries on alone: its share gets stored while a is away
        assert wait_until(lambda: rig.db.by_writer().get("b", 0) > at_kill.get("b", 0) + TOTAL // 10, 60, 0.25)
        assert wait_until(lambda: _settled(rig), 60, 0.5), (rig.db.by_writer(), procs.tails())
        while_a_away = rig.db.by_writer()
        assert while_a_away.get("a1") == at_kill.get("a1"), "a kept writing after SIGKILL"
        assert rig.db.stored()[0] < TOTAL, "nothing was left in a's session: the kill came too late"

        start_consumer(rig, broker, procs, tmp_path, A, "a2")  # same client id: its persistent session
        assert wait_until(lambda: rig.db.stored()[0] >= TOTAL, 60, 0.25), (rig.db.stored(), procs.tails())
        time.sleep(1.0)  # a late duplicate would show up now
    finally:
        for pub in pubs:
            if pub.poll() is None:
                pub.kill()
    writers = rig.db.by_writer()
    assert rig.db.stored() == (TOTAL, TOTAL)
    assert sum(writers.values()) == TOTAL, writers
    # both carried a significant share before the kill (round-robin would give about half each)
    stored_at_kill = sum(at_kill.values())
    assert min(at_kill.get("a1", 0), at_kill.get("b", 0)) >= stored_at_kill // 5, at_kill
    assert writers.get("a2", 0) > 0, f"a's queued share never came back: {writers}"


def _settled(rig, quiet_s: float = 2.0) -> bool:
    """Nothing stored for `quiet_s`: b has drained everything routed to it."""
    before = rig.db.stored()[0]
    time.sleep(quiet_s)
    return rig.db.stored()[0] == before
