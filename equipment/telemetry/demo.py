"""Demo city: terminals for some elevators and the simulator publishing to the embedded broker.

Credentials live in instance/demo-terminals.jsonl (mode 600): the platform itself keeps only hashes,
so the simulator needs its own copy, as a real terminal keeps its password in its own flash.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from sqlalchemy import select

from equipment.core.actor import SYSTEM, acting_as
from equipment.extensions import db
from equipment.registry import service as registry
from equipment.telemetry import service
from equipment.telemetry.simulator import run_simulator

log = logging.getLogger("equipment.telemetry.demo")
DEMO_TERMINALS = 30


def _credentials(app) -> list[dict]:
    path = Path(app.config["INSTANCE_DIR"]) / "demo-terminals.jsonl"
    if path.exists():
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    with app.app_context(), acting_as(SYSTEM):
        units = registry.unit_view()
        ids = db.session.scalars(select(units.c.id).where(units.c.family == "elevator")
                                 .order_by(units.c.id).limit(DEMO_TERMINALS)).all()
        creds = [service.provision_terminal(actor=SYSTEM, equipment_id=i) for i in ids]
    path.write_text("".join(json.dumps(c) + "\n" for c in creds))
    os.chmod(path, 0o600)
    return creds


def start_simulator(app):
    creds = _credentials(app)
    stop = threading.Event()

    def run():
        try:
            run_simulator(credentials=creds, rate=0.2, scenario="mixed", duration=10**9, stop=stop)
        except Exception:  # the demo goes on without a simulator rather than dying
            log.exception("simulator stopped")
    thread = threading.Thread(target=run, name="simulator", daemon=True)
    thread.start()
    log.info("simulator started with %d terminals", len(creds))

    def stopper():
        stop.set()
        thread.join(timeout=10)
    return stopper
