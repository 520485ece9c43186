"""Helpers for the reliability tests: child processes that cannot outlive the test, counts, probes.

Every child runs under coreutils `timeout` in its own process group, so a test that dies (or a pytest that
is killed) still leaves nothing running for long, and `kill()` SIGKILLs the real process together with its
`timeout` parent. All servers bind 127.0.0.1.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NOISE = ("Running job", "executed successfully", "Added job", "GET /", "POST /")  # routine log lines


class Proc:
    def __init__(self, name: str, popen: subprocess.Popen, log: Path):
        self.name, self.popen, self.log = name, popen, log

    @property
    def pid(self) -> int:
        """The command's own pid (the child of `timeout`), e.g. what the process reports as os.getpid()."""
        children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        try:
            return int(children.read_text().split()[0])
        except (OSError, IndexError, ValueError):
            return -1

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL the whole group (the command and its `timeout`): a crash, nothing gets to clean up."""
        self.signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit status."""
        self.signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.popen.returncode

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, chars: int = 3000) -> str:
        lines = [line for line in self.log_text().splitlines() if not any(n in line for n in NOISE)]
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(lines)[-chars:]


class Procs:
    """The child processes of one test; `kill_all()` in a finally block (the fixture does it)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.items: list[Proc] = []

    def spawn(self, name: str, argv: list[str], *, env: dict, limit_s: int = 150) -> Proc:
        log = self.workdir / f"{name}.log"
        fh = open(log, "ab")
        try:
            popen = subprocess.Popen(["timeout", "-s", "KILL", str(limit_s), *argv], cwd=ROOT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                                     stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        finally:
            fh.close()
        proc = Proc(name, popen, log)
        self.items.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.items:
            if proc.alive():
                proc.kill()

    def tails(self) -> str:
        return "\n".join(p.tail() for p in self.items)


def with_app_name(url: str, name: str) -> str:
    """Tag a process's PostgreSQL sessions, so pg_stat_activity and triggers can tell processes apart."""
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def consumer_argv(client_id: str) -> list[str]:
    return [str(BIN / "equipment"), "telemetry", "consume", "--client-id", client_id]


# These scenarios push a fleet's load through ten terminals (1,000+ messages each in seconds): per-terminal
# budgets (issue 11, tests/telemetry/test_broker_abuse.py) are lifted so that they test delivery, not limits.
LIFTED_BUDGET = "1000000/1000000"


def consumer_env(db_url: str, broker, user: str, password: str, instance: Path) -> dict:
    instance.mkdir(parents=True, exist_ok=True)
    return {"EQUIPMENT_DATABASE_URL": db_url, "EQUIPMENT_MQTT_URL": f"mqtt://{broker.host}:{broker.port}",
            "EQUIPMENT_MQTT_USERNAME": user, "EQUIPMENT_MQTT_PASSWORD": password,
            "EQUIPMENT_INSTANCE_DIR": str(instance), "EQUIPMENT_TERMINAL_STATE_BUDGET": LIFTED_BUDGET,
            "EQUIPMENT_TERMINAL_EVENT_BUDGET": LIFTED_BUDGET}


def broker_connects(broker, client_id: str) -> int:
    """How often the broker logged `client_id` connecting (a persistent session exists after the first)."""
    return broker.log_tail(1_000_000).count(f" as {client_id} ")


class Db:
    """Plain psycopg on one test database: counts and probes without an app context."""

    def __init__(self, conninfo: str):
        self.conninfo = conninfo

    def rows(self, sql: str, params=None) -> list[tuple]:
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def one(self, sql: str, params=None) -> tuple:
        return self.rows(sql, params)[0]

    def execute(self, sql: str) -> None:
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def stored(self) -> tuple[int, int]:
        """(rows, distinct (terminal, boot, seq)) of state history: equal means nothing was doubled."""
        return self.one("SELECT count(*), count(DISTINCT (terminal_id, boot, seq)) FROM telemetry_states")

    def stored_or_none(self) -> tuple[int, int] | None:
        try:
            return self.stored()
        except psycopg.OperationalError:  # the server is restarting
            return None

    def keys(self) -> set[tuple[str, int, int]]:
        return set(self.rows("SELECT terminal_id, boot, seq FROM telemetry_states"))

    def diagnose(self, expected: set) -> dict:
        """What is missing (per terminal, as seq ranges) and what was rejected: for assertion messages."""
        missing: dict[str, list[int]] = {}
        for tid, _boot, seq in sorted(expected - self.keys()):
            missing.setdefault(tid, []).append(seq)
        ranges = {tid: _ranges(seqs) for tid, seqs in missing.items()}
        rejects = self.rows("SELECT reason, sum(count) FROM telemetry_rejects GROUP BY reason")
        return {"missing": sum(map(len, missing.values())), "ranges": ranges, "rejects": rejects}

    def track_writers(self) -> None:
        """Record which process (application_name) inserted each state row; conflicts insert nothing."""
        self.execute("""
            CREATE TABLE reliability_writers (app text NOT NULL, terminal_id text, boot bigint, seq bigint);
            CREATE FUNCTION reliability_track() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              INSERT INTO reliability_writers VALUES
                (current_setting('application_name'), NEW.terminal_id, NEW.boot, NEW.seq);
              RETURN NULL;
            END $$;
            CREATE TRIGGER reliability_track AFTER INSERT ON telemetry_states
              FOR EACH ROW EXECUTE FUNCTION reliability_track();""")

    def by_writer(self) -> dict[str, int]:
        return dict(self.rows("SELECT app, count(*) FROM reliability_writers GROUP BY app"))


    def reset_history(self) -> None:
        """Forget warm-up rows, so counts cover the burst alone."""
        self.execute("TRUNCATE telemetry_states")
        self.execute("DO $$ BEGIN IF to_regclass('reliability_writers') IS NOT NULL THEN "
                     "TRUNCATE reliability_writers; END IF; END $$")


def publish_one(broker, creds: dict, seq: int, boot: int = 0) -> None:
    """One QoS 1 state message with mosquitto_pub (exits non-zero if the broker does not take it)."""
    tid = creds["terminal_id"]
    payload = f'{{"seq":{seq},"boot":{boot},"ts":{int(time.time() * 1000)},"moving":false}}'
    subprocess.run(["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-u", tid,
                    "-P", creds["mqtt_password"], "-i", tid, "-q", "1", "-t", f"equipment/{tid}/state",
                    "-m", payload], check=True, timeout=10, capture_output=True)


def wait_subscribed(db: Db, broker, probe: dict, writers: set[str] | None = None, timeout: float = 30) -> bool:
    """Publish probe messages until they are stored (by each of `writers`, when their writes are tracked):
    proves the consumers' subscriptions exist before a burst, which a CONNACK alone does not."""
    from tests.telemetry.conftest import wait_until
    deadline = time.monotonic() + timeout
    seq = 0
    while time.monotonic() < deadline:
        seq += 1
        try:
            publish_one(broker, probe, seq)
        except subprocess.CalledProcessError:  # refused at CONNECT: no consumer has subscribed yet (the gate)
            time.sleep(0.2)
            continue
        if writers is None:
            done = wait_until(lambda: db.stored()[0] >= 1, 2.0)
        else:
            done = wait_until(lambda: writers <= set(db.by_writer()), 0.5)
        if done:
            db.reset_history()
            return True
    return False


def _ranges(seqs: list[int]) -> list[str]:
    out, start = [], None
    for i, seq in enumerate(seqs):
        if start is None:
            start = seq
        if i + 1 == len(seqs) or seqs[i + 1] != seq + 1:
            out.append(f"{start}-{seq}" if seq != start else str(seq))
            start = None
    return out
