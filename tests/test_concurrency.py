"""Two `eolneeds run` processes on one project: one runs, the other is turned away.

The overlap is made deterministic with the test hook EOLNEEDS_TEST_HOLD_LOCK_SECONDS
(run.py): the process that takes the lock sleeps while holding it, so the other one is
certain to find it taken.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sample_settings import primary_suppression_only

from eolneeds.reporting import Reporter

KEY = "concurrency-test-key"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
HOLD_S = 6  # comfortably longer than a Python start-up, so the runs surely overlap


def _small_project(tmp_path: Path) -> tuple[Path, str]:
    """A generated project (150 deaths) writing only the CSV; returns it and its month."""
    import eolneeds.sample as sample
    root = tmp_path / "proj"
    sample.write_sample(root, deaths=150, seed=3, reporter=Reporter(),
                        key_file=tmp_path / "sample.key")
    with (root / "eolneeds.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[outputs]\nformats = ["csv"]\nper_place = false\n')
    primary_suppression_only(root)  # these tests are about the lock (sample_settings.py)
    return root, str(sample.LAST_DAY.strftime("%Y-%m"))


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "EOLNEEDS_KEY": KEY}
    env.pop("EOLNEEDS_TEST_HOLD_LOCK_SECONDS", None)
    env.update(extra)
    return env


def _start(root: Path, month: str, *extra: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "--log-format", "json", "run", "--month", month, "--project", str(root), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env,
    )


def test_two_runs_at_once_one_succeeds_the_other_exits_4_naming_the_pid(
    tmp_path: Path,
) -> None:
    root, month = _small_project(tmp_path)
    env = _env(EOLNEEDS_TEST_HOLD_LOCK_SECONDS=str(HOLD_S))
    procs = [_start(root, month, env=env), _start(root, month, env=env)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 4], outs
    winner = procs[0] if procs[0].returncode == 0 else procs[1]
    loser_err = outs[1][1] if procs[1].returncode == 4 else outs[0][1]
    # The loser's stderr: JSON event lines, then exactly one human line.
    human = [line for line in loser_err.splitlines() if not line.startswith("{")]
    assert len(human) == 1, loser_err
    assert human[0].startswith("Error: ")
    assert f"pid {winner.pid}" in human[0]
    assert "--wait" in human[0]
    assert "Traceback" not in loser_err
    # Both runs are in the month's log; the loser's ends with status "locked".
    records = [
        json.loads(line)
        for line in (root / "logs" / f"eolneeds-{month}.log").read_text("utf-8").splitlines()
    ]
    statuses = sorted(r["status"] for r in records if r["event"] == "run_finished")
    assert statuses == ["locked", "ok"]
    assert (root / "output" / month / "indicators.csv").is_file()
    assert not (root / ".eolneeds.lock").exists()


def test_second_run_with_wait_runs_after_the_first(tmp_path: Path) -> None:
    root, month = _small_project(tmp_path)
    first = _start(root, month, env=_env(EOLNEEDS_TEST_HOLD_LOCK_SECONDS="3"))
    deadline = time.monotonic() + 60
    while not (root / ".eolneeds.lock").exists():  # the first holds the lock from here
        assert time.monotonic() < deadline and first.poll() is None, first.communicate()
        time.sleep(0.05)
    second = _start(root, month, "--wait", "240", env=_env())
    out1 = first.communicate(timeout=300)
    out2 = second.communicate(timeout=300)
    assert first.returncode == 0, out1
    assert second.returncode == 0, out2
    records = [
        json.loads(line)
        for line in (root / "logs" / f"eolneeds-{month}.log").read_text("utf-8").splitlines()
    ]
    finished = [r for r in records if r["event"] == "run_finished"]
    assert [r["status"] for r in finished] == ["ok", "ok"]
    # The second found the first's data already loaded.
    assert [r["new_data"] for r in finished] == [True, False]
