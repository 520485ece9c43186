"""The README's run command (scripts/run.sh) brings up the platform on its embedded default with demo data;
its public scan page, screenshotted in headless Chromium, shows a unit's status."""
import os
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.support.live import launch_chromium
from tests.support.ports import free_port

pytestmark = pytest.mark.slow  # browser, broker or processes: after the plain tests

ROOT = Path(__file__).resolve().parent.parent
SHOTS = os.environ.get("EQUIPMENT_SCREENSHOT_DIR", tempfile.gettempdir())


def _wait_healthy(url: str, proc, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"scripts/run.sh exited with {proc.returncode}")
        try:
            if urllib.request.urlopen(url + "/healthz", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("the platform did not come up")


def _a_tag(db_path: str) -> tuple[str, str]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT q.tag, e.rescue_code FROM qr_tags q JOIN equipment e ON e.id = q.equipment_id "
                            "WHERE q.active AND e.family = 'elevator' ORDER BY e.id LIMIT 1").fetchone()
    finally:
        conn.close()


@pytest.mark.timeout(240)
def test_readme_run_command_serves_public_page_with_status():
    inst, port = tempfile.mkdtemp(prefix="equipment-run-"), free_port()
    env = {**os.environ, "EQUIPMENT_INSTANCE_DIR": inst, "EQUIPMENT_PORT": str(port),
           "EQUIPMENT_MQTT_PORT": str(free_port())}
    env.pop("EQUIPMENT_DATABASE_URL", None)
    env.pop("EQUIPMENT_MQTT_URL", None)
    proc = subprocess.Popen(["bash", "scripts/run.sh", "--elevators", "40"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        assert Path(inst, "equipment.db").exists()  # the embedded default: SQLite + SpatiaLite under instance/
        assert Path(inst, "mosquitto", "broker.json").exists()  # and its own local Mosquitto
        tag, rescue_code = _a_tag(os.path.join(inst, "equipment.db"))
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 390, "height": 844})
            assert page.goto(f"{base}/q/{tag}").status == 200
            badge = page.locator("#public-status .badge")
            assert badge.get_attribute("data-status") in ("in_service", "overdue", "suspended")
            assert badge.inner_text().strip()
            assert rescue_code in page.locator("#public-status").inner_text()
            page.screenshot(path=os.path.join(SHOTS, "readme-run-public-page.png"), full_page=True)
            browser.close()
    finally:
        broker_pid = _broker_pid(inst)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # The broker runs in its own session (a Ctrl-C in the terminal reaches only the platform, which stops it in
    # order): SIGTERM, as from systemd or docker, must stop it too, not leave it holding the port.
    assert proc.returncode == 0
    assert broker_pid and _gone(broker_pid, 10), f"mosquitto {broker_pid} outlived the platform"


def _broker_pid(inst: str) -> int | None:
    import json
    try:
        return json.loads(Path(inst, "mosquitto", "broker.json").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def _gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
