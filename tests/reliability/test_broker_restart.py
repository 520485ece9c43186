"""Restart the broker (persistence on) during a QoS 1 burst: every accepted message is stored exactly once.

Terminals publish 10,000 QoS 1 messages; when a quarter of them is acknowledged the broker is restarted
(SIGTERM writes its persistence file; the new process loads it). Publishers resend what was not
acknowledged, as real terminals do. The consumer process reconnects to its persistent session and gets
what the broker had queued or had in flight to it: a message that was PUBACKed to a terminal but lost
across the restart would be missing, a redelivery stored twice would show as a duplicate.

Mosquitto 2.0 does not persist `$share` subscriptions (only plain ones): after a restart, until a
consumer has resubscribed, it would answer PUBLISH with PUBACK 0x10 "No matching subscribers" and drop
the message. The broker, as the platform runs it, admits terminals only once a consumer has subscribed
(LocalMosquitto's gate); the second test holds that for a terminal that trusts a 0x10.
"""
from __future__ import annotations

import threading
import time

import pytest

from tests.reliability.conftest import provision_terminals, start_consumer
from tests.reliability.publisher import Terminal, run_all
from tests.reliability.support import broker_connects, wait_subscribed
from tests.telemetry.conftest import wait_until

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

TERMINALS = 10
PER_TERMINAL = 1000
TOTAL = TERMINALS * PER_TERMINAL


@pytest.mark.timeout(150)
def test_broker_restart_mid_burst_stores_every_accepted_message_once(rig, broker, procs, tmp_path):
    probe, *creds = provision_terminals(rig, TERMINALS + 1)
    consumer = start_consumer(rig, broker, procs, tmp_path, "rel-ingest-broker")
    assert wait_subscribed(rig.db, broker, probe), procs.tails()

    terminals = [Terminal(broker.host, broker.port, c, PER_TERMINAL) for c in creds]
    threads = run_all(terminals, timeout=60)
    progress = lambda: sum(t.progress for t in terminals)  # noqa: E731
    assert wait_until(lambda: progress() >= TOTAL // 4, 30, 0.005), progress()
    acked_before = progress()
    broker.restart()  # SIGTERM (persists queues and sessions), start again on the same port
    for thread in threads:
        thread.join(70)

    accepted = {(t.tid, boot, seq) for t in terminals for boot, seq in t.accepted}
    assert acked_before < TOTAL, "the restart came after the burst: nothing was tested"
    assert sum(t.attempts > 1 for t in terminals) > 0, "no publisher lost its connection"
    assert not any(t.pending for t in terminals), {t.tid: (len(t.pending), t.refused) for t in terminals}
    assert len(accepted) == TOTAL

    stored = wait_until(lambda: rig.db.stored()[0] >= TOTAL, 60, 0.25)
    assert stored, (rig.db.stored(), rig.db.diagnose(accepted), procs.tails())
    time.sleep(1.0)  # a late duplicate would show up now
    assert rig.db.stored() == (TOTAL, TOTAL)
    assert rig.db.keys() == accepted
    assert consumer.alive(), consumer.tail()
    assert broker_connects(broker, "rel-ingest-broker") >= 2, "the consumer never reconnected after the restart"


@pytest.mark.timeout(90)
def test_messages_published_after_broker_restart_before_consumers_return_are_kept(rig, broker, procs, tmp_path):
    probe, creds = provision_terminals(rig, 2)
    consumer = start_consumer(rig, broker, procs, tmp_path, "rel-ingest-gap")
    assert wait_subscribed(rig.db, broker, probe), procs.tails()
    consumer.kill()  # its persistent session stays at the broker, its shared subscription does not survive:
    broker.restart()
    assert not broker.terminals_admitted

    terminal = Terminal(broker.host, broker.port, creds, 100, trust_no_subscribers=True)
    thread = threading.Thread(target=terminal.run, args=(time.monotonic() + 40,), daemon=True)
    thread.start()
    assert wait_until(lambda: terminal.attempts >= 3, 10, 0.05), "the terminal never tried"
    assert terminal.accepted == set()  # refused at CONNECT while no consumer is there: it keeps its data

    start_consumer(rig, broker, procs, tmp_path, "rel-ingest-gap", name="consumer-again")
    assert broker.wait_admitted(20), broker.log_tail()
    thread.join(30)
    assert len(terminal.accepted) == 100 and terminal.no_subscribers == 0, terminal.refused
    wait_until(lambda: rig.db.stored()[0] >= 100, 10, 0.25)
    assert rig.db.stored() == (100, 100)
