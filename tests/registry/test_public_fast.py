"""The public lookup served in front of Flask answers exactly as the Flask view does."""
import datetime as dt
import json

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from equipment.registry import public_fast
from equipment.registry.schemas import PublicView

VOLATILE = {"date", "content-length"}  # Flask escapes non-ASCII JSON, orjson does not: same JSON, other bytes


@pytest.fixture()
def paths(app, db, monkeypatch):
    """(fast, flask): the whole app, and Flask's own wsgi_app; counts what reached Flask."""
    middleware = app.wsgi_app
    assert isinstance(middleware, public_fast.PublicLookup)
    reached = []
    flask_wsgi = middleware.wsgi_app

    def counting(environ, start_response):
        reached.append(environ["PATH_INFO"])
        return flask_wsgi(environ, start_response)
    monkeypatch.setattr(middleware, "wsgi_app", counting)
    return Client(app, Response), Client(flask_wsgi, Response), reached


def _unit(f, db):
    from equipment.registry.tags import active_tag
    maint = f.org("maintenance_unit", name="维保乙", phone="0591-2222222")
    unit = f.elevator(maint_org=maint)
    unit.last_inspection_date, unit.last_inspection_conclusion = dt.date(2026, 3, 1), "pass"
    unit.next_inspection_due = dt.date.today() + dt.timedelta(days=90)
    unit.last_maintenance_at = dt.datetime(2026, 11, 2, 8, 30, 15, 123456, tzinfo=dt.timezone.utc)
    db.session.commit()
    return unit, active_tag(unit.id).tag


def _same(a, b):
    assert a.status_code == b.status_code
    assert json.loads(a.data) == json.loads(b.data)
    strip = lambda r: sorted((k.lower(), v) for k, v in r.headers.items() if k.lower() not in VOLATILE)  # noqa: E731
    assert strip(a) == strip(b)


def test_fast_and_flask_answers_are_equal(paths, f, db):
    fast, flask, reached = paths
    unit, tag = _unit(f, db)
    revoked = f.elevator()
    from equipment.registry import tags
    old = tags.active_tag(revoked.id).tag
    tags.revoke_tag(equipment_id=revoked.id, reason="label damaged")
    db.session.commit()
    for path in (f"/api/v1/public/{tag}", f"/api/v1/public/{old}", "/api/v1/public/" + "A" * 22, "/api/v1/public/nope"):
        served = fast.get(path)
        assert reached == []  # answered in front of Flask
        _same(served, flask.get(path))
    body = fast.get(f"/api/v1/public/{tag}").get_json()
    assert body["maintenance_unit"] == {"name": "维保乙", "phone": "0591-2222222"}
    assert body["last_inspection"] == {"date": "2026-03-01", "conclusion": "pass"}
    assert fast.get(f"/api/v1/public/{old}").status_code == 410


def test_fast_json_is_what_the_schema_writes(paths, f, db):
    from equipment.registry.tags import public_lookup
    fast, _, _ = paths
    unit, tag = _unit(f, db)
    assert fast.get(f"/api/v1/public/{tag}").get_json() == json.loads(json.dumps(PublicView().dump(public_lookup(tag))))


def test_head_has_headers_and_no_body(paths, f, db):
    fast, flask, reached = paths
    _, tag = _unit(f, db)
    head = fast.head(f"/api/v1/public/{tag}")
    assert head.status_code == 200 and head.data == b"" and int(head.headers["Content-Length"]) > 100
    assert reached == []


@pytest.mark.parametrize("extra", ["token", "cookie", "query"])
def test_credentials_cookies_and_queries_go_to_flask(paths, f, db, extra):
    fast, _, reached = paths
    _, tag = _unit(f, db)
    kwargs = {"token": {"headers": {"Authorization": "Bearer not-a-token"}}, "query": {"query_string": "lang=en"},
              "cookie": {}}[extra]
    if extra == "cookie":
        fast.set_cookie("session", "not-a-session")
    resp = fast.get(f"/api/v1/public/{tag}", **kwargs)
    assert reached == [f"/api/v1/public/{tag}"]
    assert resp.status_code == (401 if extra == "token" else 200)  # a bad token is refused, as everywhere


def test_other_paths_and_methods_go_to_flask(paths):
    fast, _, reached = paths
    assert fast.post("/api/v1/public/abc").status_code == 405
    assert fast.get("/api/v1/public/abc/def").status_code == 404
    assert fast.get("/api/v1/public/").status_code == 404
    assert len(reached) == 3


def test_rate_limit_answers_429_in_the_envelope(paths, app, f, db, monkeypatch):
    fast, _, reached = paths
    _, tag = _unit(f, db)
    from equipment.core import ratelimit
    monkeypatch.setattr(ratelimit, "limiter", ratelimit.Limiter())  # windows of other tests don't count
    monkeypatch.setitem(app.config, "PUBLIC_RATE_LIMIT", "2/60")
    env = {"REMOTE_ADDR": "192.0.2.77"}
    codes = [fast.get(f"/api/v1/public/{tag}", environ_base=env).status_code for _ in range(3)]
    assert codes == [200, 200, 429] and reached == []
    body = fast.get(f"/api/v1/public/{tag}", environ_base=env).get_json()
    assert body["error"]["code"] == "rate_limited"
    assert fast.get(f"/api/v1/public/{tag}", environ_base={"REMOTE_ADDR": "192.0.2.78"}).status_code == 200


def test_an_unexpected_failure_is_left_to_flask(paths, f, db, monkeypatch):
    """A failure that is not an answer (a database outage) goes to Flask, which logs it and answers in the envelope."""
    fast, _, reached = paths
    _, tag = _unit(f, db)

    def broken(_tag):
        raise RuntimeError("database went away")
    monkeypatch.setattr(public_fast, "public_lookup", broken)
    monkeypatch.setattr("equipment.registry.service.public_lookup", broken)
    resp = fast.get(f"/api/v1/public/{tag}")
    assert reached == [f"/api/v1/public/{tag}"]
    assert resp.status_code == 500 and resp.get_json()["error"]["code"] == "internal_error"


def test_latency_is_recorded_under_the_flask_route(paths, f, db):
    from equipment.web.metrics import REGISTRY
    fast, _, _ = paths
    _, tag = _unit(f, db)
    labels = {"route": "/api/v1/public/<string:tag>"}
    before = REGISTRY.get_sample_value("equipment_http_request_seconds_count", labels) or 0
    fast.get(f"/api/v1/public/{tag}")
    assert REGISTRY.get_sample_value("equipment_http_request_seconds_count", labels) == before + 1
