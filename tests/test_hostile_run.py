"""Red team: the monthly run and a file still being written into the inbox.

A copy into inbox/ that was still writing when the run read the file loaded its first
rows only; the run then archived the finished file, so the rest of it was lost, and a
re-delivery of the finished file under its name was loaded beside the partial one (the
first rows counted twice). Now ingest refuses a file that changes while it reads it
(nothing kept, exit 3), and the run loads again, in place of the partial load, a file
that changed after it was read. Real ingest and a real DuckDB file; validation and
assessment are stood in (they are not what is tested).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from small_project import stand_in_assessment

from eolneeds import readers
from eolneeds import run as run_mod
from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.reporting import Reporter

CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
HEADER = "person_id,activity_type,start_date,end_date,cost\n"
# Valid NHS numbers (modulus 11), one contact each.
NUMBERS = ["9434765919", "4010232137", "4505577104", "4902316927", "4055677006"]


def _rows(numbers: list[str]) -> str:
    return "".join(f"{n},community,2024-0{i + 1}-10,2024-0{i + 1}-10,50\n"
                   for i, n in enumerate(numbers))


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    (root / "inbox" / "activity").mkdir(parents=True)
    (root / "mappings").mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (root / "mappings" / "activity.toml").write_text(
        'dataset = "activity"\nnhs_number = true\n', encoding="utf-8")
    return root


def _loaded(root: Path) -> list[tuple]:
    with duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True) as con:
        return con.execute("SELECT file_name, rows_read, rows_loaded FROM ingest_log "
                           "WHERE replaced_by IS NULL ORDER BY file_id").fetchall()


def _activity_rows(root: Path) -> int:
    with duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True) as con:
        return con.execute("SELECT count(*) FROM activity").fetchone()[0]


def test_a_file_that_grows_while_ingest_reads_it_is_refused_and_nothing_kept(root,
                                                                             monkeypatch):
    path = root / "inbox" / "activity" / "community_2024.csv"
    path.write_text(HEADER + _rows(NUMBERS[:3]), encoding="utf-8")
    real_read = readers.read_into

    def read_then_the_copy_writes_more(*args, **kwargs):
        raw = real_read(*args, **kwargs)
        with path.open("a", encoding="utf-8") as fh:  # the copy goes on writing
            fh.write(_rows(NUMBERS)[len(_rows(NUMBERS[:3])):])
        return raw

    monkeypatch.setattr(readers, "read_into", read_then_the_copy_writes_more)
    config = load_config(root)
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "activity", [path], reporter=Reporter())
    assert str(refused.value) == (
        "community_2024.csv: changed while it was being read (it was still being written "
        "or copied) — wait until it is complete, then ingest it again (nothing of it was "
        "kept)")
    assert not config.database_path.exists() or _loaded(root) == []

    monkeypatch.setattr(readers, "read_into", real_read)  # the copy has finished
    [result] = ingest_files(config, "activity", [path], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (5, 5)
    assert _activity_rows(root) == 5


def test_a_file_finished_after_the_run_read_it_is_loaded_whole_and_once(root,
                                                                          monkeypatch):
    path = root / "inbox" / "activity" / "community_2024.csv"
    path.write_text(HEADER + _rows(NUMBERS[:3]), encoding="utf-8")
    real_ingest = run_mod._ingest
    calls = []

    def ingest_then_the_copy_finishes(config, dataset, files, *, mapping, reporter):
        results = real_ingest(config, dataset, files, mapping=mapping, reporter=reporter)
        calls.append([f.name for f in files])
        if len(calls) == 1:  # the copy paused during the read, then wrote the rest
            with path.open("a", encoding="utf-8") as fh:
                fh.write(_rows(NUMBERS)[len(_rows(NUMBERS[:3])):])
        return results

    monkeypatch.setattr(run_mod, "_ingest", ingest_then_the_copy_finishes)
    monkeypatch.setattr(run_mod, "_validate", lambda config, *, reporter: [])
    monkeypatch.setattr(run_mod, "_assess", stand_in_assessment)
    result = run_mod.run_month(load_config(root), "2024-06", reporter=Reporter())
    # Loaded once, whole: the first, partial load was replaced by the finished file.
    assert _loaded(root) == [("community_2024.csv", 5, 5)]
    assert _activity_rows(root) == 5
    archived = root / "archive" / "2024-06" / "activity" / "community_2024.csv"
    assert result.files_archived == [archived]
    assert archived.read_text(encoding="utf-8") == HEADER + _rows(NUMBERS)
    # The next month's run finds nothing new and adds nothing.
    run_mod.run_month(load_config(root), "2024-07", reporter=Reporter())
    assert _activity_rows(root) == 5
