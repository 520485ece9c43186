"""`equipment serve` and its embedded Mosquitto end together, however the platform ends.

The broker runs in its own session (a Ctrl-C reaches only the platform, which stops it in order), so nothing
but the platform's own shutdown stops it. Found on a live probe: a second SIGTERM during that shutdown (coreutils
`timeout` forwarding its own, an operator pressing twice) cut the stop sequence and left the broker running,
and a platform killed outright leaves it too; the next `serve` on that instance then moved to another port while
the orphan kept acknowledging the terminals' messages on the one they were told to use, with nobody consuming.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.ports import free_port

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent / "equipment"


def _env(inst: Path, mqtt_port: int) -> dict:
    env = {**os.environ, "EQUIPMENT_INSTANCE_DIR": str(inst), "EQUIPMENT_MQTT_PORT": str(mqtt_port)}
    for key in ("EQUIPMENT_DATABASE_URL", "EQUIPMENT_MQTT_URL"):
        env.pop(key, None)
    return env


def _running(inst: Path, started: list, mqtt_port: int, log_name: str = "first.log"):
    """A serve that is up: (its process, its web port, its broker's pid)."""
    proc, port = _serve(inst, mqtt_port, log_name)
    started.append(proc)
    _serving(proc, port)
    return proc, port, _broker(inst)["pid"]


def _serve(inst: Path, mqtt_port: int, log_name: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = open(inst / log_name, "ab")
    proc = subprocess.Popen(["timeout", "120", str(BIN), "serve", "--port", str(port)], env=_env(inst, mqtt_port),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return proc, port


def _serving(proc: subprocess.Popen, port: int, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"serve exited with {proc.returncode}"
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("serve did not come up")


def _platform_pid(proc: subprocess.Popen) -> int:
    """The `equipment` process itself (the child of `timeout`)."""
    return int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])


def _broker(inst: Path) -> dict:
    return json.loads((inst / "mosquitto" / "broker.json").read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def instance(tmp_path):
    subprocess.run([str(BIN), "db", "upgrade", "heads"], env=_env(tmp_path, 0), check=True, capture_output=True)
    started: list[subprocess.Popen] = []
    yield tmp_path, started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    for pid in _brokers_of(tmp_path):  # whatever the test left (also when the fix is missing): none outlives it
        os.kill(pid, signal.SIGKILL)


def _brokers_of(inst: Path) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(inst).encode() in (proc / "cmdline").read_bytes() and b"mosquitto" in (proc / "comm").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_two_sigterms_in_a_row_still_stop_the_broker(instance):
    inst, started = instance
    proc, _, broker = _running(inst, started, free_port(), "serve.log")
    platform = _platform_pid(proc)
    os.kill(platform, signal.SIGTERM)
    time.sleep(0.05)
    os.kill(platform, signal.SIGTERM)  # mid-shutdown: it used to cut the stop sequence
    assert proc.wait(40) == 0, (inst / "serve.log").read_text()[-2000:]
    assert _gone(broker, 10), f"mosquitto {broker} outlived the platform"


def test_a_killed_platforms_broker_is_taken_over_on_the_next_start(instance):
    inst, started = instance
    mqtt_port = free_port()
    first, _, orphan = _running(inst, started, mqtt_port)
    os.killpg(first.pid, signal.SIGKILL)  # no shutdown at all
    first.wait(10)
    assert _alive(orphan), "the test needs the broker to outlive a killed platform"

    _running(inst, started, mqtt_port, "second.log")
    assert _gone(orphan, 15), "the orphaned broker still runs"
    info = _broker(inst)
    assert info["port"] == mqtt_port, "the new broker must listen where the terminals were told to connect"
    assert info["pid"] != orphan and _alive(info["pid"])
    assert "ended without its shutdown" in (inst / "second.log").read_text()


def test_a_second_serve_on_a_running_instance_is_refused_and_the_first_keeps_its_broker(instance):
    inst, started = instance
    _, port, broker = _running(inst, started, free_port())

    second, _ = _serve(inst, free_port(), "second.log")
    started.append(second)
    assert second.wait(60) != 0
    assert "already runs the embedded broker of this instance" in (inst / "second.log").read_text()
    assert _alive(broker) and _broker(inst)["pid"] == broker
    assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200


def test_a_stale_broker_json_never_signals_a_process_that_only_shares_its_pid(tmp_path):
    """After a reboot (or from before start times were kept) broker.json may name pids that are now other
    processes: they are neither stopped, nor taken as a running platform, nor sent the reload's SIGHUP."""
    from flask import Flask

    from equipment.telemetry.mqtt import brokerctl
    app = Flask(__name__)
    app.config["INSTANCE_DIR"] = str(tmp_path)
    strangers = [subprocess.Popen(["sleep", "60"]) for _ in range(2)]
    try:
        (tmp_path / "mosquitto").mkdir()
        for extra in ({}, {"pid_start": "1", "owner_start": "1"}):  # no start times; start times of others
            (tmp_path / "mosquitto" / "broker.json").write_text(json.dumps(
                {"pid": strangers[0].pid, "owner": strangers[1].pid, "port": 1, **extra}))
            brokerctl._take_over_orphan(app)  # neither refused nor stopping anything
            assert brokerctl._sync_now(app) is False
            assert all(p.poll() is None for p in strangers), "a stranger was signalled"
    finally:
        for p in strangers:
            p.kill()
            p.wait(5)
