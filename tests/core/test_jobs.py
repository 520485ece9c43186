"""Jobs runner: one leader among several processes; job outcomes recorded."""
import tempfile


from equipment.core import jobs


def test_single_leader_and_takeover(app, committed_url):
    inst = tempfile.mkdtemp()
    first, second = jobs.Leadership(committed_url, inst), jobs.Leadership(committed_url, inst)
    try:
        assert first.try_acquire() is True
        assert second.try_acquire() is False
        first.release()
        assert second.try_acquire() is True
    finally:
        first.release()
        second.release()


def test_run_job_records_success_and_failure(app, committed_url, monkeypatch):
    from tests.conftest import make_app
    from equipment.extensions import db
    application = make_app(committed_url)
    specs = [jobs.JobSpec(id="t.ok", func="tests.core.test_jobs:_ok", seconds=60),
             jobs.JobSpec(id="t.bad", func="tests.core.test_jobs:_bad", seconds=60)]
    monkeypatch.setattr(jobs, "all_specs", lambda: specs)
    monkeypatch.setattr(jobs, "_app", application)
    _CALLS.clear()
    jobs.run_job("t.ok")
    jobs.run_job("t.bad")
    jobs.run_job("t.bad")
    with application.app_context():
        ok, bad = db.session.get(jobs.JobStatus, "t.ok"), db.session.get(jobs.JobStatus, "t.bad")
        assert (ok.runs, ok.failures) == (1, 0) and ok.last_ok_at is not None
        assert (bad.runs, bad.failures) == (2, 2) and "boom" in bad.last_error
        db.engine.dispose()
    assert _CALLS == ["ok"]


_CALLS = []


def _ok():
    _CALLS.append("ok")


def _bad():
    raise RuntimeError("boom")


def test_metrics_gauges_group_label_sets(client):
    from equipment.web import metrics
    source = lambda: {("equipment_test_open", "open things", (("kind", "a"),)): 2,  # noqa: E731
                      ("equipment_test_open", "open things", (("kind", "b"),)): 5}
    metrics._GAUGE_SOURCES.append(source)
    try:
        body = client.get("/metrics").get_data(as_text=True)
    finally:
        metrics._GAUGE_SOURCES.remove(source)
    assert 'equipment_test_open{kind="a"} 2.0' in body and 'equipment_test_open{kind="b"} 5.0' in body
