"""On committed databases: timers fire in a fresh jobs process; concurrent signals open one incident."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.emergency.helpers import seed_committed as _seed

ROOT = Path(__file__).resolve().parents[2]


JOB_SCRIPT = """
import json, sys
from tests.conftest import make_app
from equipment.core import jobs
app = make_app(sys.argv[1])
jobs._app = app
jobs.run_job("emergency.escalate")
from equipment.extensions import db
from equipment.emergency.models import Dispatch, Incident
with app.app_context():
    inc = db.session.query(Incident).one()
    offers = [d.status for d in db.session.query(Dispatch).order_by(Dispatch.id)]
    status = db.session.get(jobs.JobStatus, "emergency.escalate")
    print(json.dumps({"level": inc.level, "offers": offers, "runs": status.runs, "failures": status.failures}))
"""


def test_accept_timer_fires_in_a_fresh_jobs_process(committed_app):
    from equipment.emergency import service
    from equipment.extensions import db
    unit_id, _ = _seed(committed_app, accept_s=1.0)
    with committed_app.app_context():
        inc, _ = service.open_incident(equipment_id=unit_id, source="sensor")
        assert inc.status == "dispatched" and inc.level == 1
        db.session.remove()
        db.engine.dispose()  # the process that set the timer is gone as far as the database knows
    time.sleep(1.1)  # let the 1 s accept deadline pass for real
    url = committed_app.config["SQLALCHEMY_DATABASE_URI"]
    out = subprocess.run([sys.executable, "-c", JOB_SCRIPT, url], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # the only crew was passed over; no other crew anywhere, so level 2 is skipped and 119 is called
    assert result == {"level": 3, "offers": ["passed_over", "notified"], "runs": 1, "failures": 0}


def test_concurrent_signals_open_one_incident(committed_app, backend, monkeypatch):
    """Both writers pass the 'is one open?' check before either inserts; the partial unique index decides."""
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): the second never sees the race")
    from equipment.emergency import service
    from equipment.emergency.models import Incident
    from equipment.extensions import db
    unit_id, _ = _seed(committed_app)
    barrier, real, results, errors = threading.Barrier(2, timeout=20), service._open_of, [], []
    waited = threading.local()

    def racing_open_of(equipment_id, kind="rescue"):
        found = real(equipment_id, kind)
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()
        return found

    monkeypatch.setattr(service, "_open_of", racing_open_of)
    real_insert, inserted = service._insert, []
    monkeypatch.setattr(service, "_insert", lambda *a, **k: inserted.append(real_insert(*a, **k)) or inserted[-1])

    def signal(source):
        try:
            with committed_app.app_context():
                inc, created = service.open_incident(equipment_id=unit_id, source=source)
                results.append((inc.id, created))
                db.session.remove()
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=signal, args=(s,)) for s in ("sensor", "phone")]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert not errors, errors
    assert sorted(c for _, c in results) == [False, True] and len({i for i, _ in results}) == 1
    assert len(inserted) == 2 and inserted.count(None) == 1  # the loser hit the index, not the pre-check
    with committed_app.app_context():
        inc = db.session.query(Incident).one()
        assert inc.signals == 2
