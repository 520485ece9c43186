"""Emergency periodic work: deadline escalation and notification delivery (idempotent, set-based)."""
from __future__ import annotations

import datetime as dt

from equipment.core.jobs import JobSpec
from equipment.emergency import dispatch, notify

JOBS = [
    JobSpec(id="emergency.escalate", func="equipment.emergency.jobs:escalate", seconds=5),
    JobSpec(id="emergency.deliver", func="equipment.emergency.jobs:deliver", seconds=1),
]


def escalate(now: dt.datetime | None = None) -> dict:
    """Crews that did not accept in time are passed over; arrivals past the deadline are flagged."""
    return dispatch.escalate_due(now)


def deliver(now: dt.datetime | None = None) -> dict:
    """Send due outbox notifications through the channels (retry with backoff, next channel on failure)."""
    return notify.deliver_due(now)
