"""A throwaway PostgreSQL + PostGIS cluster for tests.

PostgreSQL refuses to run as root, so when the tests run as root every server command runs as the
unprivileged ``postgres`` user through ``runuser``; as any other user the commands run directly.
Durability is switched off (fsync, synchronous_commit, full_page_writes): the cluster is thrown away.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.support.ports import free_port

SERVER_USER = "postgres"
TEMPLATE = "template_postgis"  # databases are copied from it: far faster than CREATE EXTENSION each time


class PgError(RuntimeError):
    """A server command failed; the message carries its output and the server log's tail."""


def find_bin_dir() -> str:
    """The directory with initdb and pg_ctl, preferring PostgreSQL 15."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: (Path(p).parent.name != "15", -_major(p)))
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
        # libpq-dev's pg_config may name a bin dir without the server tools, so check for initdb
        if out.returncode == 0:
            candidates.insert(0, out.stdout.strip())
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return candidate
    raise RuntimeError("PostgreSQL server binaries not found (run scripts/bootstrap.sh)")


def _major(bin_dir: str) -> int:
    name = Path(bin_dir).parent.name
    return int(name) if name.isdigit() else 0


class PgCluster:
    """``with PgCluster() as pg: pg.url`` -> ``postgresql+psycopg://postgres@127.0.0.1:PORT/equipment``."""

    def __init__(self, *, database: str = "equipment", bin_dir: str | None = None,
                 start_timeout: int = 30) -> None:
        self.database = database
        self.bin_dir = bin_dir or find_bin_dir()
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.base_dir: Path | None = None
        self._as_root = os.geteuid() == 0

    # -- addresses -------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of one database in this cluster."""
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str | None = None) -> str:
        """libpq URL for psycopg.connect()."""
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database or self.database}"

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "server.log"

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> "PgCluster":
        if self.base_dir is not None:
            return self
        self.base_dir = Path(tempfile.mkdtemp(prefix="pgcluster-"))
        try:
            self.socket_dir.mkdir()
            if self._as_root:
                self._chown_to_server_user(self.base_dir)
            self._run("initdb", "-D", str(self.data_dir), "-A", "trust", "-U", SERVER_USER,
                      "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
            self._start_on_free_port()
            self._create_template()
            self.create_database(self.database)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        if self.base_dir is None:
            return
        try:
            self.stop_server()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server but keep the data (an outage; start_server() brings it back)."""
        if self.data_dir.joinpath("postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w",
                      "-t", str(self.start_timeout), "stop", check=False)

    def start_server(self) -> None:
        """Start the server again on the same port."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w",
                  "-t", str(self.start_timeout), "-o", self._server_options(), "start")

    def restart(self, mode: str = "fast") -> None:
        """Stop and start on the same port: open connections break, data stays."""
        self.stop_server(mode)
        self.start_server()

    def create_database(self, name: str) -> str:
        """A new database with PostGIS; returns its SQLAlchemy URL."""
        self._admin(f'CREATE DATABASE "{_identifier(name)}" TEMPLATE {TEMPLATE}')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{_identifier(name)}" WITH (FORCE)')

    def __enter__(self) -> "PgCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------------------
    def _server_options(self) -> str:
        return (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")

    def _start_on_free_port(self, attempts: int = 3) -> None:
        # the free port may be taken by someone else before the server binds it: try another
        for attempt in range(attempts):
            self.port = free_port()
            try:
                self.start_server()
                return
            except PgError:
                if attempt == attempts - 1:
                    raise

    def _create_template(self) -> None:
        self._admin(f"CREATE DATABASE {TEMPLATE} IS_TEMPLATE true")
        with psycopg.connect(self.conninfo(TEMPLATE), autocommit=True, connect_timeout=10) as conn:
            conn.execute("CREATE EXTENSION postgis")

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.conninfo("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        cmd = [str(Path(self.bin_dir) / tool), *args]
        if self._as_root:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        # output goes to a pipe we read to the end: pg_ctl's server writes to the -l log instead,
        # otherwise it would inherit the pipe and this call would never return
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=self.start_timeout + 30,
                                cwd=self.base_dir)
        if check and result.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise PgError(f"{' '.join(cmd)} exited with {result.returncode}:\n"
                          f"{result.stdout}{result.stderr}\n{log}")

    @staticmethod
    def _chown_to_server_user(path: Path) -> None:
        entry = pwd.getpwnam(SERVER_USER)
        for item in [path, *path.rglob("*")]:
            os.chown(item, entry.pw_uid, entry.pw_gid)


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum() or '"' in name:
        raise ValueError(f"unsafe database name {name!r}")
    return name
