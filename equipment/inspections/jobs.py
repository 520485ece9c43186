"""Periodic work of the inspections domain (run by the single jobs leader, idempotent, set-based)."""
from __future__ import annotations

from equipment.core.db import atomic
from equipment.core.jobs import JobSpec
from equipment.inspections import obligations, reminders
from equipment.inspections import rules as rules_mod

JOBS = [
    JobSpec(id="inspections.daily_refresh", func="equipment.inspections.jobs:daily_refresh",
            cron={"hour": 0, "minute": 10}),
    JobSpec(id="inspections.new_units", func="equipment.inspections.jobs:new_units", seconds=600),
    JobSpec(id="inspections.reminders", func="equipment.inspections.jobs:send_reminders", seconds=300),
]


@atomic
def refresh(today=None) -> dict:
    """Statuses of every obligation and unit for `today`: a handful of UPDATE statements, no row loop."""
    today = today or obligations.today_local()
    return obligations.refresh_statuses(today=today,
                                        due_soon_days=rules_mod.current_rules()["reminders"]["due_soon_days"])


@atomic
def _new_units_batch() -> int:
    return obligations.ensure_obligations()


def new_units(max_batches: int = 50) -> int:
    """Obligation rows for units registered since the last run (bounded batches, one commit each)."""
    total = 0
    for _ in range(max_batches):
        done = _new_units_batch()
        total += done
        if not done:
            break
    return total


def daily_refresh(today=None) -> dict:
    new_units()
    counts = refresh(today)
    counts["reminders_queued"] = reminders.generate(today=today or obligations.today_local())
    return counts


def send_reminders() -> int:
    return reminders.send_due()
