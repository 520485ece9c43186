"""Online backup and restore of either store.

SQLite: the sqlite3 backup API copies a consistent snapshot while the platform runs (WAL included).
PostgreSQL: pg_dump custom format / pg_restore, with the connection taken from EQUIPMENT_DATABASE_URL.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


def _pg_args(url: str) -> tuple[list[str], dict]:
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = {"PGPASSWORD": u.password} if u.password else {}
    return args, {**env, "PGDATABASE": u.database}


def _tool(name: str, bin_dir: str | None) -> str:
    if bin_dir:
        return str(Path(bin_dir) / name)
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if not found:
        raise RuntimeError(f"{name} not found: install postgresql-client")
    return str(found)


def backup(url: str, dest: str, *, bin_dir: str | None = None) -> None:
    if url.startswith("sqlite"):
        src = sqlite3.connect(make_url(url).database)
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
            src.close()
        return
    args, env = _pg_args(url)
    _run([_tool("pg_dump", bin_dir), "-Fc", "-f", dest, *args, env["PGDATABASE"]], env)


def restore(url: str, src: str, *, bin_dir: str | None = None) -> None:
    """Restore into the configured database (PostgreSQL: objects are replaced; SQLite: the file is replaced)."""
    if url.startswith("sqlite"):
        target = make_url(url).database
        with sqlite3.connect(src) as check:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise RuntimeError(f"{src} fails SQLite's integrity check")
        shutil.copyfile(src, target)
        for suffix in ("-wal", "-shm"):  # stale WAL frames of the old file must not replay over the restore
            Path(target + suffix).unlink(missing_ok=True)
        return
    _empty_public_schema(url)
    args, env = _pg_args(url)
    _run([_tool("pg_restore", bin_dir), "--no-owner", "--exit-on-error", "-d", env["PGDATABASE"], *args, src], env)


def _empty_public_schema(url: str) -> None:
    """pg_restore --clean cannot drop partitioned tables' inherited constraints; start from an empty schema."""
    import psycopg
    u = make_url(url)
    with psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database,
                         autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


class BackupError(RuntimeError):
    pass


def _run(cmd: list[str], env: dict) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    if proc.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {proc.stderr.strip()[-2000:]}")
