"""Transactions, engine set-up per backend, pagination."""
from __future__ import annotations

import functools
import math

from flask import current_app
from sqlalchemy import event, func, select

from equipment.core.errors import Invalid

SPATIALITE = "mod_spatialite"


def atomic(fn):
    """The service function owns the transaction: commit on success, roll back on error.

    Nested calls join the outermost transaction, so a service may call another service.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from equipment.extensions import db
        session = db.session
        if session.info.get("atomic_depth"):
            session.info["atomic_depth"] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                session.info["atomic_depth"] -= 1
        session.info["atomic_depth"] = 1
        try:
            result = fn(*args, **kwargs)
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise
        finally:
            session.info["atomic_depth"] = 0
    return wrapper


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
    from equipment.extensions import db
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)


def is_sqlite() -> bool:
    from equipment.extensions import db
    return db.engine.dialect.name == "sqlite"


def paginate(stmt, *, page: int = 1, per_page: int = 50, max_per_page: int = 200) -> dict:
    """Run a select with offset pagination; returns the list envelope of DESIGN.md."""
    from equipment.extensions import db
    if not 1 <= page <= 1_000_000 or per_page < 1 or per_page > max_per_page:
        raise Invalid("Invalid pagination", details={
            "page": ["must be >= 1"], "per_page": [f"must be between 1 and {max_per_page}"]})
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page))}


def setting(name: str):
    return current_app.config[name]
