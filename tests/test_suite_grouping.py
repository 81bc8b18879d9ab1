"""The suite's own scheduling (tests/conftest.py): under `--dist loadgroup` the tests of
a module with a module-scoped fixture run in one worker, so the fixture is built once.

pytest 9 silently broke pytest-xdist 3.8's grouping (every module fixture was built in
both workers, and again whenever a worker came back to its module); this runs a small
two-worker session through the suite's own conftest and counts the builds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

MODULE = '''
import os
from pathlib import Path

import pytest

LOG = Path(__file__).with_name("log.txt")


def note(what):
    with LOG.open("a", encoding="utf-8") as fh:
        fh.write(f"{what} {Path(__file__).stem} {os.environ['PYTEST_XDIST_WORKER']}\\n")


@pytest.fixture(scope="module")
def built():
    note("build")


@pytest.mark.parametrize("n", range(6))
def test_uses_the_fixture(built, n):
    note("run")


@pytest.mark.slow
def test_slow_one(built):
    note("run")
'''

PLAIN = '''
import pytest


@pytest.mark.parametrize("n", range(12))
def test_plain(n):
    pass
'''


def test_a_module_fixture_is_built_once_and_its_tests_share_a_worker(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    for name in ("test_first", "test_second"):
        (tmp_path / f"{name}.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "test_plain.py").write_text(PLAIN, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
         "--dist", "loadgroup", "--rootdir", str(tmp_path), "-c", str(tmp_path / "pytest.ini"),
         str(tmp_path)],
        capture_output=True, text=True, encoding="utf-8", timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line.split() for line in (tmp_path / "log.txt").read_text(
        encoding="utf-8").splitlines()]
    for module in ("test_first", "test_second"):
        builds = [worker for what, mod, worker in lines if what == "build" and mod == module]
        runs = {worker for what, mod, worker in lines if what == "run" and mod == module}
        assert len(builds) == 1, (module, lines)
        assert runs == set(builds), (module, lines)
    assert sum(what == "run" for what, _, _ in lines) == 14
