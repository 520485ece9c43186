"""Registry jobs (data: the jobs leader runs them, core/jobs.py)."""
from equipment.core.jobs import JobSpec

JOBS = [
    # a signed checkpoint of every history chain, daily, into the instance folder (docs/trace.md)
    JobSpec(id="trace_checkpoint", func="equipment.registry.checkpoints:write_scheduled",
            cron={"hour": 3, "minute": 20}),
]
