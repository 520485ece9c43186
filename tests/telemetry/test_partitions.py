"""Monthly partitions of telemetry_states: made ahead of time, and made even when the default partition
already holds rows of the month (PostgreSQL refuses the plain CREATE then)."""
import datetime as dt

from sqlalchemy import text


def test_partitions_are_made_and_stranded_rows_move_in(committed_app, backend):
    from equipment.extensions import db
    from equipment.telemetry.jobs import ensure_partitions
    with committed_app.app_context():
        if backend == "sqlite":
            assert ensure_partitions() == []  # one plain table on SQLite: nothing to do
            return
        db.session.execute(text(
            "INSERT INTO telemetry_states (terminal_id, equipment_id, boot, seq, ts, received_at, body) "
            "VALUES ('T9', 1, 0, 1, '2031-05-10 08:00:00+00', now(), '{}'), "
            "       ('T9', 1, 0, 2, '2031-07-02 08:00:00+00', now(), '{}')"))
        db.session.commit()
        def count(table):
            try:
                return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            finally:
                db.session.rollback()  # an open read would hold the lock the job's DETACH waits for
        assert count("telemetry_states_default") == 2  # no partition of 2031 yet
        made = ensure_partitions(today=dt.date(2031, 5, 20), months_ahead=1)
        assert made == ["telemetry_states_203105", "telemetry_states_203106"]
        assert count("telemetry_states_203105") == 1 and count("telemetry_states_203106") == 0
        assert count("telemetry_states_default") == 1  # July's row stays until July's partition exists
        assert count("telemetry_states") == 2  # nothing lost, nothing doubled
        assert ensure_partitions(today=dt.date(2031, 5, 20), months_ahead=1) == []
        assert ensure_partitions(today=dt.date(2031, 7, 1), months_ahead=0) == ["telemetry_states_203107"]
        assert count("telemetry_states_default") == 0 and count("telemetry_states") == 2
        db.session.remove()
