"""The public lookup's read outside the ORM transaction: committed data, and connections the server dropped."""
from sqlalchemy import text

from equipment.core.actor import SYSTEM, acting_as


def _seed(application):
    from equipment.extensions import db
    from equipment.registry.tags import active_tag
    from tests.factories import Factory
    with application.app_context(), acting_as(SYSTEM):
        unit = Factory(db).elevator()
        db.session.commit()
        return active_tag(unit.id).tag, unit.rescue_code


def test_lookup_reads_committed_data_and_survives_a_dropped_connection(committed_app, backend):
    from equipment.extensions import db
    tag, rescue = _seed(committed_app)
    client = committed_app.test_client()
    assert client.get(f"/api/v1/public/{tag}").get_json()["rescue_code"] == rescue
    assert client.get("/api/v1/public/" + "B" * 22).status_code == 404
    if backend == "sqlite":
        return  # SQLite reads go through the session (its begin hook would open a write transaction)
    engines = committed_app.extensions["equipment.read_engines"]
    assert len(engines) == 1 and next(iter(engines.values())).pool.checkedin() >= 1  # read on its own pool
    with committed_app.app_context():
        killed = db.session.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        db.session.commit()
    assert killed >= 1
    # no pre-ping on this pool: the dead connection fails once and the read is retried on a new one
    assert client.get(f"/api/v1/public/{tag}").get_json()["rescue_code"] == rescue
