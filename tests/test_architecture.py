"""The layering (docs/architecture.md, .importlinter) holds, and its exceptions are load-bearing: removing one
makes the check fail, so an exception cannot outlive the debt it records unnoticed."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(config), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_contracts_hold_and_each_exception_is_needed(tmp_path):
    config = ROOT / ".importlinter"
    kept = _lint(config)
    assert kept.returncode == 0, kept.stdout[-3000:]
    text = config.read_text()
    without = re.sub(r"\n    equipment\.auth\.service -> equipment\.registry\.service", "", text)
    assert without != text
    stripped = tmp_path / "importlinter.ini"
    stripped.write_text(without)
    broken = _lint(stripped)
    assert broken.returncode != 0 and "equipment.auth is not allowed to import equipment.registry" in broken.stdout
