"""Tests marked `alongside` (the five-minute soak of the live pages) run in a child pytest that starts as soon as
the session has collected, so their minutes of waiting overlap the rest of the suite instead of adding to it
(the soak alone was a quarter of the suite's 21 minutes). In the report they stay one test each: the item waits
for the child at the end and fails with the child's output if the child failed.

Opt-in (EQUIPMENT_ALONGSIDE=1), only when other tests run too, never inside the child. Off by default: beside
the suite on 2 cores the soak missed its 已到场 step twice in seven full runs (the tap sent no request within
10 s), so CI runs it in line, as before, until that is understood. While the soak runs, the rest of the suite runs its plain tests first and
the ones marked `slow` (browsers, broker floods, process restarts, each with their own time bounds) after, so
the soak's 2-second bound is measured beside ordinary database tests, not beside a message flood.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

CHILD_ENV = "EQUIPMENT_ALONGSIDE_CHILD"


def pytest_configure(config):
    config.addinivalue_line("markers", "alongside: run in a child pytest beside the rest of the suite "
                                       "(tests/support/alongside.py)")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    if os.environ.get(CHILD_ENV) or os.environ.get("EQUIPMENT_ALONGSIDE", "0") != "1" or config.option.collectonly:
        return
    chosen = [item for item in items if item.get_closest_marker("alongside")]
    rest = [item for item in items if not item.get_closest_marker("alongside")]
    if not chosen or not rest:
        return
    child = Child([item.nodeid for item in chosen], cwd=config.rootpath)
    config.stash[_CHILD] = child
    waiter = AlongsideItem.from_parent(chosen[0].parent, name=f"{chosen[0].originalname} (alongside)", child=child)
    # sorted() is stable: within each group the files keep their order
    items[:] = sorted(rest, key=lambda item: item.get_closest_marker("slow") is not None) + [waiter]


_CHILD = pytest.StashKey["Child"]()


class Child:
    def __init__(self, nodeids: list[str], cwd: Path):
        self.nodeids = nodeids
        self.log = tempfile.NamedTemporaryFile(prefix="equipment-alongside-", suffix=".log", delete=False)
        env = {**os.environ, CHILD_ENV: "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                                      "-p", "no:schemathesis",  # its import alone is seconds; unused here
                                      "-o", "log_cli=false", *nodeids],
                                     cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self) -> tuple[int, str]:
        code = self.proc.wait()
        self.log.close()
        return code, Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class AlongsideFailed(Exception):
    pass


class AlongsideItem(pytest.Item):
    """Stands for the tests run in the child: passes when the child passed them all."""

    def __init__(self, *, child: Child, **kwargs):
        super().__init__(**kwargs)
        self.child = child

    def runtest(self):
        code, output = self.child.wait()
        summary = [line for line in output.splitlines() if line.startswith(("soak:", "FAILED", "ERROR"))]
        self.add_report_section("call", "alongside", "\n".join(summary) or output[-2000:])
        if code != 0:
            raise AlongsideFailed(f"{' '.join(self.child.nodeids)} (run beside the suite) exited {code}:\n"
                                  + _tail(output))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, AlongsideFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.name


def _tail(output: str, lines: int = 120) -> str:
    keep = [line for line in output.splitlines() if "werkzeug" not in line]  # request lines: noise here
    return "\n".join(keep[-lines:])


def pytest_unconfigure(config):
    child = config.stash.get(_CHILD, None)
    if child is not None:
        child.stop()  # an interrupted session leaves no soak behind
