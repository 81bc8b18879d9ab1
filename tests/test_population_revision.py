"""A revised population year: next year's ONS workbook re-states last year's estimates.
A file holding a year for every LSOA, sex and age band an earlier load holds it for
replaces that year (as a cumulative activity re-supply replaces its earlier loads), with
a warning; a year re-stated only in part replaces nothing (its repeats are duplicates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter
from tests.test_ingest import make_project, query, write

HEADER = "lsoa_code,year,sex,age_band,population"
CELLS = [(lsoa, sex) for lsoa in ("E01000001", "E01000002") for sex in ("male", "female")]


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _file(path: Path, years: dict[int, int], cells=CELLS) -> Path:  # type: ignore[no-untyped-def]
    """A population file: for each year, every cell with the year's population."""
    rows = [f"{lsoa},{year},{sex},85-89,{people}" for year, people in years.items()
            for lsoa, sex in cells]
    return write(path, "\n".join([HEADER, *rows]) + "\n")


def _totals(config) -> list[tuple]:  # type: ignore[no-untyped-def]
    return query(config, "SELECT year, sum(population), count(*), list(DISTINCT "
                         "source_file_id) FROM population GROUP BY year ORDER BY year")


def _log(config) -> list[tuple]:  # type: ignore[no-untyped-def]
    return query(config, "SELECT file_id, rows_read, rows_loaded, rows_rejected, replaced_by "
                         "FROM ingest_log ORDER BY file_id")


def _warnings(reporter: RecordingReporter) -> list[str]:
    return [f["text"] for name, f in reporter.events
            if name == "message" and f.get("level") == "warning"]


def test_a_revised_year_replaces_the_earlier_estimates(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p")
    # File 1: 2023 and 2024, 10 people in each of the 4 cells.
    ingest_files(config, "population", [_file(tmp_path / "mid-2024.csv", {2023: 10, 2024: 10})],
                 reporter=RecordingReporter())
    # File 2: 2024 revised (11 a cell) and 2025 new (12 a cell).
    reporter = RecordingReporter()
    [second] = ingest_files(
        config, "population", [_file(tmp_path / "mid-2025.csv", {2024: 11, 2025: 12})],
        reporter=reporter)
    assert (second.rows_read, second.rows_loaded, second.rows_rejected) == (8, 8, 0)
    assert _totals(config) == [(2023, 40, 4, [1]), (2024, 44, 4, [2]), (2025, 48, 4, [2])]
    # File 1 keeps 2023; its 2024 rows are quarantined naming the revision, so that its
    # rows read = loaded + rejected still holds.
    assert _log(config) == [(1, 8, 4, 4, None), (2, 8, 8, 0, None)]
    reasons = query(config, "SELECT DISTINCT file_id, reason FROM rejects")
    assert reasons == [(1, "population of 2024 replaced by the revised estimates in "
                           "mid-2025.csv (file 2)")]
    [warning] = _warnings(reporter)
    assert warning.startswith("mid-2025.csv: re-states the population of 2024 loaded from "
                              "mid-2024.csv (4 rows) for every LSOA, sex and age band")
    assert [f for name, f in reporter.events if name == "population_revised"] == [
        {"file": str(tmp_path / "mid-2025.csv"), "file_id": 2, "year": 2024,
         "rows_replaced": 4, "replaced_files": ["mid-2024.csv"]}]

    # File 3 re-states 2023 whole: file 1 then holds nothing current and is replaced.
    ingest_files(config, "population", [_file(tmp_path / "mid-2023-rev.csv", {2023: 9})],
                 reporter=RecordingReporter())
    assert _totals(config) == [(2023, 36, 4, [3]), (2024, 44, 4, [2]), (2025, 48, 4, [2])]
    assert _log(config)[0] == (1, 8, 4, 4, 3)


def test_a_year_restated_in_part_replaces_nothing(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p")
    ingest_files(config, "population", [_file(tmp_path / "mid-2024.csv", {2024: 10})],
                 reporter=RecordingReporter())
    # One LSOA of 2024 again, with other values: a partial file, not a revision of the year.
    reporter = RecordingReporter()
    [part] = ingest_files(config, "population",
                          [_file(tmp_path / "part.csv", {2024: 99}, CELLS[:2])],
                          reporter=reporter)
    assert (part.rows_read, part.rows_loaded, part.rows_rejected) == (2, 0, 2)
    assert _totals(config) == [(2024, 40, 4, [1])]
    assert not [f for name, f in reporter.events if name == "population_revised"]
    assert any("DIFFERENT values" in w for w in _warnings(reporter))
