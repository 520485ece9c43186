"""Where browser tests write their screenshots: $EQUIPMENT_SCREENSHOTS (CI sets it to the folder it keeps as
an artifact), else a temp directory, so a test run never changes the repository. docs/screenshots/ is the
committed set, refreshed on purpose:
    EQUIPMENT_SCREENSHOTS=docs/screenshots .venv/bin/pytest -m slow tests/workspace/test_roles_browser.py"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def shots_dir() -> Path:
    return Path(os.environ.get("EQUIPMENT_SCREENSHOTS") or Path(tempfile.gettempdir()) / "equipment-screenshots")
