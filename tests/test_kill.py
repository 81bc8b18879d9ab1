"""SIGKILL `eolneeds run` at random moments; the project must always stay consistent.

An uninterrupted run is timed first; each trial then copies a project, starts a run,
kills it after a seeded random delay spread over that duration, and checks that:

* the DuckDB database opens, checkpoints, and agrees with its ingest_log (rows per
  source file = rows_loaded, rows_read = loaded + rejected, no orphan rows);
* no partial output is visible: every output/YYYY-MM holds exactly the files of a
  complete run with the hashes its run.json lists, and output/LATEST, where it exists,
  names one (after the next run it always does);
* no input is lost (each is in inbox/ or archive/);
* the next run succeeds (taking over the dead run's lock) and writes an indicators.csv
  byte-identical to the uninterrupted run's.

Half the trials start from a fresh project (kill during ingest/assess), half from one
already run once (kill while swapping out an earlier output of the same month). A
quarter of the trials wait for an event rather than a time (the month's output folder
appearing, then a short random delay): on a loaded machine every run is slower than the
timed one, and timed kills alone can all land in the long ingest/assess stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sample_settings import primary_suppression_only

from eolneeds.reporting import Reporter

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fork timing are POSIX-only"),
    pytest.mark.slow,
]

KEY = "kill-test-key-not-secret"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
# 10 trials (it was 20, the suite's slowest test at 122 s): the timed kills of each kind
# are spread evenly over the run (one per slice of it, at a random point in the slice)
# rather than all at random, so fewer still reach every stage; the asserts at the end
# check they did (killed runs, and different stages reached).
TRIALS = 10
SEED = 20251101
DEATHS = 200


def _env() -> dict[str, str]:
    env = {**os.environ, "EOLNEEDS_KEY": KEY}
    env.pop("EOLNEEDS_TEST_HOLD_LOCK_SECONDS", None)
    return env


def _run_cmd(root: Path, month: str) -> list[str]:
    return [*CLI, "--log-format", "json", "run", "--month", month, "--project", str(root)]


def _timed_run(root: Path, month: str) -> tuple[float, float]:
    """An uninterrupted run: (seconds until it held the lock, seconds in all). Kills
    before the lock (Python still importing) test nothing, so trials aim after it."""
    started = time.monotonic()
    proc = subprocess.Popen(
        _run_cmd(root, month), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        encoding="utf-8", env=_env(),
    )
    locked_at = 0.0
    while proc.poll() is None:
        if not locked_at and (root / ".eolneeds.lock").exists():
            locked_at = time.monotonic() - started
        time.sleep(0.01)
    total = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr.read()[-3000:]  # type: ignore[union-attr]
    return locked_at, total


def _latest_names(root: Path, month: str) -> bool:
    """output/LATEST exists and names `month` (the run has published it)."""
    try:
        return (root / "output" / "LATEST").read_text(encoding="utf-8").strip() == month
    except FileNotFoundError:
        return False


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _input_names(root: Path) -> list[str]:
    """dataset/file for every input, whether still in the inbox or archived."""
    names = []
    for base in (root / "inbox", *sorted((root / "archive").glob("*"))):
        if base.is_dir():
            names += [
                f"{p.parent.name}/{p.name}" for p in base.glob("*/*")
                if p.is_file() and not p.name.startswith(".")
            ]
    return sorted(names)


def _check_database(root: Path) -> None:
    import duckdb

    db = root / "eolneeds.duckdb"
    if not db.exists():
        return  # killed before the first ingest created it
    con = duckdb.connect(str(db))  # read-write: replays the WAL a kill leaves behind
    try:
        con.execute("CHECKPOINT")
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "ingest_log" not in tables:
            return
        log = con.execute(
            "SELECT file_id, dataset, rows_read, rows_loaded, rows_rejected FROM ingest_log "
            "WHERE replaced_by IS NULL"
        ).fetchall()
        for file_id, dataset, read, loaded, rejected in log:
            assert read == loaded + rejected, (file_id, read, loaded, rejected)
            count = con.execute(
                f"SELECT count(*) FROM {dataset} WHERE source_file_id = $id", {"id": file_id}
            ).fetchone()[0]
            assert count == loaded, (dataset, file_id, count, loaded)
            quarantined = con.execute(
                "SELECT count(*) FROM rejects WHERE file_id = $id", {"id": file_id}
            ).fetchone()[0]
            assert quarantined == rejected, (file_id, quarantined, rejected)
        known = {row[0] for row in log}
        for dataset in {row[1] for row in log} | (tables & {"deaths", "register", "activity"}):
            sql = f"SELECT DISTINCT source_file_id FROM {dataset}"
            ids = {r[0] for r in con.execute(sql).fetchall()}
            assert ids <= known, (dataset, ids - known)
    finally:
        con.close()


def _check_outputs(root: Path, expected_files: set[str]) -> None:
    output = root / "output"
    if not output.exists():
        return
    visible = [p for p in output.iterdir() if not p.name.startswith(".")]
    months = []
    for entry in visible:
        if entry.name in ("LATEST", "latest"):
            continue
        assert entry.is_dir() and not entry.is_symlink(), entry
        months.append(entry.name)
        files = {
            p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.is_file()
        }
        assert files == expected_files, (entry, files ^ expected_files)
        record = json.loads((entry / "run.json").read_text(encoding="utf-8"))
        for name, digest in record["outputs"].items():
            assert _sha256(entry / name) == digest, name
    if (output / "LATEST").exists():
        latest = (output / "LATEST").read_text(encoding="utf-8").strip()
        assert latest in months
        if (output / "latest").is_symlink():
            assert (output / "latest").resolve() == (output / latest).resolve()
    # A month with no LATEST yet: killed on a project's first run between the month's
    # folder landing and LATEST first being written (two names cannot appear in one
    # rename). A reader of LATEST sees the old state, no output yet; the next run
    # points it (checked after it).


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import eolneeds.sample as sample
    base = tmp_path_factory.mktemp("kill")
    pristine = base / "pristine"
    sample.write_sample(pristine, deaths=DEATHS, seed=5, reporter=Reporter(),
                        key_file=base / "sample.key")
    # CSV and Parquet only: the run's kill-safety is the same whichever writers run (each
    # writes into the hidden temp folder), and the Excel packs would make each trial slow.
    with (pristine / "eolneeds.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[outputs]\nformats = ["csv", "parquet"]\nper_place = false\n')
    # Primary suppression only (tests/sample_settings.py): a kill during secondary
    # suppression, pure computation in memory, is like a kill anywhere in assess, and it
    # was 3/4 of each run, so most timed kills landed in it and 22 runs of it made this
    # the suite's slowest file (4 min). Without it the kills spread over ingest, the
    # writers and publishing, where files change.
    primary_suppression_only(pristine)
    month = str(sample.LAST_DAY.strftime("%Y-%m"))
    done = base / "done"
    shutil.copytree(pristine, done, symlinks=True)
    fresh = _timed_run(done, month)
    out = done / "output" / month
    expected = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    rerun = base / "rerun"
    shutil.copytree(done, rerun, symlinks=True)
    rerun_timing = _timed_run(rerun, month)
    return {
        "pristine": pristine, "done": done, "month": month, "expected": expected,
        "indicators": (out / "indicators.csv").read_bytes(),
        "inputs": _input_names(pristine),
        "timing": {"pristine": fresh, "done": rerun_timing},
    }


def test_sigkill_at_random_moments_leaves_a_consistent_project(
    templates: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eolneeds.config import load_config
    from eolneeds.run import run_month

    monkeypatch.setenv("EOLNEEDS_KEY", KEY)
    rng = random.Random(SEED)
    month = templates["month"]
    outcomes = []
    reached: set[tuple[str, bool, bool, bool]] = set()  # how far each killed run had got
    timed = {  # the trials killed after a delay, by kind (trial % 4 == 2 waits for LATEST)
        "pristine": [t for t in range(TRIALS) if t % 2 == 0 and t % 4 != 2],
        "done": [t for t in range(TRIALS) if t % 2 == 1],
    }
    for trial in range(TRIALS):
        kind = "pristine" if trial % 2 == 0 else "done"
        root = tmp_path / f"trial{trial:02d}"
        shutil.copytree(templates[kind], root, symlinks=True)
        locked_at, total = templates["timing"][kind]
        if trial in timed[kind]:  # its own slice of the run, from just before the lock
            slot, slices = timed[kind].index(trial), len(timed[kind])
            start = 0.8 * locked_at
            delay = start + (total - start) * (slot + rng.random()) / slices
        proc = subprocess.Popen(
            _run_cmd(root, month), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=_env(),
        )
        if trial % 4 == 2:
            # Kill just after the run published its output (while it archives the inbox
            # and tidies up), whatever the machine's speed. Published = the month's
            # folder in place and output/LATEST naming it: on a project's first run the
            # folder appears an fsync before LATEST does (two names cannot change in one
            # rename), and under heavy disk I/O a kill 4 ms after the folder landed
            # between the two. The next run repairs that (_tidy_outputs); timed kills
            # can still land there.
            delay = rng.uniform(0.0, 0.05)
            while proc.poll() is None and not _latest_names(root, month):
                time.sleep(0.002)
        started = time.monotonic()
        while proc.poll() is None and time.monotonic() - started < delay:
            time.sleep(0.005)
        finished_after = time.monotonic() - started
        if proc.poll() is not None and trial % 4 != 2:
            # It finished before its kill: the machine got faster than when the run was
            # timed (it is shared). Later trials aim within what this run really took.
            templates["timing"][kind] = (min(locked_at, 0.5 * finished_after), finished_after)
        proc.send_signal(signal.SIGKILL)
        code = proc.wait()
        outcomes.append(code)
        where = f"trial {trial} ({kind}, killed after {delay:.2f} s)"
        reached.add((
            kind,
            (root / "eolneeds.duckdb").exists(),
            (root / "output" / month).exists(),
            any((root / "inbox").glob("*/*")),
        ))

        try:
            _check_database(root)
            _check_outputs(root, templates["expected"])
            assert _input_names(root) == templates["inputs"]
        except AssertionError as exc:
            raise AssertionError(f"{where}: {exc}") from exc

        # The next run (in this process, to save a Python start-up per trial) takes over
        # the dead run's lock and must succeed.
        run_month(load_config(root), month, reporter=Reporter())
        out = root / "output" / month
        assert (out / "indicators.csv").read_bytes() == templates["indicators"], where
        _check_database(root)
        _check_outputs(root, templates["expected"])
        assert _latest_names(root, month), where
        hidden = [p.name for p in (root / "output").iterdir() if p.name.startswith(".")]
        assert hidden == [], (where, hidden)
        assert not any((root / "inbox").glob("*/*")), where
        assert not (root / ".eolneeds.lock").exists(), where
        shutil.rmtree(root)
    # The delays really interrupted runs (not every run had finished already).
    assert sum(code == -signal.SIGKILL for code in outcomes) >= TRIALS // 2, outcomes
    # ... and at different stages (before ingest, before publishing, after), not all alike.
    assert len({state for state in reached if state[0] == "pristine"}) >= 2, reached


def test_sigkill_while_archiving_leaves_a_consistent_project_and_the_next_run_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stage-specific: the run is killed in its archive step, some inputs moved to
    archive/ and the rest still in the inbox (EOLNEEDS_TEST_HOLD_ARCHIVE_SECONDS holds it
    after the first). The outputs are published and whole, the database agrees with its
    log, no input is lost or doubled; the next run archives the rest (the files it
    already loaded are no new data) and its indicators are the killed run's."""
    import eolneeds.sample as sample
    from eolneeds.config import load_config
    from eolneeds.run import HOLD_ARCHIVE_ENV, run_month

    monkeypatch.setenv("EOLNEEDS_KEY", KEY)
    root = tmp_path / "project"
    sample.write_sample(root, deaths=DEATHS, seed=7, reporter=Reporter(),
                        key_file=tmp_path / "sample.key")
    with (root / "eolneeds.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[outputs]\nformats = ["csv"]\nper_place = false\n')
    primary_suppression_only(root)
    month = str(sample.LAST_DAY.strftime("%Y-%m"))
    inputs = _input_names(root)
    assert len(inputs) >= 2, inputs  # one archived before the kill, one after
    proc = subprocess.Popen(_run_cmd(root, month), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8",
                            env={**_env(), HOLD_ARCHIVE_ENV: "600"})
    assert proc.stderr is not None
    for line in proc.stderr:
        if '"test_hold_archive"' in line:
            break
    else:
        raise AssertionError(f"the run never reached its archive step: exit {proc.wait()}")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    proc.stderr.close()

    out = root / "output" / month
    expected = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    killed_indicators = (out / "indicators.csv").read_bytes()
    assert {"indicators.csv", "manifest.json", "run.json"} <= expected
    _check_database(root)
    _check_outputs(root, expected)
    assert _latest_names(root, month)
    assert _input_names(root) == inputs
    waiting = list((root / "inbox").glob("*/*"))
    assert 0 < len(waiting) < len(inputs)  # killed half-way through archiving

    result = run_month(load_config(root), month, reporter=Reporter())
    assert result.new_data is False  # the inputs left behind were loaded before the kill
    assert (out / "indicators.csv").read_bytes() == killed_indicators
    _check_database(root)
    _check_outputs(root, expected)
    assert not any((root / "inbox").glob("*/*"))
    assert _input_names(root) == inputs  # each once: no 'name (2).csv'
    assert not (root / ".eolneeds.lock").exists()
