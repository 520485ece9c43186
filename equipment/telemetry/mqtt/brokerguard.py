"""The broker-side limits every Mosquitto that terminals reach must have (embedded or an operator's).

Mosquitto 2.0's password and ACL files cannot refuse a SUBSCRIBE (so a terminal could join the platform's
``$share/ingest/`` group and make the broker drop a share of every terminal's messages), cannot tie a
client id to a username, and cannot refuse a retained message on one topic only. ``broker_guard.c`` (a
plugin of ~100 lines) refuses exactly those; the options below cap sizes and offline sessions. An
operator's broker needs the same lines: ``equipment telemetry broker-config`` prints them (docs/operations.md).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

GUARD_SOURCE = Path(__file__).with_name("broker_guard.c")
GUARD_ENV = "EQUIPMENT_MQTT_GUARD_PLUGIN"  # a prebuilt equipment_guard.so (hosts without a C compiler)
# PROTOCOL.md allows 4096-byte payloads: up to twice that still reaches the consumer and is counted as
# too_large there; a bigger terminal message is refused by the guard (PUBACK "not authorised" for MQTT 5).
MAX_PAYLOAD = 8192
MAX_PACKET_SIZE = 16384
# Per-terminal ceilings at the broker, "messages a second/burst": twice the consumer's budgets (config
# TERMINAL_*_BUDGET), which count what is over as rate_limited; beyond these the broker drops it, so a
# flood never queues ahead of other terminals' messages.
STATE_BUDGET = "40/200"
EVENT_BUDGET = "40/400"  # a bigger packet (e.g. a 20 MB payload) is cut off before the broker buffers it
# Offline sessions (a terminal's, or a squatter's from before this guard) are dropped after this long.
SESSION_EXPIRY_CAP = "2d"


class GuardBuildError(RuntimeError):
    pass


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "equipment"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def guard_plugin_path(fallback_dir: Path | None = None) -> Path:
    """The compiled guard: $EQUIPMENT_MQTT_GUARD_PLUGIN, else built once per source version into ~/.cache
    (or into `fallback_dir` where the home directory is not writable, e.g. a service account)."""
    prebuilt = os.environ.get(GUARD_ENV)
    if prebuilt:
        if not Path(prebuilt).is_file():
            raise GuardBuildError(f"{GUARD_ENV}={prebuilt} does not exist")
        return Path(prebuilt)
    digest = hashlib.sha256(GUARD_SOURCE.read_bytes()).hexdigest()[:16]
    try:
        directory = _cache_dir()
    except OSError:
        if fallback_dir is None:
            raise
        directory = fallback_dir
    target = directory / f"equipment_guard-{digest}.so"
    if not target.exists():
        build_guard(target)
    return target


def build_guard(target: Path) -> Path:
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        raise GuardBuildError(f"no C compiler to build {GUARD_SOURCE.name}; install gcc or set {GUARD_ENV}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".so")
    os.close(fd)
    try:
        done = subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-Wall", "-o", tmp, str(GUARD_SOURCE)],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise GuardBuildError(f"building {GUARD_SOURCE.name} failed: {done.stderr.strip()[-2000:]}")
        os.replace(tmp, target)  # concurrent builders each rename a complete file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def conf_lines(service_users: list[str], plugin: Path | None = None, max_packet_size: int = MAX_PACKET_SIZE,
               budgets: tuple[str, str] = (STATE_BUDGET, EVENT_BUDGET)) -> list[str]:
    """The mosquitto.conf lines of the limits (global: per_listener_settings false)."""
    plugin = plugin or guard_plugin_path()
    lines = [f"plugin {plugin}"]
    if service_users:
        lines.append(f"plugin_opt_service_users {','.join(service_users)}")
    return lines + [
        f"plugin_opt_max_payload {MAX_PAYLOAD}",
        f"plugin_opt_state_budget {budgets[0]}",
        f"plugin_opt_event_budget {budgets[1]}",
        f"max_packet_size {max_packet_size}",
        f"persistent_client_expiration {SESSION_EXPIRY_CAP}",
    ]
