"""Where the broker is and how its credentials follow the database.

Two set-ups (DESIGN.md): an operator's broker (EQUIPMENT_MQTT_URL set; its credentials are managed
outside the platform) or the embedded LocalMosquitto that `equipment serve` runs in <instance>/mosquitto.
For the embedded one the database is the source of truth: every terminal change rewrites the password and
ACL files from the terminals table and sends SIGHUP. Any process of the install (web, CLI) can do that:
the running broker's port and pid are in <instance>/mosquitto/broker.json.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import select

from equipment.extensions import db
from equipment.telemetry.models import Terminal
from equipment.telemetry.mqtt.broker import BrokerError, LocalMosquitto, _port_is_free, mosquitto_hash

log = logging.getLogger("equipment.telemetry.mqtt.broker")
SERVICE_USER = "platform-ingest"
EXTENSION_KEY = "telemetry_broker"
SYNC_KEY = "telemetry_broker_sync"
SHARE_PREFIX = "$share/ingest/"  # the consumers' share group: N consumers split one stream


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool = False


def active_credentials() -> dict[str, str]:
    """{terminal_id: $7$ hash} of every active terminal: what the broker's password file must hold."""
    rows = db.session.execute(select(Terminal.terminal_id, Terminal.mqtt_password_hash)
                              .where(Terminal.status == "active")).all()
    return {r.terminal_id: r.mqtt_password_hash for r in rows}


def state_dir(app=None) -> Path:
    app = app or current_app
    return Path(app.config["INSTANCE_DIR"]) / "mosquitto"


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _write_private(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)


def service_credentials(app=None) -> tuple[str, str]:
    """The platform consumer's own broker account for the embedded broker (created on first use)."""
    path = state_dir(app) / "service.json"
    data = _read_json(path)
    if not data:
        data = {"username": SERVICE_USER, "password": secrets.token_urlsafe(24)}
        _write_private(path, data)
    return data["username"], data["password"]


def parse_url(url: str, username: str | None = None, password: str | None = None) -> Connection:
    parts = urlsplit(url)
    tls = parts.scheme in ("mqtts", "ssl", "tls")
    user = unquote(parts.username) if parts.username else username
    pwd = unquote(parts.password) if parts.password else password
    return Connection(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), user, pwd, tls)


def reachable() -> str:
    """/readyz: can this process reach the MQTT broker (a TCP connect, the cheapest honest probe)?"""
    url = public_url()
    if not url:
        return "not configured"
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 1883), timeout=1):
            return "ok"
    except OSError as err:
        return f"error: {err.__class__.__name__}"


def public_url(app=None) -> str:
    """What a terminal is told to connect to (no credentials in it)."""
    app = app or current_app
    if app.config.get("MQTT_URL"):
        parts = urlsplit(app.config["MQTT_URL"])
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 1883}"
    broker = app.extensions.get(EXTENSION_KEY)
    if broker is not None:
        return broker.url
    info = _read_json(state_dir(app) / "broker.json")
    return info["url"] if info else ""


def consumer_connection(app=None) -> Connection:
    app = app or current_app
    if app.config.get("MQTT_URL"):
        return parse_url(app.config["MQTT_URL"], os.environ.get("EQUIPMENT_MQTT_USERNAME"),
                         os.environ.get("EQUIPMENT_MQTT_PASSWORD"))
    broker = app.extensions.get(EXTENSION_KEY)
    info = {"url": broker.url} if broker is not None else _read_json(state_dir(app) / "broker.json")
    if not info:
        raise RuntimeError("no EQUIPMENT_MQTT_URL and no embedded broker running (start `equipment serve`)")
    user, pwd = service_credentials(app)
    return parse_url(info["url"], user, pwd)


def start_embedded(app, port: int | None = None) -> LocalMosquitto:
    # Terminals are admitted once a consumer has subscribed (broker.py: shared subscriptions are not persisted,
    # so a terminal let in earlier would have its messages acknowledged and dropped).
    _take_over_orphan(app)
    broker = LocalMosquitto(state_dir(app), port=port or _preferred_port(), admit_terminals_after=SHARE_PREFIX)
    user, pwd = service_credentials(app)
    broker.set_service_user(user, pwd)
    with app.app_context():
        broker.sync_terminals(active_credentials())
    broker.start()
    _write_private(state_dir(app) / "broker.json", {
        "url": broker.url, "port": broker.port, "pid": broker.pid, "pid_start": _started(broker.pid),
        "owner": os.getpid(), "owner_start": _started(os.getpid()),
        "service_user": user, "service_hash": mosquitto_hash(pwd)})
    app.extensions[EXTENSION_KEY] = broker
    log.info("embedded mosquitto on %s (pid %s)", broker.url, broker.pid)
    return broker


def _take_over_orphan(app) -> None:
    """A platform ended without its shutdown (SIGKILL, out of memory, a second signal mid-stop) leaves its
    broker running, in its own session: it would hold the port the terminals are told to use and acknowledge
    their messages with no consumer behind it, on the persistence file ours is about to use. Stop it, unless
    the platform that started it still runs (two `serve` on one instance is refused, not fought over)."""
    info = _read_json(state_dir(app) / "broker.json")
    if not info:
        return
    owner = info.get("owner")
    if owner != os.getpid() and _same_process(owner, info.get("owner_start")):
        raise BrokerError(f"pid {owner} already runs the embedded broker of this instance ({state_dir(app)}); "
                          "stop it first or give this process another EQUIPMENT_INSTANCE_DIR")
    pid = info.get("pid")
    if _same_process(pid, info.get("pid_start")):
        log.warning("stopping the broker (pid %s) that a platform which ended without its shutdown left running",
                    pid)
        _end(int(pid))


def _started(pid) -> str | None:
    """The process's start time (since boot) from /proc: with the pid, it names one process, not a reused pid."""
    try:
        return Path(f"/proc/{int(pid)}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, ValueError, IndexError, TypeError):
        return None


def _same_process(pid, started) -> bool:
    """Only with a recorded start time: a bare pid may by now be any process (after a reboot, or a broker.json
    from before start times were kept), and is neither stopped nor taken as a running platform."""
    return started is not None and _alive(pid) and _started(pid) == started


def _end(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM (Mosquitto writes its persistence file), SIGKILL if it has not gone in time."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)


def _preferred_port() -> int | None:
    wanted = int(os.environ.get("EQUIPMENT_MQTT_PORT", "1883"))
    return wanted if _port_is_free("127.0.0.1", wanted) else None


def stop_embedded(app) -> None:
    broker = app.extensions.pop(EXTENSION_KEY, None)
    if broker is not None:
        broker.stop()
    try:
        (state_dir(app) / "broker.json").unlink()
    except FileNotFoundError:
        pass


class _Coalesced:
    """Group commit for broker syncs: every caller has committed its change before it asks, and returns
    once a sync that *started* after it asked has finished. One sync (file rewrite + one SIGHUP) covers
    everyone who asked before it started (after a short window), so a burst of provisionings costs a few
    reloads, not one each (each reload re-reads every terminal's line)."""

    def __init__(self, window_s: float = 0.05):
        self.window_s = window_s
        self._cond = threading.Condition()
        self._asked = self._finished = 0
        self._running, self._result = False, False
        self.runs = 0

    def run(self, fn):
        with self._cond:
            self._asked += 1
            ticket = self._asked
            while self._finished < ticket:
                if not self._running:
                    self._running = True
                    break
                self._cond.wait()
            else:
                return self._result
        time.sleep(self.window_s)  # let provisionings that are committing right now join this sync
        with self._cond:
            covered = self._asked
        try:
            result = fn()
        except BaseException:
            with self._cond:
                self._running = False  # a waiter takes over and tries again
                self._cond.notify_all()
            raise
        with self._cond:
            self._running, self._finished, self._result = False, max(self._finished, covered), result
            self.runs += 1
            self._cond.notify_all()
        return result


_SYNC_LOCK = threading.Lock()


def sync_from_db() -> bool:
    """Rewrite the embedded broker's password/ACL files from the terminals table and reload it
    (concurrent callers of one app share one reload)."""
    app = current_app._get_current_object()
    with _SYNC_LOCK:
        coalesced = app.extensions.setdefault(SYNC_KEY, _Coalesced())
    return coalesced.run(lambda: _sync_now(app))


def _sync_now(app) -> bool:
    broker = app.extensions.get(EXTENSION_KEY)
    if broker is not None:
        broker.sync_terminals(active_credentials())
        broker.reload()
        return True
    if app.config.get("MQTT_URL"):
        return False  # an operator's broker: credentials are provisioned there by its own tooling
    info = _read_json(state_dir(app) / "broker.json")
    if not info or not _same_process(info.get("pid"), info.get("pid_start")):
        return False  # no broker, or a pid that is no longer ours: a SIGHUP would end whatever has it now
    offline = LocalMosquitto(state_dir(app), port=info["port"])  # not started: only writes the files
    offline.set_service_user(info["service_user"], info["service_hash"])
    offline.sync_terminals(active_credentials())
    os.kill(info["pid"], signal.SIGHUP)
    return True


def purge_session(client_id: str, timeout: float = 5.0) -> bool:
    """Drop the broker's session of ``client_id`` (its subscriptions and queued messages): the consumer's
    service account connects with that client id, a clean start and no session expiry, and leaves. The
    guard (brokerguard) lets only service users pick any client id; without it, or if the broker is
    unreachable, the session lives until the broker's cap (persistent_client_expiration) drops it."""
    app = current_app
    try:
        conn = consumer_connection(app)
    except RuntimeError:
        return False  # no broker running (tests, CLI without `serve`): nothing holds a session
    try:
        return _connect_clean(conn, client_id, timeout)
    except OSError as err:
        log.warning("could not purge the broker session of %s: %s (it expires by itself)", client_id, err)
        return False


def _connect_clean(conn: Connection, client_id: str, timeout: float) -> bool:
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(conn.username, conn.password)
    if conn.tls:
        client.tls_set()
    outcome = {}
    client.on_connect = lambda _c, _u, _f, rc, _p: outcome.setdefault("rc", rc)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    client.connect(conn.host, conn.port, keepalive=10, clean_start=True, properties=props)
    deadline = time.monotonic() + timeout
    while "rc" not in outcome and time.monotonic() < deadline:
        client.loop(0.1)
    ok = "rc" in outcome and not outcome["rc"].is_failure
    client.disconnect()
    client.loop(0.1)
    if not ok:
        log.warning("broker refused the session purge of %s: %s", client_id, outcome.get("rc"))
    return ok


def _alive(pid) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
        return True
    except OSError:
        return False
