"""No death lost to one bad field (issue 9.1), loud on failure (9.6), masked values
(10.2): deaths with a failing NHS check digit or an impossible age still count in every
death-based indicator, their fixes are listed in field_actions and shown by validate; a
file mostly quarantined is refused whole with exit 3 and the fix."""

from __future__ import annotations

import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import polars as pl
import pytest

from eolneeds.assess import AssessOptions, assess_project, compute_indicators
from eolneeds.db import connect
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.periods import financial_year
from eolneeds.reporting import Reporter
from eolneeds.validate import validate_project
from tests.small_project import make_project
from tests.test_ingest import query

EOLNEEDS = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "eolneeds"
TEST_KEY = "test-key-not-secret"
BANDS = [f"{lo}-{lo + 4}" for lo in range(0, 90, 5)] + ["90+"]
# Valid NHS numbers (modulus 11), worked out by hand: 943 476 591 -> weights 10..2 give
# 9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 = 299; 299 mod 11 = 2; 11 - 2 = 9.
GOOD = ["9434765919", "4010232137"]
BAD_CHECK = "9434765918"  # the same first nine digits, check digit 8 instead of 9


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)


def project(root: Path, extra: str = "", mappings: dict[str, str] | None = None):
    return make_project(root, mappings or {}, extra=extra)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_areas_and_population(config, tmp: Path) -> None:
    areas = write(tmp / "areas.csv", ["lsoa_code,place,imd_decile",
                                      "E01000001,P1,1", "E01000002,P1,10"])
    population = write(tmp / "population.csv", ["lsoa_code,year,sex,age_band,population"] + [
        f"{lsoa},2024,{sex},{band},100" for lsoa in ("E01000001", "E01000002")
        for sex in ("male", "female") for band in BANDS])
    ingest_files(config, "areas", [areas], reporter=Reporter())
    ingest_files(config, "population", [population], reporter=Reporter())


def pick(frame: pl.DataFrame, indicator: str, breakdown: str = "all", value: str = "all"):
    rows = frame.filter(pl.col("indicator_id") == indicator, pl.col("area_code") == "QXX",
                        pl.col("period") == "2024-25", pl.col("breakdown") == breakdown,
                        pl.col("breakdown_value") == value)
    assert rows.height == 1, (indicator, rows)
    return rows.row(0, named=True)



def _indicators_2024_25(config):
    """The indicator table of financial year 2024-25 for the project."""
    con = connect(config.database_path)
    try:
        return compute_indicators(config, con, periods=[financial_year(2024)],
                                  reporter=Reporter())
    finally:
        con.close()

def test_deaths_with_a_bad_check_digit_or_age_999_count_everywhere(tmp_path):
    config = project(tmp_path / "p", "\n[disclosure]\nmin_count = 0\n",
                     {"deaths": 'dataset = "deaths"\nnhs_number = true\n'})
    load_areas_and_population(config, tmp_path)
    header = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
    deaths = write(tmp_path / "deaths.csv", [
        header,
        f"{GOOD[0]},05/06/2024,80,F,E01000001,C34.9,Hospital",          # row 2
        f"{GOOD[1]},06/06/2024,70,M,E01000002,I25.1,Home",              # row 3
        f"{BAD_CHECK},07/06/2024,85,F,E01000001,C50.9,Hospital",        # row 4: bad check
        "4010232145,08/06/2024,999,M,E01000002,I64,Home",               # row 5: age 999
        "0000000000,09/06/2024,60,M,E01000002,I64,Care home",           # row 6: placeholder
    ])
    [result] = ingest_files(config, "deaths", [deaths], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 5, 0)

    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        actions = con.execute("SELECT row_number, column_name, value, action FROM "
                              "field_actions ORDER BY 1").fetchall()
        ids = con.execute("SELECT source_row, person_id, age FROM deaths ORDER BY 1"
                          ).fetchall()
    finally:
        con.close()
    # The identifier is never quoted: only its shape.
    assert actions == [(4, "person_id", "##########", "unlinked"),
                       (5, "age", "999", "blanked"),
                       (6, "person_id", "##########", "unlinked")]
    # Unlinked deaths have ids no pseudonym (32 hex characters) can equal, one each.
    unlinked = [pid for row, pid, _ in ids if row in (4, 6)]
    assert all(pid.startswith("u") and len(pid) == 33 for pid in unlinked)
    assert len(set(unlinked)) == 2
    assert [age for row, _, age in ids if row == 5] == [None]

    frame = _indicators_2024_25(config)
    # All five deaths count: 2 in hospital (rows 2, 4), 2 at home (3, 5), 1 care home.
    assert pick(frame, "deaths")["numerator"] == 5
    assert (pick(frame, "pod_hospital_pct")["numerator"],
            pick(frame, "pod_hospital_pct")["denominator"]) == (2, 5)
    assert pick(frame, "pod_home_pct")["numerator"] == 2
    assert pick(frame, "pod_care_home_pct")["numerator"] == 1
    # The age of 999 is unknown: in the age breakdown only as "unknown" (row 2's 80 is
    # the one death aged 75-84). A deaths-only indicator: with no activity loaded, an
    # activity indicator is not available (coverage), never a count.
    assert pick(frame, "pod_home_pct", "age_band", "unknown")["denominator"] == 1
    assert pick(frame, "pod_home_pct", "age_band", "75-84")["denominator"] == 1

    report = validate_project(config, reporter=Reporter())
    shown = report.table("field_actions_by_reason").frame
    assert sorted(zip(shown["column_name"], shown["action"], shown["rows"], strict=True)) == [
        ("age", "blanked", 1), ("person_id", "unlinked", 2)]
    text = report.render_text()
    assert "Fields blanked or set to unknown, by file and reason" in text
    assert "3 fields blanked, set to unknown or left unlinked" in text
    assert BAD_CHECK not in text and "0000000000" not in text

    completed = subprocess.run([str(EOLNEEDS), "validate", "--project", str(config.root)],
                               capture_output=True, text=True, timeout=120,
                               env={"EOLNEEDS_KEY": TEST_KEY, "PATH": "/usr/bin"})
    assert "age 999 is not between 0 and 120" not in completed.stdout  # values stripped
    assert "age is not between 0 and 120" in completed.stdout
    assert "person_id is not a valid NHS number" in completed.stdout


def test_register_and_activity_rows_with_a_bad_identifier_stay_quarantined(tmp_path):
    config = project(tmp_path / "p", mappings={
        "register": 'dataset = "register"\nnhs_number = true\n'})
    register = write(tmp_path / "register.csv", [
        "person_id,date_added", f"{GOOD[0]},01/01/2024", f"{BAD_CHECK},01/01/2024"])
    [result] = ingest_files(config, "register", [register], reporter=Reporter())
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)


def test_the_date_format_advice_names_the_format_the_file_is_in(tmp_path):
    """Dates written 31/05/24 (a two-digit year is never read unasked): the advice gives
    that format (not a generic example) and the century it gives, and followed literally
    it loads every row, in 2024. (Dates written 31.05.2024 need no advice: they load.)"""
    config = project(tmp_path / "p")
    header = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
    deaths = write(tmp_path / "deaths.csv", [header] + [
        f"P{i},{i:02d}/05/24,80,F,E01000001,C34.9,Hospital" for i in range(1, 6)])
    command = [str(EOLNEEDS), "ingest", "deaths", str(deaths), "--project", str(config.root)]
    env = {"EOLNEEDS_KEY": TEST_KEY, "PATH": "/usr/bin"}
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert completed.returncode == 3
    assert completed.stderr.rstrip().endswith(
        "set date_format in a new mappings/deaths.toml to the file's date format "
        "(date_format = \"%d/%m/%y\", as in '01/05/24'; two-digit years 00-68 are then "
        "read as 2000-2068 and 69-99 as 1969-1999, a year of birth as the century before "
        "the death)"), completed.stderr
    (config.root / "mappings" / "deaths.toml").write_text(
        'dataset = "deaths"\ndate_format = "%d/%m/%y"\n', encoding="utf-8")
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert completed.returncode == 0, completed.stderr
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        assert con.execute("SELECT min(date_of_death), max(date_of_death) FROM deaths"
                           ).fetchall() == [(date(2024, 5, 1), date(2024, 5, 5))]
    finally:
        con.close()


def test_the_refusal_of_a_one_row_file_says_1_row(tmp_path):
    # Counts are printed with the noun that fits them (formatting.plural): "(1 row)",
    # never "(1 rows)".
    config = project(tmp_path / "p")
    header = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
    deaths = write(tmp_path / "deaths.csv", [header, "P1,01 06 2024,80,F,E01000001,C34.9,Hospital"])
    completed = subprocess.run(
        [str(EOLNEEDS), "ingest", "deaths", str(deaths), "--project", str(config.root)],
        capture_output=True, text=True, timeout=120,
        env={"EOLNEEDS_KEY": TEST_KEY, "PATH": "/usr/bin"})
    assert completed.returncode == 3
    [error] = [line for line in completed.stderr.splitlines() if line.startswith("Error")]
    assert error.startswith("Error: deaths.csv: 1 of 1 row would be quarantined (every row); ")
    assert "(1 row), so nothing from the file was loaded" in error
    assert " rows" not in error


def test_a_file_with_every_row_quarantined_exits_3_and_keeps_nothing(tmp_path):
    config = project(tmp_path / "p")
    header = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
    # Dates written with spaces: no shape a date_format is named for.
    deaths = write(tmp_path / "deaths.csv", [header] + [
        f"P{i},{i:02d} 06 2024,80,F,E01000001,C34.9,Hospital" for i in range(1, 6)])
    completed = subprocess.run(
        [str(EOLNEEDS), "ingest", "deaths", str(deaths), "--project", str(config.root)],
        capture_output=True, text=True, timeout=120,
        env={"EOLNEEDS_KEY": TEST_KEY, "PATH": "/usr/bin"})
    assert completed.returncode == 3
    assert "Traceback" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("Error")]
    assert errors == [
        "Error: deaths.csv: 5 of 5 rows would be quarantined (every row); the most common "
        "reason is \"date_of_death is not a date (expected dd/mm/yyyy or yyyy-mm-dd)\" "
        "(5 rows), so nothing from the file was loaded — set date_format in a new "
        "mappings/deaths.toml to the file's date format (e.g. date_format = \"%Y-%m-%d\")"]
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM ingest_log").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM rejects").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM deaths").fetchall() == [(0,)]
    finally:
        con.close()

    # The advice, followed literally, loads the file; --replace (nothing to replace, as
    # nothing was kept) too; each row once.
    (config.root / "mappings" / "deaths.toml").write_text(
        'dataset = "deaths"\ndate_format = "%d %m %Y"\n', encoding="utf-8")
    completed = subprocess.run(
        [str(EOLNEEDS), "ingest", "deaths", str(deaths), "--project", str(config.root),
         "--replace"], capture_output=True, text=True, timeout=120,
        env={"EOLNEEDS_KEY": TEST_KEY, "PATH": "/usr/bin"})
    assert completed.returncode == 0, completed.stderr
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT source_row) FROM deaths"
                           ).fetchall() == [(5, 5)]
    finally:
        con.close()


def test_more_than_the_share_quarantined_is_refused_and_the_share_is_configurable(tmp_path):
    header = "lsoa_code,place,imd_decile"
    rows = [header] + [f"E01{i:06d},P1,{11 if i <= 6 else 3}" for i in range(1, 11)]
    config = project(tmp_path / "p")
    areas = write(tmp_path / "areas.csv", rows)
    with pytest.raises(InputDataError) as caught:
        ingest_files(config, "areas", [areas], reporter=Reporter())
    assert str(caught.value) == (
        "areas.csv: 6 of 10 rows would be quarantined (more than 50% of the rows, the "
        "[ingest] max_rejected_share limit); the most common reason is \"imd_decile is not "
        "between 1 and 10\" (6 rows), so nothing from the file was loaded — check the "
        "[columns] mapping of imd_decile in a new mappings/areas.toml")
    assert not _count(config, "SELECT count(*) FROM ingest_log")

    config = project(tmp_path / "p", "\n[ingest]\nmax_rejected_share = 0.7\n")
    [result] = ingest_files(config, "areas", [areas], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (10, 4, 6)


def test_the_share_is_checked_in_config(tmp_path):
    from eolneeds.errors import ConfigError
    with pytest.raises(ConfigError) as caught:
        project(tmp_path / "p", "\n[ingest]\nmax_rejected_share = 1.5\n")
    assert "[ingest]: key 'max_rejected_share' must be between 0 and 1" in str(caught.value)


def test_no_nhs_number_is_kept_in_rejects_from_a_shifted_row(tmp_path):
    """A row shifted by one column puts the NHS number where a date should be: the
    reason and value quote it masked. Another bad date keeps the row's reason."""
    config = project(tmp_path / "p")
    header = "lsoa_code,place,imd_decile,rural_urban"
    areas = write(tmp_path / "areas.csv", [
        header, "E01000001,P1,3,Urban", "E01000002,P1,943 476 5919,Urban",
        "E01000003,P1,4,Rural", "E01000004,P1,9434765919,Urban"])
    [result] = ingest_files(config, "areas", [areas], reporter=Reporter())
    assert result.rows_rejected == 2
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        kept = con.execute("SELECT value, reason FROM rejects ORDER BY row_number").fetchall()
    finally:
        con.close()
    assert kept == [
        ("[10+ digits withheld]", "imd_decile '[10+ digits withheld]' is not a whole number"),
        ("[10+ digits withheld]", "imd_decile '[10+ digits withheld]' is not between 1 and "
                                  "10")]


def _count(config, sql: str) -> int:
    if not config.database_path.exists():
        return 0
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        return int(con.execute(sql).fetchall()[0][0])
    finally:
        con.close()


def test_duplicates_never_count_towards_refusing_a_file(tmp_path):
    """A rolling extract repeats most of the deaths already loaded: not a fault of the
    file. (It leaves out one earlier death, so it repeats the earlier load only in part
    and its repeats are quarantined as duplicates; an extract repeating the earlier load
    whole replaces it instead, test_cumulative_resupply.py.)"""
    config = project(tmp_path / "p")
    header = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
    rows = [f"P{i},0{i}/06/2024,80,F,E01000001,C34.9,Hospital" for i in range(1, 4)]
    ingest_files(config, "deaths", [write(tmp_path / "june.csv", [
        header, "P8,01/05/2024,80,F,E01000001,C34.9,Hospital", *rows])], reporter=Reporter())
    later = write(tmp_path / "june_july.csv",
                  [header, *rows, "P9,01/07/2024,80,F,E01000001,C34.9,Hospital"])
    # 3 of 4 rows quarantined, past the default refusal share of 50%: still loaded.
    [result] = ingest_files(config, "deaths", [later], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 1, 3)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM deaths").fetchone() == (5,)
    finally:
        con.close()


def test_an_impossible_age_is_derived_from_the_date_of_birth_else_unknown(tmp_path):
    config = project(tmp_path / "p", "\n[disclosure]\nmin_count = 0\n",
                     {"deaths": 'dataset = "deaths"\nnhs_number = true\n'})
    load_areas_and_population(config, tmp_path)
    header = ("person_id,date_of_death,date_of_birth,age,sex,lsoa_code,underlying_cause,"
              "place_of_death")
    deaths = write(tmp_path / "deaths.csv", [
        header,
        # row 2: age 999, born 10/06/1941, died 08/06/2024: 82 (83rd birthday two days on)
        f"{GOOD[0]},08/06/2024,10/06/1941,999,F,E01000001,C34.9,Hospital",
        f"{GOOD[1]},09/06/2024,,999,M,E01000002,I25.1,Home",  # row 3: age 999, no birth
        "4010232145,10/06/2024,,70,M,E01000002,I64,Home",      # row 4: age 70
    ])
    [result] = ingest_files(config, "deaths", [deaths], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        ages = con.execute("SELECT source_row, age FROM deaths ORDER BY 1").fetchall()
        actions = con.execute("SELECT row_number, column_name, value, action FROM "
                              "field_actions ORDER BY 1").fetchall()
    finally:
        con.close()
    assert ages == [(2, 82), (3, None), (4, 70)]
    assert [(row, column, value) for row, column, value, _ in actions] == [
        (2, "age", "999"), (3, "age", "999")]

    frame = _indicators_2024_25(config)
    # All three count in the all-ages figures; by age, 82 is 75-84, 70 is 65-74 and the
    # death with no age is in "unknown" only.
    assert pick(frame, "deaths")["numerator"] == 3
    assert pick(frame, "pod_home_pct")["numerator"] == 2
    assert [pick(frame, "pod_home_pct", "age_band", band)["denominator"]
            for band in ("75-84", "65-74", "unknown")] == [1, 1, 1]
    assert frame.filter(pl.col("indicator_id") == "pod_home_pct",
                        pl.col("area_code") == "QXX", pl.col("period") == "2024-25",
                        pl.col("breakdown") == "age_band")["denominator"].sum() == 3


class _SectionTables(HTMLParser):
    """The tables inside one <section id=...> of the report: caption -> rows of cell text
    (header row first)."""

    def __init__(self, section: str) -> None:
        super().__init__(convert_charrefs=True)
        self.section, self.depth = section, 0  # depth > 0: inside the section
        self.tables: dict[str, list[list[str]]] = {}
        self._caption: str | None = None
        self._rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += tag == "section"
        elif tag == "section" and dict(attrs).get("id") == self.section:
            self.depth = 1
        if not self.depth:
            return
        if tag == "table":
            self._caption, self._rows = "", []
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr":
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if not self.depth:
            return
        if tag == "section":
            self.depth -= 1
        elif tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._caption is not None:
            self.tables[self._caption.strip()] = self._rows
            self._caption = None

    def handle_data(self, data: str) -> None:
        if self._in_caption and self._caption is not None:
            self._caption += data
        elif self._cell is not None:
            self._cell.append(data)


def test_the_report_shows_the_field_actions_by_reason_in_data_quality(tmp_path):
    config = project(tmp_path / "p", "", {"deaths": 'dataset = "deaths"\nnhs_number = true\n'})
    load_areas_and_population(config, tmp_path)
    header = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
    deaths = write(tmp_path / "deaths.csv", [
        header,
        f"{GOOD[0]},05/06/2024,999,F,E01000001,C34.9,Hospital",        # row 2: age 999
        f"{GOOD[1]},06/06/2024,-1,M,E01000002,I25.1,Home",             # row 3: age -1
        f"{BAD_CHECK},07/06/2024,85,F,E01000001,C50.9,Caravan park",   # row 4: two faults
        "4010232145,08/06/2024,70,M,E01000002,I64,Home",               # row 5: clean
    ])
    ingest_files(config, "deaths", [deaths], reporter=Reporter())
    result = assess_project(config, AssessOptions(formats=["html"], out=tmp_path / "out"),
                            reporter=Reporter())
    [html] = [p for p in result.outputs if p.suffix == ".html"]
    parser = _SectionTables("data-quality")
    parser.feed(html.read_text(encoding="utf-8"))
    table = parser.tables["Fields blanked or set to unknown, by file and reason"]
    heads = [h.lower() for h in table[0]]
    rows = [dict(zip(heads, row, strict=True)) for row in table[1:]]
    # One line per file, column, action and reason, with its first row; its count (2, 1
    # and 1 here) is a count of 1-7 of people, withheld in a published report as in the
    # indicators (validate.protect_quality_tables; `validate` shows it).
    assert sorted((r["column name"], r["action"], r["rows"], r["first row"])
                  for r in rows) == [("age", "blanked", "*", "2"),
                                     ("person_id", "unlinked", "*", "4"),
                                     ("place_of_death", "set to unknown", "*", "4")]
    assert {r["file name"] for r in rows} == {"deaths.csv"}
    reasons = {r["column name"]: r["reason"] for r in rows}
    assert "not between 0 and 120" in reasons["age"]
    assert "not a valid NHS number" in reasons["person_id"]
    # Values are not quoted in the report: no identifier, no raw value.
    page = html.read_text(encoding="utf-8")
    assert BAD_CHECK not in page and "Caravan park" not in page


def _two_deaths_in_hospital(tmp_path):
    """A project with two deaths in hospital (GOOD[0] on 5 June 2024, GOOD[1] on 6 June)
    and the hes_apc mapping `sus_apcs` for their spells."""
    config = project(tmp_path / "p", "\n[disclosure]\nmin_count = 0\n", {
        "deaths": 'dataset = "deaths"\nnhs_number = true\n',
        "sus_apcs": 'dataset = "activity"\npreset = "hes_apc"\n'})
    load_areas_and_population(config, tmp_path)
    deaths = write(tmp_path / "deaths.csv", [
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death",
        f"{GOOD[0]},05/06/2024,80,F,E01000001,C34.9,Hospital",
        f"{GOOD[1]},06/06/2024,70,M,E01000002,I25.1,Hospital",
    ])
    ingest_files(config, "deaths", [deaths], reporter=Reporter())
    return config


def test_an_admission_whose_discharge_date_is_dash_or_n_a_still_counts(tmp_path):
    """SUS / warehouse exports write a spell with no discharge (a death in hospital) as
    '-' or 'N/A' as often as blank or NULL. The admission still happened: losing it
    undercounted 3+ emergency admissions in the last 90 days (newcomer3's real-shaped
    SUS spells: 68 of 603 spells quarantined, two Places' counts one short). The end
    date is blanked and recorded; the stay runs to the date of death."""
    config = _two_deaths_in_hospital(tmp_path)
    # 9876543210 (alive): weights 10..2 give 330, 330 mod 11 = 0, check digit 0. Its
    # elective stays make the APC data cover 2024-25 and the 90 days before it.
    spells = write(tmp_path / "sus_apcs_2024.csv", [
        "NHS_Number,Admission_Date,Discharge_Date,Admission_Method",
        "9876543210,2024-01-02,2024-01-03,11",
        f"{GOOD[0]},2024-04-10,2024-04-12,21",    # row 3: 3 days
        f"{GOOD[0]},2024-05-10,2024-05-11,2A",    # row 4: 2 days
        f"{GOOD[0]},2024-06-01,-,22",             # row 5: died in hospital, 5 days
        f"{GOOD[1]},2024-06-01,N/A,21",           # row 6: died in hospital, 6 days
        "9876543210,2025-03-30,2025-03-31,12",
    ])
    [result] = ingest_files(config, "activity", [spells], mapping="sus_apcs",
                            reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 6, 0)
    # '-' and 'N/A' are no value in any column (readers.NO_VALUE_TEXTS): an empty end,
    # not a fault to record.
    assert _count(config, "SELECT count(*) = 0 FROM field_actions")
    assert _count(config, "SELECT count(*) = 2 FROM activity WHERE end_date IS NULL")

    frame = _indicators_2024_25(config)
    assert (pick(frame, "ea_last90_any_pct")["numerator"],
            pick(frame, "ea_last90_any_pct")["denominator"]) == (2, 2)
    assert pick(frame, "ea_last90_3plus_pct")["numerator"] == 1
    # (3 + 2 + 5 + 6) bed days over 2 deaths, worked out by hand.
    assert pick(frame, "bed_days_last90_mean")["value"] == pytest.approx(8.0)


def test_an_admission_whose_end_is_before_its_start_counts_with_no_bed_days(tmp_path):
    """A spell discharged before it was admitted (2024-05-09 after 2024-05-10; the
    '01/01/1900' of a system's default date) was quarantined whole: an admission lost
    from every 'admissions in the last 90 days' count. The admission counts by its start;
    what cannot be known is how long it lasted, so the end is blanked and recorded
    (field_actions, validate) and the stay has no bed days, rather than running to the
    date of death as a stay with no end (a death in hospital) does."""
    config = _two_deaths_in_hospital(tmp_path)
    spells = write(tmp_path / "sus_apcs_2024.csv", [
        "NHS_Number,Admission_Date,Discharge_Date,Admission_Method",
        "9876543210,2024-01-02,2024-01-03,11",
        f"{GOOD[0]},2024-04-10,2024-04-12,21",    # row 3: 3 days
        f"{GOOD[0]},2024-05-10,2024-05-09,2A",    # row 4: ends before it starts
        f"{GOOD[0]},2024-06-01,01/01/1900,22",    # row 5: likewise
        f"{GOOD[1]},2024-06-01,2024-06-03,21",    # row 6: 3 days
        "9876543210,2025-03-30,2025-03-31,12",
    ])
    [result] = ingest_files(config, "activity", [spells], mapping="sus_apcs",
                            reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 6, 0)
    actions = query(config, "SELECT row_number, column_name, value, action, reason FROM "
                            "field_actions ORDER BY row_number")
    ends = query(config, "SELECT source_row, end_date FROM activity WHERE source_row IN "
                         "(4, 5) ORDER BY 1")
    assert [row[:4] for row in actions] == [(4, "end_date", "2024-05-09", "blanked"),
                                           (5, "end_date", "1900-01-01", "blanked")]
    assert all(reason.endswith("; the activity counts by its start, with no bed days (its "
                               "length is unknown)") and "is before" in reason
               for *_, reason in actions)
    assert ends == [(4, None), (5, None)]

    frame = _indicators_2024_25(config)
    # GOOD[0] had three emergency admissions in the 90 days before 5 June (10 April, 10
    # May, 1 June); GOOD[1] one. Before: rows 4 and 5 were lost, so 0 of 2 had 3+.
    assert pick(frame, "ea_last90_any_pct")["numerator"] == 2
    assert pick(frame, "ea_last90_3plus_pct")["numerator"] == 1
    # (3 + 0 + 0) and 3 bed days over 2 deaths, worked out by hand (run to the death
    # instead, rows 4 and 5 would have added 27 and 5 days).
    assert pick(frame, "bed_days_last90_mean")["value"] == pytest.approx(3.0)

    report = validate_project(config, reporter=Reporter())
    shown = report.table("field_actions_by_reason").frame
    assert list(zip(shown["column_name"], shown["action"], shown["rows"], strict=True)) == [
        ("end_date", "blanked", 2)]
