"""`eolneeds run`: the scheduled monthly job.

Two layers: orchestration tests stand in for ingest/validate/assess (fast, and they pin
down what run.py itself promises), then end-to-end tests on a small generated project
through the real CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sample_settings import primary_suppression_only

from eolneeds import run as run_mod
from eolneeds.config import load_config
from eolneeds.errors import InputDataError, ProjectLockedError, UsageError
from eolneeds.lock import project_lock
from eolneeds.reporting import RecordingReporter, Reporter

# ---------------------------------------------------------------------------------------
# Stand-ins for the other parts: a "database" of ingested content hashes.


@dataclass
class FakeResult:
    file: Path
    skipped: bool


class FakeParts:
    def __init__(self) -> None:
        self.loaded: dict[str, tuple[str, str, str | None]] = {}  # hash -> dataset, name, map
        self.blocking: list[str] = []
        self.assess_calls: list[tuple[str, Path]] = []
        self.fail_assess = False

    def ingest(self, config: Any, dataset: str, files: list[Path], *, mapping: str | None,
               reporter: Reporter) -> list[FakeResult]:
        out = []
        for f in files:
            digest = hashlib.sha256(f.read_bytes()).hexdigest()
            skipped = digest in self.loaded
            if not skipped:
                self.loaded[digest] = (dataset, f.name, mapping)
                reporter.event("file_ingested", file=f, dataset=dataset)
            out.append(FakeResult(f, skipped))
        return out

    def validate(self, config: Any, *, reporter: Reporter) -> list[str]:
        return list(self.blocking)

    def assess(self, config: Any, month: str, out: Path, *, reporter: Reporter) -> None:
        self.assess_calls.append((month, out))
        # Visible name must not change until the run publishes the folder.
        assert out.name.startswith(".tmp-")
        if self.fail_assess:
            (out / "half.csv").write_text("half", encoding="utf-8")
            raise RuntimeError("assess blew up")
        rows = sorted(f"{d},{n}" for d, n, _ in self.loaded.values())
        (out / "indicators.csv").write_text(
            "dataset,file\n" + "".join(r + "\n" for r in rows), encoding="utf-8"
        )
        (out / "report.html").write_text(f"<p>{month}</p>", encoding="utf-8")


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch) -> FakeParts:
    fake = FakeParts()
    monkeypatch.setattr(run_mod, "_ingest", fake.ingest)
    monkeypatch.setattr(run_mod, "_validate", fake.validate)
    monkeypatch.setattr(run_mod, "_assess", fake.assess)
    return fake


def _project(tmp_path: Path, mappings: dict[str, str] | None = None) -> Path:
    root = tmp_path / "proj"
    (root / "inbox" / "deaths").mkdir(parents=True)
    (root / "inbox" / "areas").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(
        '[project]\nicb_name = "Test ICB"\nicb_code = "QXX"\n'
        '[[places]]\ncode = "P1"\nname = "Northtown"\n',
        encoding="utf-8",
    )
    if mappings:
        (root / "mappings").mkdir()
        for name, text in mappings.items():
            (root / "mappings" / f"{name}.toml").write_text(text, encoding="utf-8")
    return root


def _drop(root: Path, dataset: str, name: str, text: str) -> Path:
    path = root / "inbox" / dataset / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _log_records(root: Path, month: str) -> list[dict[str, Any]]:
    lines = (root / "logs" / f"eolneeds-{month}.log").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


# ---------------------------------------------------------------------------------------
# Orchestration


def test_run_ingests_publishes_points_latest_and_archives(tmp_path: Path, parts: FakeParts) -> None:
    root = _project(tmp_path)
    _drop(root, "deaths", "deaths_2025.csv", "a")
    _drop(root, "areas", "areas.csv", "b")
    reporter = RecordingReporter()
    result = run_mod.run_month(load_config(root), "2025-10", reporter=reporter)

    out = root / "output" / "2025-10"
    assert result.output_dir == out
    assert sorted(p.name for p in out.iterdir()) == ["indicators.csv", "report.html", "run.json"]
    assert (root / "output" / "LATEST").read_text(encoding="utf-8") == "2025-10\n"
    if hasattr(os, "symlink") and os.name != "nt":
        assert os.readlink(root / "output" / "latest") == "2025-10"
    # No temp folders or files are left in output/.
    assert sorted(p.name for p in (root / "output").iterdir()) == ["2025-10", "LATEST", "latest"]
    # run.json lists every output with its hash: the month folder can be checked whole.
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert set(record["outputs"]) == {"indicators.csv", "report.html"}
    assert record["new_data"] is True
    # Inputs moved to archive/MONTH/<dataset>/, inbox emptied, areas ingested first.
    assert (root / "archive" / "2025-10" / "deaths" / "deaths_2025.csv").read_text(
        encoding="utf-8") == "a"
    assert (root / "archive" / "2025-10" / "areas" / "areas.csv").is_file()
    assert list((root / "inbox" / "deaths").iterdir()) == []
    assert result.files_ingested == ["areas/areas.csv", "deaths/deaths_2025.csv"]
    names = reporter.names()
    assert names[0] == "run_started" and names[-1] == "run_finished"
    assert names.index("output_written") < names.index("inputs_archived")
    assert reporter.events[-1][1]["status"] == "ok"
    assert "no_new_data" not in names
    assert not (root / ".eolneeds.lock").exists()


def test_same_month_twice_is_identical_and_second_run_says_no_new_data(
    tmp_path: Path, parts: FakeParts
) -> None:
    root = _project(tmp_path)
    _drop(root, "deaths", "d.csv", "a")
    run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    first = (root / "output" / "2025-10" / "indicators.csv").read_bytes()
    reporter = RecordingReporter()
    result = run_mod.run_month(load_config(root), "2025-10", reporter=reporter)
    assert (root / "output" / "2025-10" / "indicators.csv").read_bytes() == first
    assert result.new_data is False
    assert "no_new_data" in reporter.names()
    texts = [f["text"] for n, f in reporter.events if n == "message"]
    assert any("No new data" in t and "2025-10" in t for t in texts)
    assert len(parts.loaded) == 1
    # The earlier folder was swapped out whole: nothing stale left beside it.
    assert sorted(p.name for p in (root / "output").iterdir()) == ["2025-10", "LATEST", "latest"]


def test_a_file_put_back_in_the_inbox_is_skipped_and_archived_once(
    tmp_path: Path, parts: FakeParts
) -> None:
    root = _project(tmp_path)
    _drop(root, "deaths", "d.csv", "a")
    run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    _drop(root, "deaths", "d.csv", "a")  # the same extract delivered again
    _drop(root, "deaths", "e.csv", "new")
    result = run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    assert result.files_skipped == ["deaths/d.csv"]
    assert result.files_ingested == ["deaths/e.csv"]
    archive = root / "archive" / "2025-10" / "deaths"
    assert sorted(p.name for p in archive.iterdir()) == ["d.csv", "e.csv"]
    # A *different* file under an archived name is kept beside it, not overwritten.
    _drop(root, "deaths", "d.csv", "changed")
    run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    assert sorted(p.name for p in archive.iterdir()) == ["d (2).csv", "d.csv", "e.csv"]
    assert (archive / "d.csv").read_text(encoding="utf-8") == "a"


def test_blocking_validation_exits_3_and_leaves_outputs_and_inbox(
    tmp_path: Path, parts: FakeParts
) -> None:
    root = _project(tmp_path)
    _drop(root, "deaths", "d.csv", "a")
    run_mod.run_month(load_config(root), "2025-09", reporter=Reporter())
    before = {p: p.read_bytes() for p in (root / "output").rglob("*") if p.is_file()}

    _drop(root, "deaths", "bad.csv", "bad")
    parts.blocking = ["deaths: 40% of rows have no LSOA"]
    reporter = RecordingReporter()
    with pytest.raises(InputDataError, match="40% of rows have no LSOA") as info:
        run_mod.run_month(load_config(root), "2025-10", reporter=reporter)
    assert int(info.value.exit_code) == 3
    after = {p: p.read_bytes() for p in (root / "output").rglob("*") if p.is_file()}
    assert after == before
    assert not (root / "output" / "2025-10").exists()
    assert (root / "inbox" / "deaths" / "bad.csv").exists()  # not archived
    assert reporter.events[-1] == ("run_finished", reporter.events[-1][1])
    assert reporter.events[-1][1]["status"] == "input_error"


def test_failing_assess_leaves_previous_output_and_no_temp(
    tmp_path: Path, parts: FakeParts
) -> None:
    root = _project(tmp_path)
    _drop(root, "deaths", "d.csv", "a")
    run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    before = (root / "output" / "2025-10" / "indicators.csv").read_bytes()
    _drop(root, "deaths", "e.csv", "b")
    parts.fail_assess = True
    with pytest.raises(RuntimeError):
        run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    assert (root / "output" / "2025-10" / "indicators.csv").read_bytes() == before
    assert not (root / "output" / "2025-10" / "half.csv").exists()
    assert sorted(p.name for p in (root / "output").iterdir()) == ["2025-10", "LATEST", "latest"]
    assert (root / "inbox" / "deaths" / "e.csv").exists()
    records = _log_records(root, "2025-10")
    assert records[-1]["event"] == "run_finished"
    assert records[-1]["status"] == "failed"
    assert "assess blew up" in records[-1]["error"]


def test_log_file_gets_one_json_object_per_event_for_every_run(
    tmp_path: Path, parts: FakeParts
) -> None:
    root = _project(tmp_path)
    _drop(root, "deaths", "d.csv", "a")
    run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    records = _log_records(root, "2025-10")  # every line parses
    events = [r["event"] for r in records]
    assert events.count("run_started") == 2
    assert events.count("run_finished") == 2
    assert "file_ingested" in events  # ingest's own events reach the log too
    finished = [r for r in records if r["event"] == "run_finished"]
    assert all(r["status"] == "ok" and isinstance(r["duration_s"], float) for r in finished)
    assert [r["new_data"] for r in finished] == [True, False]
    assert all("time" in r for r in records)


def test_locked_project_raises_and_logs(tmp_path: Path, parts: FakeParts) -> None:
    root = _project(tmp_path)
    with project_lock(root, command="eolneeds run --month 2025-10"):
        with pytest.raises(ProjectLockedError, match=f"pid {os.getpid()}"):
            run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    assert parts.assess_calls == []
    assert _log_records(root, "2025-10")[-1]["status"] == "locked"


def test_bad_month_is_a_usage_error(tmp_path: Path, parts: FakeParts) -> None:
    root = _project(tmp_path)
    for bad in ("2025-13", "202510", "Oct 2025", "2025-1"):
        with pytest.raises(UsageError, match="YYYY-MM"):
            run_mod.run_month(load_config(root), bad, reporter=Reporter())


def test_latest_points_at_the_newest_month_not_the_last_run(
    tmp_path: Path, parts: FakeParts
) -> None:
    root = _project(tmp_path)
    run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    run_mod.run_month(load_config(root), "2025-09", reporter=Reporter())  # a backfill
    assert (root / "output" / "LATEST").read_text(encoding="utf-8") == "2025-10\n"


def test_mapping_rule_prefix_then_dataset_then_canonical(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "deaths": 'dataset = "deaths"\n',
            "deaths_pcmd": 'dataset = "deaths"\npreset = "pcmd_deaths"\n',
            "hes": 'dataset = "activity"\n',
        },
    )
    config = load_config(root)
    assert run_mod.mapping_for_file(config, "deaths", "deaths_pcmd_2025-10.csv") == "deaths_pcmd"
    assert run_mod.mapping_for_file(config, "deaths", "Deaths_PCMD.xlsx") == "deaths_pcmd"
    assert run_mod.mapping_for_file(config, "deaths", "extract.csv") == "deaths"
    assert run_mod.mapping_for_file(config, "activity", "hes_apc_2025.csv") == "hes"
    assert run_mod.mapping_for_file(config, "activity", "ae.csv") is None
    # A mapping for another dataset is never used, whatever its name.
    assert run_mod.mapping_for_file(config, "register", "hes.csv") is None


def test_inbox_skips_hidden_and_excel_owner_files_and_warns_on_loose_files(
    tmp_path: Path, parts: FakeParts
) -> None:
    root = _project(tmp_path)
    _drop(root, "deaths", ".DS_Store", "x")
    _drop(root, "deaths", "~$book.xlsx", "x")
    _drop(root, "deaths", "d.csv", "a")
    (root / "inbox" / "loose.csv").write_text("x", encoding="utf-8")
    reporter = RecordingReporter()
    files = run_mod.inbox_files(load_config(root), reporter=reporter)
    assert [(d, p.name) for d, p in files] == [("deaths", "d.csv")]
    warnings = [f["text"] for n, f in reporter.events if n == "message"]
    assert any("loose.csv" in w and "inbox/<dataset>/" in w for w in warnings)


def test_publish_without_atomic_exchange_and_recovery_after_a_kill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "output"
    (output / "2025-10").mkdir(parents=True)
    (output / "2025-10" / "indicators.csv").write_text("old", encoding="utf-8")
    built = output / ".tmp-2025-10-1-abcd"
    built.mkdir()
    (built / "indicators.csv").write_text("new", encoding="utf-8")
    monkeypatch.setattr(run_mod, "_rename_exchange", lambda a, b: False)
    run_mod.publish_folder(built, output / "2025-10")
    assert (output / "2025-10" / "indicators.csv").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in output.iterdir()) == ["2025-10"]

    # A kill between the two renames leaves only the aside copy: the next run's tidy
    # puts it back, removes dead temp folders and files, and re-points LATEST.
    os.replace(output / "2025-10", output / ".old-2025-10-beef")
    (output / ".tmp-2025-11-99-dead").mkdir()
    (output / ".LATEST.tmp-99-dead").write_text("x", encoding="utf-8")
    run_mod._tidy_outputs(output, reporter=Reporter())
    assert (output / "2025-10" / "indicators.csv").read_text(encoding="utf-8") == "new"
    assert (output / "LATEST").read_text(encoding="utf-8") == "2025-10\n"
    assert sorted(p.name for p in output.iterdir() if p.name != "latest") == ["2025-10", "LATEST"]


def test_atomic_exchange_swaps_whole_folders(tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a", encoding="utf-8")
    (b / "x").write_text("b", encoding="utf-8")
    if not run_mod._rename_exchange(a, b):
        pytest.skip("no atomic rename-exchange on this platform / file system")
    assert (a / "x").read_text(encoding="utf-8") == "b"
    assert (b / "x").read_text(encoding="utf-8") == "a"


def test_hold_lock_hook_is_inert_unless_set(
    tmp_path: Path, parts: FakeParts, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    monkeypatch.delenv(run_mod.HOLD_LOCK_ENV, raising=False)
    reporter = RecordingReporter()
    run_mod.run_month(load_config(root), "2025-10", reporter=reporter)
    assert "test_hold_lock" not in reporter.names()
    monkeypatch.setenv(run_mod.HOLD_LOCK_ENV, "0.05")
    reporter = RecordingReporter()
    run_mod.run_month(load_config(root), "2025-10", reporter=reporter)
    assert "test_hold_lock" in reporter.names()


def test_render_summary_mentions_no_new_data(tmp_path: Path, parts: FakeParts) -> None:
    root = _project(tmp_path)
    result = run_mod.run_month(load_config(root), "2025-10", reporter=Reporter())
    assert "no new data" in result.render_summary()
    shutil.rmtree(root / "output")


# ---------------------------------------------------------------------------------------
# End to end, on a small generated project, through the real ingest/validate/assess

KEY = "run-test-key-not-secret"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]


def _make_sample(root: Path, *, deaths: int, seed: int, formats: list[str]) -> str:
    """A generated project writing only `formats` (the writers have their own tests;
    here they only cost time). Returns the last month the sample covers."""
    sample = pytest.importorskip("eolneeds.sample")
    sample.write_sample(root, deaths=deaths, seed=seed, reporter=Reporter(),
                        key_file=root.parent / "sample.key")
    with (root / "eolneeds.toml").open("a", encoding="utf-8") as fh:
        fh.write(f"\n[outputs]\nformats = {json.dumps(formats)}\nper_place = false\n")
    primary_suppression_only(root)  # nor does secondary suppression (sample_settings.py)
    return str(sample.LAST_DAY.strftime("%Y-%m"))


def _cli_env() -> dict[str, str]:
    env = {**os.environ, "EOLNEEDS_KEY": KEY}
    env.pop(run_mod.HOLD_LOCK_ENV, None)
    return env


def _table_counts(root: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()
    }


@pytest.fixture(scope="module")
def ran_once(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real `eolneeds --log-format json run` on a fresh generated project."""
    root = tmp_path_factory.mktemp("e2e") / "proj"
    month = _make_sample(root, deaths=150, seed=4, formats=["csv", "parquet"])
    inputs = sorted(p.relative_to(root / "inbox").as_posix()
                    for p in (root / "inbox").glob("*/*") if p.is_file())
    proc = subprocess.run(
        [*CLI, "--log-format", "json", "run", "--month", month, "--project", str(root)],
        capture_output=True, text=True, encoding="utf-8", env=_cli_env(), timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"root": root, "month": month, "proc": proc, "inputs": inputs}


def test_e2e_json_logs_on_stderr_and_in_the_log_file(ran_once: dict[str, Any]) -> None:
    root, month, proc = ran_once["root"], ran_once["month"], ran_once["proc"]
    records = [json.loads(line) for line in proc.stderr.splitlines()]  # every line is JSON
    events = [r["event"] for r in records]
    assert events[0] == "run_started" and events[-1] == "run_finished"
    assert "file_ingested" in events and "output_written" in events
    assert records[-1]["status"] == "ok" and records[-1]["new_data"] is True
    assert records[-1]["duration_s"] > 0
    logged = _log_records(root, month)
    assert [r["event"] for r in logged] == events
    assert "Run " + month in proc.stdout  # the one-line summary


def test_e2e_inputs_archived_and_outputs_published(ran_once: dict[str, Any]) -> None:
    root, month = ran_once["root"], ran_once["month"]
    archived = sorted(p.relative_to(root / "archive" / month).as_posix()
                      for p in (root / "archive" / month).glob("*/*"))
    assert archived == ran_once["inputs"]
    assert len(archived) >= 6
    assert not any(p.is_file() for p in (root / "inbox").glob("*/*"))
    out = root / "output" / month
    assert {p.name for p in out.iterdir()} >= {"indicators.csv", "indicators.parquet",
                                               "manifest.json", "run.json"}
    assert (root / "output" / "LATEST").read_text(encoding="utf-8") == f"{month}\n"
    periods = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["periods"]
    # The rolling 12 months ending with the month; not the financial year to date (less
    # last month's, it would publish the month alone: tests/test_disclosure_publications.py),
    # nor the previous month's window it is protected against.
    assert "2025-11 to 2026-10" in periods
    assert not [p for p in periods if p.endswith("to date") or p == "2025-10 to 2026-09"
                or p.startswith(("earlier", "months shared"))]


def test_e2e_same_month_again_is_identical_and_duplicates_nothing(
    ran_once: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, month = ran_once["root"], ran_once["month"]
    monkeypatch.setenv("EOLNEEDS_KEY", KEY)
    first_csv = (root / "output" / month / "indicators.csv").read_bytes()
    counts = _table_counts(root)
    # The same extracts delivered again must not load twice either.
    for rel in ran_once["inputs"][:2]:
        shutil.copy2(root / "archive" / month / rel, root / "inbox" / rel)
    reporter = RecordingReporter()
    result = run_mod.run_month(load_config(root), month, reporter=reporter)
    assert result.new_data is False
    assert len(result.files_skipped) == 2
    assert (root / "output" / month / "indicators.csv").read_bytes() == first_csv
    assert _table_counts(root) == counts
    assert "no_new_data" in reporter.names()
    assert any("No new data" in f.get("text", "") for n, f in reporter.events if n == "message")
    assert (root / "output" / month / "run.json").is_file()


def test_e2e_failing_validation_exits_3_and_keeps_previous_outputs(
    ran_once: dict[str, Any], tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    shutil.copytree(ran_once["root"], root, symlinks=True)
    month = ran_once["month"]
    before = _tree(root / "output")
    # A Place with no areas is a blocking fault (validate.py).
    with (root / "eolneeds.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[places]]\ncode = "ZZZ"\nname = "Nowhere"\n')
    next_month = "2026-11" if month == "2026-10" else month
    proc = subprocess.run(
        [*CLI, "run", "--month", next_month, "--project", str(root)],
        capture_output=True, text=True, encoding="utf-8", env=_cli_env(), timeout=600,
    )
    assert proc.returncode == 3, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "ZZZ" in errors[0] and "untouched" in errors[0]
    assert "Traceback" not in proc.stderr
    assert _tree(root / "output") == before
    assert not (root / "output" / next_month).exists()
    assert _log_records(root, next_month)[-1]["status"] == "input_error"


def test_latest_symlink_never_replaces_a_real_folder(tmp_path: Path) -> None:
    # Also what happens on a case-insensitive file system, where `latest` *is* LATEST.
    output = tmp_path / "output"
    (output / "2025-10").mkdir(parents=True)
    (output / "latest").mkdir()
    (output / "latest" / "mine.txt").write_text("keep", encoding="utf-8")
    assert run_mod.point_latest(output) == "2025-10"
    assert (output / "LATEST").read_text(encoding="utf-8") == "2025-10\n"
    assert (output / "latest" / "mine.txt").read_text(encoding="utf-8") == "keep"
    assert not [p for p in output.iterdir() if p.name.startswith(".")]
