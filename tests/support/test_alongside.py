"""The `alongside` runner (tests/support/alongside.py) must not turn the soak into a test that cannot fail: a
failure in the child fails the suite with the child's words, a pass passes, and the rest of the suite runs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = '''
import pytest

@pytest.mark.alongside
def test_beside():
    print("soak: probe ran in the child")
    assert {outcome}, "the child saw this"

def test_plain():
    pass
'''


def _run(tmp_path: Path, outcome: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_probe.py").write_text(PROBE.format(outcome=outcome))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EQUIPMENT_ALONGSIDE": "1"}
    env.pop("EQUIPMENT_ALONGSIDE_CHILD", None)
    argv = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:schemathesis",
            "-p", "tests.support.alongside", "test_probe.py"]
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_a_failure_in_the_child_fails_the_run_with_its_words(tmp_path):
    out = _run(tmp_path, "1 == 2")
    assert out.returncode == 1, out.stdout
    assert "FAILED test_probe.py::test_beside (alongside)" in out.stdout
    assert "the child saw this" in out.stdout and "1 passed" in out.stdout  # test_plain ran in the parent


def test_a_pass_in_the_child_passes(tmp_path):
    out = _run(tmp_path, "True")
    assert out.returncode == 0, out.stdout
    assert "PASSED test_probe.py::test_beside (alongside)" in out.stdout and "2 passed" in out.stdout
    assert "soak: probe ran in the child" in out.stdout  # its summary line is kept in the report
