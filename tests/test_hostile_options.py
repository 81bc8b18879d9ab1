"""Red team: command-line values that parse but make no sense -- --months 100000, a
period running back before 1900, --out naming a file, --wait nan -- are refused as usage
(exit 2, one line naming the option) or handled, never an internal error (exit 1) or a
run that waits for ever."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from eolneeds.errors import UsageError
from eolneeds.periods import preceding_windows, rolling

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "EOLNEEDS_KEY": "test-key-not-secret"},
                          timeout=120)


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("months", [0, -1, 121, 100_000, 10**20])
def test_months_outside_one_to_120_are_refused_naming_the_option(months):
    with pytest.raises(UsageError) as refused:
        rolling("2026-10", months)
    assert str(refused.value) == (f"--months {months}: give a number of months from 1 to "
                                  "120, e.g. --months 12")


def test_the_longest_period_is_read():
    period = rolling("2026-10", 120)
    assert (period.start, period.end) == (date(2016, 11, 1), date(2026, 10, 31))


def test_earlier_windows_stop_at_the_data_rather_than_run_before_1900():
    # --period-end 1900-01: the window before it would end in December 1899.
    current = rolling("1900-01", 1)
    assert preceding_windows(current, 3, date(1900, 1, 1)) == [current]


def test_out_naming_a_file_is_a_usage_error_before_any_work(project):
    done = _cli("assess", "--project", str(project), "--out", str(project / "eolneeds.toml"))
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"Error: --out {project / 'eolneeds.toml'} is a file — name a "
                           "folder for the outputs (it is created if it does not exist)\n")


@pytest.mark.parametrize("wait", ["nan", "-5", "inf"])
def test_a_wait_that_is_not_a_number_of_seconds_is_refused(project, wait):
    done = _cli("run", "--month", "2026-10", "--project", str(project), "--wait", wait)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"Error: --wait {float(wait):g}: give the seconds to wait for "
                           "another run's lock, 0 or more, e.g. --wait 600\n")
