"""A revised population year: next year's ONS workbook re-states last year's estimates.
A file holding a year for every LSOA, sex and age band an earlier load holds it for
replaces that year (as a cumulative activity re-supply replaces its earlier loads), with
a warning; a year re-stated only in part replaces nothing (its repeats are duplicates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter
from tests.small_project import make_project
from tests.test_ingest import query, write

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


def test_a_year_resupplied_in_another_lsoa_vintage_replaces_the_old_one(tmp_path: Path) -> None:
    """2024 loaded by 2011 LSOAs, then 2024 again by 2021 LSOAs: four codes kept, one
    2011 LSOA split in two new 2021 codes. Before, the kept codes' new rows were
    quarantined as duplicates and the two new LSOAs loaded beside the old year: the ICB's
    2024 population counted the split area twice. Now the year is replaced whole."""
    config = make_project(tmp_path / "p")
    old = [(f"E0100000{i}", sex) for i in range(1, 6) for sex in ("male", "female")]
    new = [(f"E0100000{i}", sex) for i in range(1, 5) for sex in ("male", "female")] + [
        (f"E0103300{i}", sex) for i in range(1, 3) for sex in ("male", "female")]
    ingest_files(config, "population", [_file(tmp_path / "lsoa2011.csv", {2023: 5, 2024: 10},
                                              old)], reporter=RecordingReporter())
    reporter = RecordingReporter()
    [second] = ingest_files(config, "population",
                            [_file(tmp_path / "lsoa2021.csv", {2024: 7}, new)],
                            reporter=reporter)
    assert (second.rows_read, second.rows_loaded, second.rows_rejected) == (12, 12, 0)
    # 2023 stays from file 1 (5 LSOAs x 2 sexes x 5); 2024 is file 2's alone: 12 x 7.
    assert _totals(config) == [(2023, 50, 10, [1]), (2024, 84, 12, [2])]
    assert _log(config) == [(1, 20, 10, 10, None), (2, 12, 12, 0, None)]
    [warning] = _warnings(reporter)
    assert warning.startswith("lsoa2021.csv: re-states the population of 2024 loaded from "
                              "lsoa2011.csv (10 rows) in other LSOAs (another vintage")


def test_a_partial_year_with_a_new_lsoa_but_few_old_ones_replaces_nothing(
        tmp_path: Path) -> None:
    """A new code alone does not make a new vintage: the file must also hold most of the
    year (80% of its cells). One old LSOA and one new: 2 of 10 cells."""
    config = make_project(tmp_path / "p")
    old = [(f"E0100000{i}", sex) for i in range(1, 6) for sex in ("male", "female")]
    ingest_files(config, "population", [_file(tmp_path / "lsoa2011.csv", {2024: 10}, old)],
                 reporter=RecordingReporter())
    part = [("E01000001", "male"), ("E01000001", "female"), ("E01033001", "male"),
            ("E01033001", "female")]
    reporter = RecordingReporter()
    [res] = ingest_files(config, "population", [_file(tmp_path / "part.csv", {2024: 3}, part)],
                         reporter=reporter)
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (4, 2, 2)
    assert not [f for name, f in reporter.events if name == "population_revised"]
    assert _totals(config) == [(2024, 106, 12, [1, 2])]


def test_re_based_projections_replace_the_years_they_re_state(tmp_path: Path) -> None:
    """2018-based projections to 2043, then 2022-based from 2022: the years both hold are
    the new projection's (before, its rows were quarantined as duplicates and the old
    projection stood); the old one keeps 2021, which the new one does not project."""
    config = make_project(tmp_path / "p")
    header = "area_code,year,sex,age_band,population"

    def projections(path: Path, years: dict[int, int]) -> Path:
        rows = [f"P1,{year},{sex},85-89,{people}" for year, people in years.items()
                for sex in ("male", "female")]
        return write(path, "\n".join([header, *rows]) + "\n")

    ingest_files(config, "projections",
                 [projections(tmp_path / "snpp2018.csv", {2021: 100, 2022: 100, 2030: 200})],
                 reporter=RecordingReporter())
    reporter = RecordingReporter()
    [res] = ingest_files(config, "projections",
                         [projections(tmp_path / "snpp2022.csv", {2022: 110, 2030: 150})],
                         reporter=reporter)
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (4, 4, 0)
    assert query(config, "SELECT year, sum(population), list(DISTINCT source_file_id) FROM "
                         "projections GROUP BY year ORDER BY year") == [
        (2021, 200, [1]), (2022, 220, [2]), (2030, 300, [2])]
    assert any(w.startswith("snpp2022.csv: re-states the projections of 2022 loaded from "
                            "snpp2018.csv (2 rows) for every area, sex and age band")
               for w in _warnings(reporter))
    assert query(config, "SELECT DISTINCT reason FROM rejects ORDER BY reason") == [
        ("projections of 2022 replaced by the re-based projections in snpp2022.csv (file 2)",),
        ("projections of 2030 replaced by the re-based projections in snpp2022.csv (file 2)",)]
