"""Test fixtures: every DB test runs on PostgreSQL + PostGIS and on SQLite + SpatiaLite.

The `app` fixture is parametrised by backend at session scope; each test gets a connection-level
transaction that is rolled back at the end (SQLAlchemy 2 `join_transaction_mode="create_savepoint"`),
so service functions can commit freely.
"""
from __future__ import annotations

import os
import tempfile
import uuid

import pytest
from hypothesis import settings

pytest_plugins = ["tests.support.alongside"]
BACKENDS = os.environ.get("EQUIPMENT_TEST_BACKENDS", "postgresql,sqlite").split(",")
# Property tests check behaviour, not speed: hypothesis' 200 ms per-example deadline turns a busy 2-core CI
# machine into failures (seen: test_never_two_trapped_without_a_clear while other processes ran).
settings.register_profile("equipment", deadline=None)
settings.load_profile("equipment")


@pytest.fixture(scope="session")
def pg_cluster():
    from tests.support.pg import PgCluster
    cluster = PgCluster()
    cluster.start()
    yield cluster
    from equipment.emergency import stream
    stream.SHUTDOWN.set()  # live-stream pollers of the test servers stop before their database goes away
    cluster.stop()


def test_config(url: str, instance_dir: str) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "PUBLIC_RATE_LIMIT": "100000/60",
            "LOGIN_RATE_LIMIT": "100000/60", "PUBLIC_BASE_URL": "https://tags.example.test",
            "INSTANCE_DIR": instance_dir,
            # test servers are plain http on loopback: https-only cookies would not come back from a browser
            "SESSION_COOKIE_SECURE": False,
            "WEBHOOK_ALLOW_PRIVATE": True,  # the test sinks listen on 127.0.0.1
            # scrypt at 1/32 of the production cost: every user a test creates or logs in cost 165 ms of the
            # suite's time (more than half of some files); the production floor is tested in tests/auth
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}


def make_app(url: str):
    from flask_migrate import upgrade

    from equipment import create_app
    inst = tempfile.mkdtemp(prefix="equipment-test-")
    os.environ["EQUIPMENT_INSTANCE_DIR"] = inst
    app = create_app(test_config(url, inst))
    with app.app_context():
        upgrade(revision="heads")
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def app(request):
    # A fresh name each time: with EQUIPMENT_ALONGSIDE=1 a run takes its plain tests before its slow ones,
    # so each backend's app is set up twice, once per group.
    name = f"unit_{uuid.uuid4().hex[:8]}"
    if request.param == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database(name)
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='equipment-sqlite-')}/{name}.db"
    application = make_app(url)
    yield application
    from equipment.extensions import db
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    dispose_read_engines(application)
    if request.param == "postgresql":
        cluster.drop_database(name)


@pytest.fixture()
def committed_url(app, backend, request):
    """A fresh database of the test's backend whose commits are real: for other processes and connections,
    which the savepoint-rolled-back `db` fixture would hide its data from."""
    if backend == "sqlite":
        yield f"sqlite:///{tempfile.mkdtemp(prefix='equipment-committed-')}/c.db"
        return
    cluster = request.getfixturevalue("pg_cluster")
    name = f"c_{uuid.uuid4().hex[:12]}"
    yield cluster.create_database(name)
    cluster.drop_database(name)  # WITH (FORCE): a pool a test left open does not keep it


@pytest.fixture()
def committed_app(committed_url):
    """An app (migrated) on `committed_url`."""
    from equipment.extensions import db
    application = make_app(committed_url)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    dispose_read_engines(application)


def dispose_read_engines(application) -> None:
    for engine in application.extensions.get("equipment.read_engines", {}).values():
        engine.dispose()


@pytest.fixture()
def backend(app) -> str:
    return "sqlite" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else "postgresql"


def _bound_session_class():
    from flask_sqlalchemy.session import Session

    class BoundSession(Session):
        """Flask-SQLAlchemy routes queries to its engines; a test pins them to its own connection."""
        def get_bind(self, *args, **kwargs):
            return self.bind if self.bind is not None else super().get_bind(*args, **kwargs)
    return BoundSession


_BoundSession = None


@pytest.fixture()
def db(app):
    """A per-test transaction rolled back at the end; commits inside become savepoint releases."""
    global _BoundSession
    from equipment.extensions import db as _db
    _BoundSession = _BoundSession or _bound_session_class()
    _stop_live_poller(app)
    with app.app_context():
        conn = _db.engine.connect()
        outer = conn.begin()
        original = _db.session
        _db.session = _db._make_scoped_session({"bind": conn, "join_transaction_mode": "create_savepoint",
                                                "class_": _BoundSession})
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            outer.rollback()
            conn.close()


def _stop_live_poller(app) -> None:
    """The app lives for the session: a live-stream poller an earlier test started (a stream opened without the
    savepoint fixture) would otherwise poll through the one connection this test pins, breaking its savepoints."""
    from equipment.emergency import stream
    hub = app.extensions.get("sse_hub")
    thread = hub.thread if hub is not None else None
    if thread is not None:
        stream.SHUTDOWN.set()
        thread.join(10)
        stream.SHUTDOWN.clear()


@pytest.fixture()
def client(app, db):
    return app.test_client()


@pytest.fixture()
def f(db):
    from tests.factories import Factory
    return Factory(db)
