"""Red team: the scheduled run's --month, and what the run publishes about its inputs.

* `--month ２０２６-10` (full-width digits, as an IME types them) passed the month check
  (Python's \\d is any script's digits): the run published output/２０２６-10, which
  sorts after every real month, so output/LATEST pointed at it for good.
* `--month 9999-12` (or 2062-10 for 2026-10) published empty reports and took LATEST
  the same way. A month whose window holds none of the deaths loaded is now refused
  (exit 2) before anything is published.
* A month before 1900 was refused only after the inbox had been ingested.
* run.json, published in the month's folder, listed the input files by name: a file
  named with an NHS number put it in the outputs. Names are masked there as in messages.

Real ingest and a real DuckDB file; the assessment is stood in (it is not what is
tested here: its outputs are tested elsewhere).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from small_project import stand_in_assessment

from eolneeds import run as run_mod
from eolneeds.config import load_config
from eolneeds.errors import UsageError
from eolneeds.normalise import MASK
from eolneeds.periods import parse_month
from eolneeds.reporting import Reporter

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
HEADER = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death\n"
NHS = "9434765919"  # a valid check digit (test_hostile_identifiers works it out)
ROWS = "".join(f"{n},2024-0{m}-1{m},8{m},F,E01000001,C34.9,home\n"
               for m, n in enumerate(["4010232137", "4505577104", "4839298429"], start=1))


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    (root / "inbox" / "deaths").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (root / "inbox" / "deaths" / f"deaths_{NHS}.csv").write_text(HEADER + ROWS,
                                                                  encoding="utf-8")
    monkeypatch.setattr(run_mod, "_validate", lambda config, *, reporter: [])
    monkeypatch.setattr(run_mod, "_assess", stand_in_assessment)
    return root


@pytest.mark.parametrize("month", ["２０２６-10", "2026-١٠", "٢٠٢٦-10", "2026-1０"])
def test_a_month_in_other_digits_is_refused(month):
    with pytest.raises(UsageError, match="YYYY-MM"):
        run_mod.check_month(month)
    with pytest.raises(UsageError, match="YYYY-MM"):
        parse_month(month)


def test_a_full_width_month_is_exit_2_and_publishes_nothing(root):
    done = subprocess.run([*CLI, "run", "--month", "２０２６-10", "--project", str(root)],
                          capture_output=True, text=True, encoding="utf-8", timeout=120,
                          env={**os.environ, "EOLNEEDS_KEY": "test-key-not-secret"})
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("Error: --month '２０２６-10' is not a month — use YYYY-MM, e.g. "
                           "2025-10\n")
    assert not (root / "output").exists() and not (root / "logs").exists()


def test_a_month_before_1900_is_refused_before_the_inbox_is_read(root):
    with pytest.raises(UsageError, match="'1899-12' is not a month"):
        run_mod.run_month(load_config(root), "1899-12", reporter=Reporter())
    assert not (root / "eolneeds.duckdb").exists()  # nothing ingested


@pytest.mark.parametrize("month", ["9999-12", "2062-10", "2025-04", "2023-01"])
def test_a_month_whose_window_holds_no_deaths_is_refused_and_latest_kept(root, month):
    run_mod.run_month(load_config(root), "2024-03", reporter=Reporter())
    with pytest.raises(UsageError) as refused:
        run_mod.run_month(load_config(root), month, reporter=Reporter())
    assert str(refused.value) == (
        f"--month {month}: the 12 months to {month} hold none of the deaths loaded (they "
        "run from 2024-01 to 2024-03) — give the month the run is for, e.g. --month "
        "2024-03; nothing was published")
    assert sorted(p.name for p in (root / "output").iterdir()) == ["2024-03", "LATEST",
                                                                    "latest"]
    assert (root / "output" / "LATEST").read_text(encoding="utf-8") == "2024-03\n"


def test_the_edges_of_the_window_are_taken(root):
    # The 12 months to 2024-01 end with the first death (11 January); those to 2024-03
    # with the last (13 March). A later month is one the deaths do not reach the end of
    # (test_coverage.py: refused, exit 3).
    for month in ("2024-03", "2024-01"):
        run_mod.run_month(load_config(root), month, reporter=Reporter())
    assert (root / "output" / "LATEST").read_text(encoding="utf-8") == "2024-03\n"


def test_run_json_names_no_nhs_number(root):
    run_mod.run_month(load_config(root), "2024-03", reporter=Reporter())
    record = (root / "output" / "2024-03" / "run.json").read_text(encoding="utf-8")
    assert json.loads(record)["files_ingested"] == [f"deaths/deaths_{MASK}.csv"]
    assert NHS not in record
    assert NHS not in (root / "logs" / "eolneeds-2024-03.log").read_text(encoding="utf-8")


class _Said(Reporter):
    def __init__(self) -> None:
        self.said: list[str] = []

    def message(self, text: str, *, level: str = "info") -> None:
        self.said.append(f"{level}: {text}")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_in_the_inbox_is_named_not_silently_left(root):
    # It was neither read (reading it would wait for a writer for ever) nor mentioned, so
    # the extract someone meant to deliver through it waited there unseen.
    pipe = root / "inbox" / "deaths" / "deaths_2024.csv"
    os.mkfifo(pipe)
    said = _Said()
    files = run_mod.inbox_files(load_config(root), reporter=said)
    assert [p.name for _, p in files] == [f"deaths_{NHS}.csv"]
    assert said.said == [f"warning: {pipe} is a pipe, socket or device, not an extract, and "
                         "was left alone"]


@pytest.mark.parametrize("path, kind", [
    ("output", "file"), ("output/2024-03", "file"), ("logs", "file"),
    ("archive/2024-03/deaths", "file"), ("output/LATEST", "folder"),
    ("logs/eolneeds-2024-03.log", "folder")])
def test_a_run_folder_in_the_way_is_refused_before_any_work(root, path, kind):
    # Each was exit 1 ('a bug in eolneeds') part way through: output/LATEST as a folder
    # after the month was published, so the inputs were never archived, every month.
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    if kind == "file":
        (root / path).write_text("x", encoding="utf-8")
    else:
        (root / path).mkdir()
    with pytest.raises(UsageError) as refused:
        run_mod.run_month(load_config(root), "2024-03", reporter=Reporter())
    assert str(refused.value) == (
        f"{root / path} is a file (or a broken link), where the run keeps a folder — move it "
        "aside, then run again; nothing was changed" if kind == "file" else
        f"{root / path} is a folder, where the run writes a file — move it aside, then run "
        "again; nothing was changed")
    assert not (root / "eolneeds.duckdb").exists()  # nothing ingested
    (root / path).unlink() if kind == "file" else (root / path).rmdir()
    run_mod.run_month(load_config(root), "2024-03", reporter=Reporter())  # moved: it runs
    assert (root / "output" / "LATEST").read_text(encoding="utf-8") == "2024-03\n"
