"""Transactions, engine set-up per backend, pagination."""
from __future__ import annotations

import contextlib
import functools
import logging
import math

import psycopg
from flask import current_app
from psycopg.rows import namedtuple_row
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import Session

from equipment.core.errors import Invalid, NotFound
from equipment.core.fields import MAX_PAGE, MAX_PER_PAGE

SPATIALITE = "mod_spatialite"
HOOKS = "after_commit_hooks"  # session.info key: what runs once the outermost transaction has committed
log = logging.getLogger("equipment.core.db")


def flask_db(app=None):
    """The app's Flask-SQLAlchemy extension. Read from the app, not imported: core sits below
    equipment.extensions, which is built from core's pieces (docs/architecture.md, layers)."""
    return (app or current_app).extensions["sqlalchemy"]


@contextlib.contextmanager
def transaction():
    """The one transaction scope: commit on success, roll back on error; a nested scope joins the outer one.

    Service functions enter it through @atomic; a caller that does several services' work as one unit
    (the telemetry consumer's batch, a job) enters it around all of them, so nothing commits part-way
    and a failure or a crash leaves either everything or nothing.
    """
    session = flask_db().session
    if session.info.get("atomic_depth"):
        session.info["atomic_depth"] += 1
        try:
            yield session
        finally:
            session.info["atomic_depth"] -= 1
        return
    session.info["atomic_depth"] = 1
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info["atomic_depth"] = 0


def atomic(fn):
    """The service function owns the transaction (see transaction()); nested calls join the outermost one,
    so a service may call another service."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with transaction():
            return fn(*args, **kwargs)
    return wrapper


def after_commit(fn, *, key=None) -> None:
    """Run fn() once after the current transaction's outermost commit; never if it rolls back.

    For work that must only see committed rows from elsewhere (another thread, another process), e.g.
    emergency's prompt notification delivery. One key runs once per transaction however often it is asked
    for (default: fn itself). A session pinned to an enclosing transaction (the tests' savepoint) never
    really commits, so nothing is scheduled there.
    """
    session = flask_db().session
    if session_pinned():
        return
    session.info.setdefault(HOOKS, {}).setdefault(fn if key is None else key, fn)


def _run_hooks(session) -> None:
    for fn in session.info.pop(HOOKS, {}).values():
        try:
            fn()
        except Exception:  # noqa: BLE001  the data is committed; a hook's failure must not undo the caller's success
            log.exception("after-commit hook %r failed", fn)


def _drop_hooks(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction, not a savepoint inside it
        session.info.pop(HOOKS, None)


def _sqlite_connect(dbapi_conn, _record):
    # pysqlite's own transaction handling breaks SAVEPOINT; we issue BEGIN ourselves (_sqlite_begin).
    dbapi_conn.isolation_level = None
    dbapi_conn.enable_load_extension(True)
    dbapi_conn.load_extension(SPATIALITE)
    dbapi_conn.enable_load_extension(False)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    has_meta = cur.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='spatial_ref_sys'").fetchone()
    if not has_meta:
        cur.execute("SELECT InitSpatialMetaData(1, 'WGS84')")
    cur.close()


def _sqlite_begin(conn):
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
    # fails at once with SQLITE_BUSY under WAL instead of waiting, which would drop consumer batches.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_engine_options(uri: str) -> dict:
    if uri.startswith("sqlite"):
        # The pysqlite default isolation would begin transactions lazily and break savepoints.
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def init_app(app) -> None:
    db = flask_db(app)
    if not event.contains(Session, "after_commit", _run_hooks):
        event.listen(Session, "after_commit", _run_hooks)
        event.listen(Session, "after_soft_rollback", _drop_hooks)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)


def session_pinned() -> bool:
    """Is the session bound to one connection (an enclosing transaction: the tests' savepoint fixture)? Such a
    connection must not be used from a second thread."""
    return flask_db().session.session_factory.kw.get("bind") is not None


def read_first(stmt, params: dict):
    """The first row of one short read, outside the request's ORM transaction.

    For the hottest read (a public QR scan). On PostgreSQL it runs on a pooled autocommit DBAPI
    connection with no pre-ping, from SQL compiled once: one round trip instead of four (ping, BEGIN,
    SELECT, ROLLBACK) and none of the Core execution machinery, measured at 0.2 ms against 1.9 ms through
    the session. A connection the server dropped fails once; a read is safe to retry on a new one.
    A session pinned to a connection (an enclosing transaction) is read through, so the read sees it;
    SQLite reads go through the session too, since its begin hook opens a write transaction.
    """
    db = flask_db()
    # The factory's bind, not db.session.bind: asking the session would create one just to ask.
    if session_pinned() or is_sqlite():
        return db.session.execute(stmt, params).first()
    engine = _autocommit_engine()
    sql = _compiled(stmt, engine.dialect)
    for attempt in (1, 2):
        raw = engine.raw_connection()
        try:
            with raw.driver_connection.cursor(row_factory=namedtuple_row) as cur:
                return cur.execute(sql, params).fetchone()
        except psycopg.OperationalError:
            raw.invalidate()  # a dropped connection: never hand it out again
            if attempt == 2:
                raise
        finally:
            raw.close()


@functools.lru_cache(maxsize=64)
def _compiled(stmt, dialect) -> str:
    return str(stmt.compile(dialect=dialect))


def _autocommit_engine():
    db = flask_db()
    engines = current_app.extensions.setdefault("equipment.read_engines", {})
    main = db.engine
    if main not in engines:
        engines[main] = create_engine(main.url, isolation_level="AUTOCOMMIT", pool_size=16, max_overflow=8)
    return engines[main]


def is_sqlite() -> bool:
    db = flask_db()
    return db.engine.dialect.name == "sqlite"


def paginate(stmt, *, page: int = 1, per_page: int = 50, max_per_page: int = MAX_PER_PAGE) -> dict:
    """Run a select with offset pagination; returns the list envelope of DESIGN.md."""
    db = flask_db()
    if not 1 <= page <= MAX_PAGE or per_page < 1 or per_page > max_per_page:
        raise Invalid("Invalid pagination", details={
            "page": ["must be >= 1"], "per_page": [f"must be between 1 and {max_per_page}"]})
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page))}


def get_or_404(model, ident, message: str):
    """The row of `model` with primary key `ident`, or the one 404 envelope with the caller's message."""
    row = flask_db().session.get(model, ident)
    if row is None:
        raise NotFound(message)
    return row


def setting(name: str):
    return current_app.config[name]
