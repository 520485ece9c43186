"""A local Mosquitto 2.x broker that the platform runs itself (``equipment serve``, tests).

The platform's database is the source of truth for terminal credentials: it stores the ``$7$`` hash
from :func:`mosquitto_hash` and calls :meth:`LocalMosquitto.sync_terminals` with those hashes, so the
broker's password file is written without ever knowing a plain password again.

Observed behaviour of Mosquitto 2.0.11 (the Debian 12 package); tests/support/test_infra.py checks the
ACL, revocation, queue and restart points:

* Shared subscriptions and ACLs: with an ``acl_file`` alone every SUBSCRIBE is granted (SUBACK "Granted
  QoS 1" even for another terminal's topic or ``$share/ingest/...``, which then cost the platform a share of
  all messages): brokerguard's plugin refuses those at SUBSCRIBE. The ACL file is applied per message at
  delivery, against the real topic (``equipment/T1/state``), not the ``$share/<group>/...`` filter. So ``topic readwrite equipment/#`` is
  all the service user needs for ``$share/ingest/equipment/+/+``; a ``topic read $share/#`` line alone
  delivers nothing. A terminal subscribing to another terminal's topic gets a SUBACK but no messages.
* Revocation: on SIGHUP (:meth:`reload`) Mosquitto re-reads the password and ACL files and re-checks
  connected clients: a connected terminal whose user was removed, or whose password changed, is
  disconnected at once (so it cannot keep publishing on an old connection) and cannot reconnect. Other
  clients stay connected.
* Queues: with Mosquitto's default ``max_queued_messages 1000`` a persistent-session consumer that is
  offline during a burst of 100,000 QoS 1 messages gets 1,000 of them; the rest are dropped silently. With
  1,000,000 and no byte cap it got all 100,000 (in ~10 s), also across :meth:`restart`.
  ``max_inflight_messages`` (outgoing, per client; default 20) is raised to 1000 so that a consumer that
  acks only after its commit is not throttled to 20 messages per round trip; an MQTT v5 client can lower
  it with its Receive Maximum.
  (A paho publisher must keep fewer than 65,535 QoS 1 messages outstanding: message ids are 16 bit.)
* Persistence is a snapshot written on clean shutdown (SIGTERM) and every ``autosave_interval`` seconds:
  :meth:`restart` keeps queued messages and sessions; :meth:`kill` loses what came after the last save.
* When started as root, Mosquitto drops privileges to user ``mosquitto`` before it opens the password
  file, and then exits with "Unable to open pwfile" (our files are 0600, pytest's tmp dirs 0700). So when
  we are root the config says ``user root``; a non-root invoker is never changed.
* Shared subscriptions are not persisted: after a restart the broker knows the consumers' sessions but not
  their ``$share`` subscriptions until they subscribe again, and meanwhile answers a terminal's QoS 1
  PUBLISH with PUBACK 0x10 "No matching subscribers" (a *success* code) and drops it. Hence the gate
  (``admit_terminals_after``): terminals are left out of the password file until a client has subscribed
  to the shared filter; until then they are refused at CONNECT and keep their data, as they do while
  the broker is down.
* Mosquitto does not tie client id to username: terminal T2 connecting with client id ``T1`` (and T2's
  own credentials) was accepted and the real T1 was disconnected ("already connected, closing old
  connection"). ``use_username_as_clientid`` would prevent this but would also make N consumers sharing
  one service username kick each other; brokerguard's plugin refuses it for terminals only (at CONNECT,
  before the broker looks for the old connection, so T1 stays connected).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from equipment.telemetry.mqtt import brokerguard

HASH_ITERATIONS = 101  # what mosquitto_passwd 2.0 writes; the broker reads the count from each line
_SALT_BYTES = 12  # mosquitto_passwd uses a 12-byte salt
_HASH_RE = re.compile(r"\$7\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+")
_TERMINAL_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# a name that goes into line-based files: nothing that could break a line or the "user:hash" split
_USERNAME_RE = re.compile(r"[A-Za-z0-9_.@-]{1,128}")


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = HASH_ITERATIONS) -> str:
    """The ``$7$`` PBKDF2-SHA512 string Mosquitto 2 accepts in a password file (as mosquitto_passwd -b)."""
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_mosquitto_hash(password: str, hashed: str) -> bool:
    """True when ``password`` matches a ``$7$`` string from :func:`mosquitto_hash`."""
    if not is_mosquitto_hash(hashed):
        return False
    _, _, iterations, salt, _ = hashed.split("$")
    expected = mosquitto_hash(password, salt=base64.b64decode(salt), iterations=int(iterations))
    return hmac.compare_digest(expected, hashed)


def is_mosquitto_hash(value: str) -> bool:
    return bool(_HASH_RE.fullmatch(value))


def _as_hash(password_or_hash: str) -> str:
    # a stored hash is passed through; anything else is a plain password
    return password_or_hash if is_mosquitto_hash(password_or_hash) else mosquitto_hash(password_or_hash)


def _check_terminal_id(terminal_id: str) -> str:
    if not _TERMINAL_ID_RE.fullmatch(terminal_id):
        raise ValueError(f"invalid terminal_id {terminal_id!r}: 1-64 chars of [A-Za-z0-9_-]")
    return terminal_id


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _write_atomic(path: Path, text: str) -> None:
    # Mosquitto may re-read the file at any SIGHUP; it must never see a half-written one
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")  # 0600, unique per writer
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class BrokerError(RuntimeError):
    pass


class LocalMosquitto:
    """Runs ``mosquitto -c <state_dir>/mosquitto.conf`` on ``host:port``.

    Credential changes (:meth:`set_terminal`, :meth:`remove_terminal`, :meth:`sync_terminals`,
    :meth:`set_service_user`) rewrite the files at once but take effect only on :meth:`reload` (or the next
    start), so a bulk change costs one SIGHUP.
    """

    host = "127.0.0.1"

    def __init__(self, state_dir: str | os.PathLike, port: int | None = None, *,
                 executable: str | None = None, max_queued_messages: int = 1_000_000,
                 max_inflight_messages: int = 1000, autosave_interval: int = 30,
                 start_timeout: float = 10.0, admit_terminals_after: str | None = None,
                 max_packet_size: int = brokerguard.MAX_PACKET_SIZE,
                 terminal_budgets: tuple[str, str] = (brokerguard.STATE_BUDGET, brokerguard.EVENT_BUDGET)) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.port = port or _free_port(self.host)
        self.executable = executable or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.max_queued_messages = max_queued_messages
        self.max_inflight_messages = max_inflight_messages
        self.autosave_interval = autosave_interval
        self.start_timeout = start_timeout
        self.max_packet_size = max_packet_size
        self.terminal_budgets = terminal_budgets  # (states, events) per terminal: "per second/burst"
        self._service: tuple[str, str] | None = None
        self._terminals: dict[str, str] = {}  # terminal_id -> $7$ hash
        self._process: subprocess.Popen | None = None
        self._lock = threading.RLock()  # web threads may provision terminals concurrently
        self.reloads = 0  # SIGHUPs sent (tests check that bulk changes are batched)
        # e.g. "$share/ingest/": after each start, terminals may connect only once a consumer subscribed to it
        self.admit_terminals_after = admit_terminals_after
        self._admit = not admit_terminals_after  # terminals go into the files
        self._admitted = threading.Event()  # ... and the running broker has loaded them
        if self._admit:
            self._admitted.set()

    # -- paths ---------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def conf_path(self) -> Path:
        return self.state_dir / "mosquitto.conf"

    @property
    def password_path(self) -> Path:
        return self.state_dir / "passwd"

    @property
    def acl_path(self) -> Path:
        return self.state_dir / "acl"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "mosquitto.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- credentials ---------------------------------------------------------------------------------
    def set_service_user(self, username: str, password: str) -> None:
        if not _USERNAME_RE.fullmatch(username):
            raise ValueError(f"invalid service username {username!r}")
        if username in self._terminals:
            raise ValueError(f"service username {username!r} is already a terminal")
        with self._lock:
            self._service = (username, _as_hash(password))
            self._write_security_files()

    def set_terminal(self, terminal_id: str, password: str) -> None:
        """Add or change one terminal; ``password`` may be plain or a stored ``$7$`` hash."""
        with self._lock:
            self._terminals[self._terminal_key(terminal_id)] = _as_hash(password)
            self._write_security_files()

    def remove_terminal(self, terminal_id: str) -> None:
        with self._lock:
            self._terminals.pop(terminal_id, None)
            self._write_security_files()

    def sync_terminals(self, terminals: dict[str, str]) -> None:
        """Replace all terminals at once (e.g. from the database): ``{terminal_id: hash or password}``."""
        fresh = {self._terminal_key(tid): _as_hash(secret) for tid, secret in terminals.items()}
        with self._lock:
            self._terminals = fresh
            self._write_security_files()

    @property
    def terminal_ids(self) -> list[str]:
        return sorted(self._terminals)

    def _terminal_key(self, terminal_id: str) -> str:
        _check_terminal_id(terminal_id)
        if self._service and terminal_id == self._service[0]:
            raise ValueError(f"terminal_id {terminal_id!r} collides with the service user")
        return terminal_id

    @property
    def terminals_admitted(self) -> bool:
        return self._admitted.is_set()

    def wait_admitted(self, timeout: float | None = None) -> bool:
        return self._admitted.wait(timeout)

    @property
    def _listed_terminals(self) -> dict[str, str]:
        """The terminals the files name: none while the gate is closed."""
        return self._terminals if self._admit else {}

    def _write_security_files(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        users = dict(self._listed_terminals)
        if self._service:
            users[self._service[0]] = self._service[1]
        _write_atomic(self.password_path, "".join(f"{u}:{h}\n" for u, h in sorted(users.items())))
        _write_atomic(self.acl_path, self._acl_text())

    def _acl_text(self) -> str:
        lines = ["# written by equipment.telemetry.mqtt.broker; edits are overwritten", ""]
        if self._service:
            # $share/<group>/equipment/... deliveries are checked against the real topic, so this covers them
            lines += [f"user {self._service[0]}", "topic readwrite equipment/#", ""]
        for tid in sorted(self._listed_terminals):
            lines += [f"user {tid}",
                      f"topic write equipment/{tid}/state",
                      f"topic write equipment/{tid}/event",
                      f"topic write equipment/{tid}/online",
                      f"topic read equipment/{tid}/cmd", ""]
        return "\n".join(lines)

    def _conf_text(self) -> str:
        lines = [
            "# written by equipment.telemetry.mqtt.broker; edits are overwritten",
            "per_listener_settings false",
            f"listener {self.port} {self.host}",
            "allow_anonymous false",
            f"password_file {self.password_path}",
            f"acl_file {self.acl_path}",
            "persistence true",
            f"persistence_location {self.state_dir}/",
            "persistence_file mosquitto.db",
            f"autosave_interval {self.autosave_interval}",
            # a burst to a slow or offline persistent consumer must be queued, not dropped
            f"max_queued_messages {self.max_queued_messages}",
            "max_queued_bytes 0",
            f"max_inflight_messages {self.max_inflight_messages}",
            "log_dest stderr",
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "connection_messages true",
        ]
        lines += brokerguard.conf_lines([self._service[0]] if self._service else [],
                                        brokerguard.guard_plugin_path(fallback_dir=self.state_dir),
                                        max_packet_size=self.max_packet_size, budgets=self.terminal_budgets)
        if self.admit_terminals_after:
            lines.append("log_type subscribe")  # how the gate sees the consumers' subscriptions
        if os.geteuid() == 0:
            lines.append("user root")  # see module docstring: dropping to 'mosquitto' breaks file access
        return "\n".join(lines) + "\n"

    # -- process -------------------------------------------------------------------------------------
    def start(self) -> "LocalMosquitto":
        if self.is_running():
            return self
        if not Path(self.executable).exists():
            raise BrokerError(f"mosquitto not found at {self.executable} (run scripts/bootstrap.sh)")
        if not _port_is_free(self.host, self.port):
            # a stale broker on our port would pass the readiness check and hide our failure
            raise BrokerError(f"port {self.host}:{self.port} is already in use")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.admit_terminals_after:
            self._admit = False
            self._admitted.clear()
        self._write_security_files()
        _write_atomic(self.conf_path, self._conf_text())
        log_offset = self._log_size()
        log = open(self.log_path, "ab")
        try:
            self._process = subprocess.Popen(
                [self.executable, "-c", str(self.conf_path)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, cwd=self.state_dir,
                start_new_session=True)  # a Ctrl-C in the terminal reaches us, and we stop it in order
        finally:
            log.close()
        self._wait_ready()
        if self.admit_terminals_after:
            threading.Thread(target=self._gate, args=(self._process, log_offset), daemon=True,
                             name="mosquitto-gate").start()
        return self

    def _gate(self, process: subprocess.Popen, offset: int) -> None:
        """Admit the terminals once the log shows a subscription to the shared filter (by any consumer)."""
        needle = f" {self.admit_terminals_after}".encode()
        carry = b""  # read on from where we were: refused terminals' reconnects make the log grow fast
        while process.poll() is None and self._process is process:
            with open(self.log_path, "rb") as fh:
                fh.seek(offset)
                chunk = carry + fh.read()
            offset += len(chunk) - len(carry)
            carry = chunk[-len(needle):]
            if needle in chunk:
                with self._lock:
                    self._admit = True
                    self._write_security_files()
                try:
                    self.reload()
                except BrokerError:
                    return  # stopped meanwhile: the next start gates again
                self._admitted.set()
                return
            time.sleep(0.05)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrokerError(f"mosquitto exited with {self._process.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise BrokerError(f"mosquitto not accepting on {self.url} after {self.start_timeout}s: "
                          f"{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, which also writes the persistence file; SIGKILL if it does not exit in time."""
        self._signal_and_wait(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL: a crash, for tests; anything after the last autosave is lost."""
        self._signal_and_wait(signal.SIGKILL, 5.0)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _signal_and_wait(self, sig: int, timeout: float) -> None:
        proc, self._process = self._process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5.0)

    def reload(self, timeout: float = 5.0) -> None:
        """SIGHUP: re-read password and ACL files without dropping other clients.

        Returns once the broker has logged the reload. It applies the files in the same loop iteration
        before it reads from any socket again, so a connection opened after this returns sees the new files.
        """
        if not self.is_running():
            return
        self.reloads += 1
        offset = self._log_size()  # only read what is logged after our signal: the log can be long
        self._process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while not self._logged_since(offset, b"Reloading config"):
            if time.monotonic() > deadline:
                raise BrokerError(f"mosquitto did not confirm reload within {timeout}s")
            time.sleep(0.01)

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _logged_since(self, offset: int, needle: bytes) -> bool:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(offset)
                return needle in fh.read()
        except FileNotFoundError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        start = max(0, self._log_size() - 200 * lines)
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(start)
                text = fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> "LocalMosquitto":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
