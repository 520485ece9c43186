"""Backup and restore on both stores; the history chains still verify after a restore."""
import os
import subprocess
import tempfile

from tests.support.pg import find_bin_dir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EQUIPMENT = os.path.join(ROOT, ".venv", "bin", "equipment")


def _cli(url, *args):
    # the app's instance folder (make_app sets it): its secret key is the one that signed the history chain
    env = {**os.environ, "EQUIPMENT_DATABASE_URL": url,
           "PATH": f"{find_bin_dir()}:{os.environ['PATH']}"}
    return subprocess.run([EQUIPMENT, *args], env=env, capture_output=True, text=True, timeout=120)


def test_backup_restore_keeps_verifiable_history(committed_url):
    from equipment.extensions import db
    from tests.conftest import make_app
    from tests.factories import Factory
    url = committed_url
    application = make_app(url)
    with application.app_context():
        f = Factory(db)
        units = [f.elevator() for _ in range(3)]
        db.session.commit()
        ids = [u.id for u in units]
        db.engine.dispose()
    dump = os.path.join(tempfile.mkdtemp(), "backup.dump")
    made = _cli(url, "backup", "create", dump)
    assert made.returncode == 0, made.stderr
    # damage the live data after the backup: a restore must bring back the intact chains
    with application.app_context():
        db.session.execute(db.text("DELETE FROM history_events WHERE equipment_id = :e AND seq = 2"), {"e": ids[0]})
        db.session.commit()
        db.engine.dispose()
    assert _cli(url, "trace", "verify").returncode == 1
    assert _cli(url, "backup", "restore", dump).returncode != 0  # refuses without --yes
    restored = _cli(url, "backup", "restore", dump, "--yes")
    assert restored.returncode == 0, restored.stderr
    verified = _cli(url, "trace", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "history chain verified" in verified.stdout
