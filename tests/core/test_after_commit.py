"""core.db.after_commit on real commits: a hook runs once, after the outermost commit, and sees the committed
rows from another connection; a rolled-back transaction runs nothing, then or later."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from equipment.core.db import after_commit, transaction
from equipment.core.jobs import JobStatus
from equipment.extensions import db


def _seen_elsewhere(job_id: str) -> bool:
    """Is the row committed, as another connection (another process, a delivery thread) would see it?"""
    with db.engine.connect() as other:
        return other.execute(text("SELECT 1 FROM job_status WHERE id = :id"), {"id": job_id}).first() is not None


@pytest.fixture()
def ctx(committed_app):
    with committed_app.app_context():
        yield
        db.session.remove()


def test_hook_runs_once_after_the_outermost_commit(ctx):
    calls = []
    with transaction():
        db.session.add(JobStatus(id="t.outer"))
        with transaction():  # a service called inside another joins its transaction
            after_commit(lambda: calls.append(("inner", _seen_elsewhere("t.outer"))), key="k")
        assert calls == []  # the inner scope's end is not a commit
        after_commit(lambda: calls.append(("again", None)), key="k")  # same key: once per transaction
        db.session.flush()
        assert calls == []
    assert calls == [("inner", True)]
    with transaction():
        db.session.add(JobStatus(id="t.next"))
    assert calls == [("inner", True)]  # hooks do not carry over to the next transaction


def test_rolled_back_transaction_runs_nothing_then_or_later(ctx):
    calls = []
    with pytest.raises(RuntimeError):
        with transaction():
            db.session.add(JobStatus(id="t.undone"))
            after_commit(lambda: calls.append("undone"))
            db.session.flush()
            raise RuntimeError("the service failed")
    assert calls == [] and not _seen_elsewhere("t.undone")
    with transaction():
        db.session.add(JobStatus(id="t.done"))
    assert calls == []  # the rolled-back transaction's hook is gone, not deferred to this commit


def test_failing_hook_does_not_undo_the_commit(ctx):
    def boom():
        raise RuntimeError("hook failed")
    with transaction():
        db.session.add(JobStatus(id="t.kept"))
        after_commit(boom)
    assert _seen_elsewhere("t.kept")
