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


EXCEPTIONS = [  # (the ignore line in .importlinter, what lint-imports says once it is gone)
    ("equipment.auth.service -> equipment.registry.service",
     "equipment.auth is not allowed to import equipment.registry"),
    ("equipment.emergency.service -> equipment.emergency.public",
     "No cycles are allowed in equipment.emergency"),
]


@pytest.mark.slow
def test_contracts_hold_and_each_exception_is_needed(tmp_path):
    config = ROOT / ".importlinter"
    kept = _lint(config)
    assert kept.returncode == 0, kept.stdout[-3000:]
    text = config.read_text()
    for line, complaint in EXCEPTIONS:
        without = re.sub(r"\n    " + re.escape(line), "", text)
        assert without != text, line
        stripped = tmp_path / "importlinter.ini"
        stripped.write_text(without)
        broken = _lint(stripped)
        assert broken.returncode != 0 and complaint in broken.stdout, broken.stdout[-3000:]


@pytest.mark.slow
def test_a_cycle_inside_a_package_fails_the_check(tmp_path):
    """The acyclic contract sees in-function imports too: the registry's importer calling back into the
    service (the cycle this contract was written after) is reported."""
    shadow = tmp_path / "equipment"
    subprocess.run(["cp", "-r", str(ROOT / "equipment"), str(shadow)], check=True)
    importer = shadow / "registry" / "importer.py"
    importer.write_text(importer.read_text() + "\n\ndef _back():\n    from equipment.registry import service\n"
                        "    return service\n")
    result = subprocess.run([str(LINT), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0 and "No cycles are allowed in equipment.registry" in result.stdout, \
        result.stdout[-3000:] + result.stderr[-2000:]
