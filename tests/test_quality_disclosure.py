"""The data-quality tables as published: a small count of records is withheld there too.

A data-quality count can be the count the indicator table protects (deaths with the
place of death unknown are the deaths less the sum of the places of death), so the
report and packs show a count of 1-7, and what would give it back, as the confidential
mark; `validate` shows every count to the analyst.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
from openpyxl import load_workbook

from eolneeds.assess import AssessOptions, assess_project
from eolneeds.bundle import DataQualityTable
from eolneeds.config import ProjectConfig, load_config
from eolneeds.reporting import Reporter
from eolneeds.validate import protect_quality_tables, validate_project


def _table(key: str, **columns: list) -> DataQualityTable:
    return DataQualityTable(key=key, title=key, description="", frame=pl.DataFrame(columns))


def test_small_counts_and_what_gives_them_back_are_withheld() -> None:
    tables = protect_quality_tables([
        _table("files", file_name=["a.csv", "b.csv", "c.csv"], rows_read=[100, 100, 100],
               rows_loaded=[97, 80, 100], rows_rejected=[3, 20, 0]),
        _table("rejects_by_reason", file_name=["a.csv", "b.csv", "b.csv"],
               reason=["x", "y", "z"], rows=[3, 15, 5]),
        _table("completeness", column_name=["sex", "age", "lsoa"], rows=[1000, 1000, 1000],
               filled=[997, 3, 1000], percent_filled=[99.7, 0.3, 100.0]),
        _table("deaths_quality", check_name=["no LSOA", "place of death unknown", "no age"],
               deaths=[0, 3, 12], percent=[0.0, 0.3, 1.2]),
        _table("areas_by_place", place=["A"], lsoas=[3], population=[5.0]),
    ], min_count=8)
    hidden = {t.key: t.confidential for t in tables}
    # a.csv: 3 rejected (and 97 loaded of 100 read gives it back); b.csv: its total of
    # 20 is published, but one of its reasons (5) is withheld, so the total is too.
    assert hidden["files"] == {(0, "rows_rejected"), (0, "rows_loaded"),
                               (1, "rows_rejected"), (1, "rows_loaded")}
    assert hidden["rejects_by_reason"] == {(0, "rows"), (2, "rows")}
    # 997 of 1000 filled leaves 3 empty; 3 filled is small itself; 1000 of 1000 is fine.
    assert hidden["completeness"] == {(0, "filled"), (0, "percent_filled"),
                                      (1, "filled"), (1, "percent_filled")}
    assert hidden["deaths_quality"] == {(1, "deaths"), (1, "percent")}
    assert hidden["areas_by_place"] == frozenset()  # LSOAs and population are no people
    quality = {t.key: t.frame for t in tables}["deaths_quality"]
    assert quality["deaths"].to_list() == [0, None, 12]
    assert quality["percent"].to_list() == [0.0, None, 1.2]
    # With the rule at 3, a count of 3 is published.
    assert not any(t.confidential for t in protect_quality_tables(
        [_table("deaths_quality", deaths=[3], percent=[0.3])], min_count=3))


def test_a_count_of_deaths_whose_complement_is_small_is_withheld() -> None:
    # The completeness table publishes the deaths loaded (1,000); 995 deaths on a register
    # then gives back the 5 who were not, and 996 with no LSOA the 4 who had one.
    tables = protect_quality_tables([
        _table("completeness", dataset=["deaths", "deaths"], column_name=["sex", "age"],
               rows=[1000, 1000], filled=[1000, 1000], percent_filled=[100.0, 100.0]),
        _table("linkage", linked_to=["any register entry", "any activity"],
               deaths=[995, 990], percent=[99.5, 99.0]),
        _table("deaths_quality", check_name=["no LSOA", "no age"], deaths=[996, 20],
               percent=[99.6, 2.0]),
    ], min_count=8)
    hidden = {t.key: t.confidential for t in tables}
    assert hidden["linkage"] == {(0, "deaths"), (0, "percent")}
    assert hidden["deaths_quality"] == {(0, "deaths"), (0, "percent")}
    assert hidden["completeness"] == frozenset()


def test_a_table_the_rules_do_not_list_fails_closed() -> None:
    # A data-quality table added later without a rule: every whole-number column is a
    # count, and its small values are withheld.
    [table] = protect_quality_tables(
        [_table("a_new_check", check=["a", "b"], people=[3, 50], share=[1.5, 25.0])],
        min_count=8)
    assert table.confidential == {(0, "people")}
    assert table.frame["people"].to_list() == [None, 50]


#: Whole-number columns of the published data-quality tables that are not counts of
#: people's records (identifiers, row numbers, totals the table's own pairs cover,
#: numbers of months, practices or LSOAs). A new column must be put here or under a rule.
NOT_COUNTS = {
    "files": {"file_id", "rows_read"},
    "rejects_by_reason": {"first_row"},
    "field_actions_by_reason": {"first_row"},
    "completeness": {"rows"},
    "date_coverage": {"months_with_data"},
    "practices": {"practices"},
    "areas_by_place": {"lsoas", "population"},
}


def test_every_count_column_of_every_data_quality_table_is_under_a_rule(
        sample_project: ProjectConfig) -> None:
    from eolneeds.validate import _QUALITY_COUNTS
    tables = validate_project(sample_project, reporter=Reporter()).tables
    assert {t.key for t in tables} >= {"files", "completeness", "deaths_quality", "linkage"}
    for table in tables:
        assert table.key in _QUALITY_COUNTS, f"{table.key}: no disclosure rule"
        counts, pairs = _QUALITY_COUNTS[table.key]
        ruled = set(counts) | {c for pair in pairs for c in pair}
        whole_numbers = {c for c, t in table.frame.schema.items() if t.is_integer()}
        assert whole_numbers <= ruled | NOT_COUNTS.get(table.key, set()), (
            table.key, whole_numbers - ruled - NOT_COUNTS.get(table.key, set()))


def test_report_and_packs_withhold_three_deaths_of_unknown_place(
        sample_project: ProjectConfig, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(sample_project.root, root)
    config = load_config(root)
    con = duckdb.connect(str(config.database_path))
    try:
        before = con.execute(
            "SELECT count(*) FROM deaths WHERE place_of_death = 'unknown'").fetchone()[0]
        con.execute("""UPDATE deaths SET place_of_death = 'unknown' WHERE person_id IN (
                           SELECT person_id FROM deaths WHERE place_of_death <> 'unknown'
                           ORDER BY person_id LIMIT 3)""")
    finally:
        con.close()
    assert before == 0  # so the table's figure is our 3
    # The analyst's `validate` shows the count ...
    checks = {t.key: t.frame for t in validate_project(config, reporter=Reporter()).tables}
    unknown = dict(checks["deaths_quality"].select("check_name", "deaths").iter_rows())
    assert unknown["place of death unknown"] == 3
    # ... the published report and pack do not.
    result = assess_project(config, AssessOptions(formats=["html", "xlsx"],
                                                  out=tmp_path / "out", per_place=False),
                            reporter=Reporter())
    html = (result.out_dir / "report.html").read_text(encoding="utf-8")
    row = html[html.index("place of death unknown"):]
    row = row[:row.index("</tr>")]
    assert "<td" in row and ">3<" not in row and "*" in row, row
    workbook = load_workbook(result.out_dir / "pack-icb.xlsx", read_only=True)
    sheet = next(ws for ws in workbook.worksheets if "Deaths_data_checks" in ws.title)
    found = [list(r) for r in sheet.iter_rows(values_only=True)
             if r and "place of death unknown" in r]
    assert found and found[0][1:3] == ["[c]", "[c]"], found
    workbook.close()
