"""`equipment telemetry consume` that SIGKILLs itself at one commit boundary of the batch holding an alarm.

Run as `python -m tests.telemetry.consumer_probe`: PROBE_CODE names the alarm code to watch (e.g. 11, a
trapped event) and PROBE_KILL_AT where to die once that alarm's row has been flushed:
  alarm_flushed  right after the alarm's INSERT, before the rest of the batch's effects (the incident)
  before_commit  when the batch's transaction is about to commit
  after_commit   once it has committed, before the broker is acked
The rest is exactly the real CLI (same consumer, same database, same broker).
"""
from __future__ import annotations

import os
import signal
import sys

from sqlalchemy import event
from sqlalchemy.orm import Session

POINTS = ("alarm_flushed", "before_commit", "after_commit")


def install(kill_at: str, code: str) -> None:
    from equipment.telemetry.models import Alarm
    assert kill_at in POINTS, kill_at
    armed = []

    def die(point: str) -> None:
        if armed and point == kill_at:
            sys.stderr.write(f"probe: SIGKILL at {point}\n")
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    @event.listens_for(Session, "after_flush")
    def _flushed(session, _ctx):
        if any(isinstance(obj, Alarm) and obj.code == code for obj in session.new):
            armed.append(True)
            die("alarm_flushed")

    def outermost(point: str):
        # Session's commit events fire for savepoint releases too: only the real COMMIT is a boundary.
        return lambda session: None if session.in_nested_transaction() else die(point)

    event.listen(Session, "before_commit", outermost("before_commit"))
    event.listen(Session, "after_commit", outermost("after_commit"))


def main() -> None:
    from equipment.cli import main as equipment
    install(os.environ["PROBE_KILL_AT"], os.environ["PROBE_CODE"])
    equipment(["telemetry", "consume", "--client-id", os.environ["PROBE_CLIENT_ID"]])


if __name__ == "__main__":
    sys.exit(main())
