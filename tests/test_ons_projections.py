"""ONS subnational population projections as published (onboarding fault 1).

The SNPP tables are wide: one row per area x sex x single year of age, one column per
projection year. There was no preset, and the advice for a missing column (`year =
"Your column"`) cannot work for a column per year. The `ons_projections` preset reads
the 2018-based CSVs (AREA_CODE, AREA_NAME, COMPONENT, SEX, AGE_GROUP, 2018 ...) and the
2022-based workbook (cover and notes sheets, then a sheet per sex under title rows, a
column per year 2022 ... 2047) into the canonical long table: area x year x sex x
five-year band. Areas are resolved to Places by code or by name.

Known answers, by hand: each file's population at single age a in year y is
100 + a + 1000 * (y - first year) (males) and that plus 50 (females), so band 0-4 in the
first year is 5 * 100 + (0 + 1 + 2 + 3 + 4) = 510 (females 760), 85-89 is 500 + 435 =
935, 90+ (one row: '90 and over' or '90+') is 190, and a year later each five-year band
is 5,000 more and 90+ 1,000 more."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import duckdb
import openpyxl
import pytest
from typer.testing import CliRunner

from eolneeds.cli import app
from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file, render_text
from eolneeds.reporting import Reporter

CONFIG = """
[project]
icb_name = "Test ICB"
icb_code = "QXX"

[[places]]
code = "E06000014"
name = "York"

[[places]]
code = "SEL"
name = "Selby"
"""
# York by its code (the Place code is the LA code), Selby by its name (the Place has a
# local code), a region outside the ICB kept under its own code.
AREAS = [("E06000014", "York"), ("E07000169", "Selby"), ("E12000003", "Yorkshire and The Humber")]
AGES_2018 = [str(a) for a in range(90)] + ["90 and over"]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _project(root: Path, mapping: str | None = 'dataset = "projections"\n'
             'preset = "ons_projections"\n') -> Path:
    root.mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (root / "mappings").mkdir()
    if mapping:
        (root / "mappings" / "ons_projections.toml").write_text(mapping, encoding="utf-8")
    return root


def _value(age: int, year: int, first: int, sex: str) -> int:
    return 100 + age + 1000 * (year - first) + (50 if sex == "female" else 0)


def _write_2018_csv(path: Path, sex: str, years: range = range(2018, 2021)) -> Path:
    lines = ["AREA_CODE,AREA_NAME,COMPONENT,SEX,AGE_GROUP," + ",".join(map(str, years))]
    for code, name in AREAS:
        for i, age in enumerate(AGES_2018):
            lines.append(f'{code},"{name}",Population,{sex},{age},' + ",".join(
                str(_value(min(i, 90), y, years[0], sex)) for y in years))
        total = sum(_value(min(i, 90), years[0], years[0], sex) for i in range(91))
        lines.append(f'{code},"{name}",Population,{sex},All ages,' + ",".join(
            str(total) for _ in years))
    # A component of change in the same layout (table 5): not population.
    lines.append(f"E06000014,York,Births,{sex},0," + ",".join("7" for _ in years))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _write_2022_workbook(path: Path, years: range = range(2022, 2025),
                         bad_cell: bool = False) -> Path:
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "Cover_sheet"
    cover.append(["Population projections for local authorities: 2022-based"])
    book.create_sheet("Contents").append(["Table", "Description"])
    book.create_sheet("Notes").append(["Note number", "Note text"])
    for title in ("Males", "Females", "Persons"):
        ws = book.create_sheet(title)
        sex = {"Males": "male", "Females": "female", "Persons": "persons"}[title]
        ws.append([f"Table 2: 2022-based population projections, {title.lower()}"])
        ws.append(["Five-year migration variant. Source: Office for National Statistics"])
        ws.append([])
        ws.append(["Area code", "Area name", "Age", *years])  # year headers as numbers
        for code, name in AREAS:
            ws.append([code, name, "All ages", *[99999 for _ in years]])
            for a in range(91):
                row = [code, name, a if a < 90 else "90+"]
                if sex == "persons":
                    row += [2 * _value(a, y, years[0], "male") + 50 for y in years]
                else:
                    row += [_value(a, y, years[0], sex) for y in years]
                ws.append(row)
        if bad_cell and title == "Females":
            ws.cell(row=8, column=5, value="x")  # York, age 2, the second year
    book.save(path)
    return path


def _loaded(root: Path) -> dict[tuple[str, int, str, str], float]:
    con = duckdb.connect(str(load_config(root).database_path), read_only=True)
    try:
        rows = con.execute("SELECT area_code, year, sex, age_band, population "
                           "FROM projections").fetchall()
    finally:
        con.close()
    return {(a, y, s, b): p for a, y, s, b, p in rows}


def test_the_2018_based_csvs_as_published(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    files = [_write_2018_csv(tmp_path / f"2018 SNPP Population {s}s.csv", s)
             for s in ("male", "female")]
    messages: list[str] = []

    class Said(Reporter):
        def message(self, text: str, level: str = "info") -> None:  # type: ignore[override]
            messages.append(text)

    results = ingest_files(load_config(root), "projections", files, mapping="ons_projections",
                           reporter=Said())
    for res in results:
        # 3 areas x 3 years x 19 bands of one sex, every one loaded.
        assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (171, 171, 0)
    got = _loaded(root)
    assert len(got) == 2 * 171
    assert got[("E06000014", 2018, "male", "0-4")] == 510
    assert got[("SEL", 2018, "female", "0-4")] == 760
    assert got[("SEL", 2019, "male", "85-89")] == 5935
    assert got[("E12000003", 2020, "male", "90+")] == 2190
    assert got[("E06000014", 2018, "female", "90+")] == 240
    # All ages and the births row are totals or another component: not read, and said.
    assert any("4 rows of totals" in m for m in messages), messages


def test_the_2022_based_workbook_as_published(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    path = _write_2022_workbook(tmp_path / "table2_2022based.xlsx")
    [res] = ingest_files(load_config(root), "projections", [path], mapping="ons_projections",
                         reporter=Reporter())
    # Males and Females sheets (Persons is both again): 3 areas x 3 years x 2 x 19.
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (342, 342, 0)
    got = _loaded(root)
    assert got[("E06000014", 2022, "male", "0-4")] == 510
    assert got[("SEL", 2023, "female", "5-9")] == 5 * 150 + 35 + 5000
    assert got[("E06000014", 2024, "female", "90+")] == 2240
    assert {k[2] for k in got} == {"male", "female"}


def test_a_cell_that_is_not_a_number_quarantines_its_band_naming_sheet_and_row(
        tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    path = _write_2022_workbook(tmp_path / "table2_2022based.xlsx", bad_cell=True)
    [res] = ingest_files(load_config(root), "projections", [path], mapping="ons_projections",
                         reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (342, 341, 1)
    con = duckdb.connect(str(load_config(root).database_path), read_only=True)
    try:
        [(row, reason)] = con.execute("SELECT row_number, reason FROM rejects").fetchall()
    finally:
        con.close()
    # The band's first age (0) is on row 6 of the sheet: header on row 4, All ages on 5.
    assert row == 6
    assert reason.startswith("sheet Females: ") and "2023 age 2: x" in reason


@pytest.mark.parametrize("name", ["2018 SNPP Population males.csv", "table2_2022based.xlsx"])
def test_inspect_names_the_preset_and_ingest_without_a_mapping_says_it(
        tmp_path: Path, name: str) -> None:
    root = _project(tmp_path / "p", mapping=None)
    path = (_write_2018_csv(tmp_path / name, "male") if name.endswith(".csv")
            else _write_2022_workbook(tmp_path / name))
    found = inspect_file(path)
    assert found.preset == "ons_projections" and found.dataset == "projections"
    assert "national layout 'ons_projections'" in render_text(found)
    with pytest.raises(InputDataError) as refused:
        ingest_files(load_config(root), "projections", [path], reporter=Reporter())
    message = str(refused.value)
    assert "ons_projections" in message
    # The advice, followed literally: the inspect command it names, then its ingest.
    inspect_cmd = shlex.split(re.search(r"\((eolneeds inspect .*?) does it\)",
                                        message).group(1))  # type: ignore[union-attr]
    assert inspect_cmd[:2] == ["eolneeds", "inspect"]
    result = CliRunner().invoke(app, inspect_cmd[1:])
    assert result.exit_code == 0, result.output
    ingest_cmd = shlex.split(message.rsplit("then run ", 1)[1])
    result = CliRunner().invoke(app, ingest_cmd[1:])
    assert result.exit_code == 0, result.output
    assert len(_loaded(root)) == 171 if name.endswith(".csv") else 342


def test_a_persons_only_csv_is_refused_with_the_files_to_use(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    path = tmp_path / "2018 SNPP Population persons.csv"
    path.write_text("AREA_CODE,AREA_NAME,AGE_GROUP,2018,2019\nE06000014,York,0,1,2\n",
                    encoding="utf-8")
    with pytest.raises(InputDataError) as refused:
        ingest_files(load_config(root), "projections", [path], mapping="ons_projections",
                     reporter=Reporter())
    assert "ingest the males and the females files" in str(refused.value)
