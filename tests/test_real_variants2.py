"""Real extracts beyond the sample's shapes, round 3: files as GP clinical systems,
hospital warehouses and Nomis write them, each built here by hand, then inspected and
ingested with only a preset or the mapping `inspect --write-mapping` wrote. Every
expected count is read off the rows below (the truth built into the file), never from
the code.

- A register grouped by practice: a sub-heading row ("Practice: B81001 Riverside", a
  merged cell across the table in a workbook, one field or trailing commas in a CSV)
  between the blocks of patients, and a count line under them.
- GP clinical systems' register reports: EMIS Web search output (search name, run date
  and population count above the header, a Total line below, dates '03-Jan-2025');
  SystmOne's report with a 'Patient Details' line above the header, dates '03 Jan 2025'.
- Hospital extracts with every value quoted, NULL for blanks, a delimiter closing every
  line and ICD-10 codes with their dagger or asterisk ('G30.9*', 'F00.9*').
- SUS SEM episodes without a spell identifier: two spells of a person begun the same day.
- ONS population by LSOA and single year of age downloaded from Nomis (NM_2014_1): title
  lines with the date, the area as '2021 super output area - lower layer' and
  'mnemonic', 'Age 0', 'Aged 1' .. 'Aged 90+', a table per sex under 'Sex :' lines and
  footnotes below; or the sex as a column and the code in the area column.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from eolneeds.cli import app
from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import FileResult, ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.reporting import Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write
from tests.test_national_extracts import N


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _onboard(tmp_path: Path, dataset: str, path: Path) -> FileResult:
    """inspect --write-mapping writes mappings/mine.toml for the file (with the preset
    inspect names, if any); ingest with it as written. Rows read = loaded + quarantined."""
    root = tmp_path / "p"
    make_project(root)
    result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", "mine",
                                      "--project", str(root)])
    assert result.exit_code == 0, result.output
    [res] = ingest_files(load_config(root), dataset, [path], mapping="mine",
                         reporter=Reporter())
    assert res.rows_read == res.rows_loaded + res.rows_rejected
    return res


def _csv(path: Path, lines: list[str], *, newline: str = "\n") -> Path:
    return write(path, newline.join(lines) + newline)


# --- Sub-heading rows inside the data ---------------------------------------------

HEADING = "heading row (words in column {} and no other value: a heading or a note, not a record)"


def test_merged_practice_headings_in_a_register_workbook_are_heading_rows(
        tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Register"
    sheet.append(["Palliative care register by practice"])
    sheet.append([])
    sheet.append(["NHS Number", "Date Added", "Preferred Place of Death", "DNACPR"])
    rows: list[list[object]] = [
        ["Practice: B81001 Riverside"],
        [N[0], date(2024, 1, 3), "Home", "Yes"],
        [N[1], date(2024, 2, 14), "Hospice", "No"],
        ["Practice: B81002 Hillside Surgery"],
        [N[2], date(2024, 3, 1), "Care home", "No"],
        # a patient whose NHS number is missing: a record, quarantined for that
        [None, date(2024, 3, 5), "Home", "Yes"],
        [N[3], date(2024, 3, 9), None, None],
    ]
    for row in rows:
        sheet.append(row)
    # Each heading spans the table, as the clinical system's report merges it.
    for excel_row in (4, 7):
        sheet.merge_cells(start_row=excel_row, start_column=1, end_row=excel_row,
                          end_column=4)
    path = tmp_path / "register_by_practice.xlsx"
    book.save(path)
    res = _onboard(tmp_path, "register", path)
    # 7 rows read: 4 patients load; 2 headings and the patient without a number are
    # quarantined, each for what it is.
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (7, 4, 3)
    config = make_project(tmp_path / "p")
    assert query(config, "SELECT row_number, reason FROM rejects ORDER BY row_number") == [
        (4, HEADING.format("NHS Number")),
        (7, HEADING.format("NHS Number")),
        (9, "person_id (NHS Number) is missing (a value is required)"),
    ]
    assert query(config, "SELECT date_added, preferred_place_of_death FROM register "
                 "ORDER BY source_row") == [
        (date(2024, 1, 3), "home"), (date(2024, 2, 14), "hospice"),
        (date(2024, 3, 1), "care_home"), (date(2024, 3, 9), None)]


def test_heading_and_count_lines_in_a_register_csv(tmp_path: Path) -> None:
    """In a CSV the heading is one field, or the heading and the table's other fields
    empty (trailing commas), and a count line closes the report. A row of one value
    that is a number or a date is no heading: it says nothing to tell it from a record
    missing its other fields, so it keeps the reasons it fails for."""
    path = _csv(tmp_path / "register.csv", [
        "NHS Number,Date Added,Preferred place of death",
        "Practice: B81001 Riverside,,",
        f"{N[0]},03/01/2024,Home",
        f"{N[1]},14/02/2024,Hospice",
        "Practice: B81002 Hillside",
        f"{N[2]},01/03/2024,Care home",
        ",05/03/2024,",
        "12345,,",
        "Patients: 3",
    ])
    res = _onboard(tmp_path, "register", path)
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (8, 3, 5)
    config = make_project(tmp_path / "p")
    reasons = dict(query(config, "SELECT row_number, reason FROM rejects"))
    assert {r for r, why in reasons.items() if why.startswith("heading row")} == {2, 5, 9}
    assert reasons[2] == HEADING.format("NHS Number")
    assert reasons[7] == "person_id (NHS Number) is missing (a value is required)"
    assert reasons[8] == "date_added (Date Added) is missing (a value is required)"


# --- SUS SEM episodes: two spells of a person begun on one day ---------------------

SEM_HEADER = ["AIMTC_Pseudo_NHS", "StartDate_HospitalProviderSpell",
              "DischargeDate_FromHospitalProviderSpell",
              "AdmissionMethod_HospitalProviderSpell", "StartDate_ConsultantEpisode",
              "EndDate_ConsultantEpisode", "TreatmentFunctionCode"]


def test_same_day_spells_without_a_spell_id_are_told_apart_by_their_discharge(
        tmp_path: Path) -> None:
    """No spell identifier: rows of a person, admission date and type are one spell's
    episodes only while they give one discharge date (SEM writes the spell's dates on
    every episode). Two spells begun the same day and discharged on different days are
    two admissions (REFERENCE.md counts spells by admission date)."""
    path = _csv(tmp_path / "apc_sem_episodes.csv", [",".join(r) for r in [SEM_HEADER,
        # A: admitted and discharged on 3 January, readmitted that day until the 8th
        # (two episodes): two emergency admissions.
        ["A", "2024-01-03", "2024-01-03", "21", "2024-01-03", "2024-01-03", "300"],
        ["A", "2024-01-03", "2024-01-08", "21", "2024-01-03", "2024-01-05", "300"],
        ["A", "2024-01-03", "2024-01-08", "21", "2024-01-05", "2024-01-08", "315"],
        # B: transferred on the day of admission to another provider (2B): two spells.
        ["B", "2024-01-10", "2024-01-10", "21", "2024-01-10", "2024-01-10", "300"],
        ["B", "2024-01-10", "2024-01-20", "2B", "2024-01-10", "2024-01-20", "300"],
        # C: one spell of two episodes: one admission.
        ["C", "2024-02-01", "2024-02-09", "22", "2024-02-01", "2024-02-04", "300"],
        ["C", "2024-02-01", "2024-02-09", "22", "2024-02-04", "2024-02-09", "300"],
        # D: one spell open at death, two episodes (no discharge date): one admission.
        ["D", "2024-03-01", "", "21", "2024-03-01", "2024-03-02", "300"],
        ["D", "2024-03-01", "", "21", "2024-03-02", "", "300"],
    ]])
    config = make_project(tmp_path / "p", {"activity": 'preset = "hes_apc"\n'})
    [res] = ingest_files(config, "activity", [path], reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (9, 9, 0)
    # The admissions, each ending when its own spell did.
    assert query(config, "SELECT source_row, admission_method, start_date, end_date FROM "
                 "activity WHERE activity_type = 'emergency_admission' "
                 "ORDER BY source_row") == [
        (2, "21", date(2024, 1, 3), date(2024, 1, 3)),
        (3, "21", date(2024, 1, 3), date(2024, 1, 8)),
        (5, "21", date(2024, 1, 10), date(2024, 1, 10)),
        (6, "2B", date(2024, 1, 10), date(2024, 1, 20)),
        (7, "22", date(2024, 2, 1), date(2024, 2, 9)),
        (9, "21", date(2024, 3, 1), None),
    ]
    assert query(config, "SELECT count(*) FROM activity WHERE activity_type = 'other'") \
        == [(3,)]


def test_episodes_giving_the_discharge_on_the_last_only_stay_one_spell(
        tmp_path: Path) -> None:
    """Episodes without a discharge date beside those of a spell with one are that
    spell's earlier episodes (HES writes DISDATE on a spell's last episode only), not
    another spell: one admission, its first episode, ending at the discharge."""
    path = _csv(tmp_path / "apc_episodes.csv", [
        "NHS_NUMBER,ADMIDATE,DISDATE,ADMIMETH,EPISTART,EPIEND",
        f"{N[0]},2024-03-01,,21,2024-03-01,2024-03-02",
        f"{N[0]},2024-03-01,,21,2024-03-02,2024-03-05",
        f"{N[0]},2024-03-01,2024-03-09,21,2024-03-05,2024-03-09",
    ])
    config = make_project(tmp_path / "p", {"activity": 'preset = "hes_apc"\n'})
    [res] = ingest_files(config, "activity", [path], reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (3, 3, 0)
    assert query(config, "SELECT activity_type, end_date FROM activity "
                 "ORDER BY source_row") == [
        ("emergency_admission", date(2024, 3, 9)), ("other", date(2024, 3, 5)),
        ("other", date(2024, 3, 9))]


# --- ONS population from Nomis ---------------------------------------------------------

NOMIS_AGES = ["Age 0"] + [f"Aged {a}" for a in range(1, 90)] + ["Aged 90+"]
BANDS = [(f"{lo}-{lo + 4}", range(lo, lo + 5)) for lo in range(0, 90, 5)] + [
    ("90+", range(90, 91))]


def _people(lsoa: int, sex: str, age: int) -> int:
    """The population written for an LSOA (1 or 2), sex and single year of age."""
    return lsoa * 10 + (3 if sex == "female" else 0) + age % 7


def _truth(lsoas: dict[str, int], year: int) -> list[tuple[str, int, str, str, float]]:
    """Every (lsoa, year, sex, band, population) the files below hold, summed here."""
    return sorted((code, year, sex, band, float(sum(_people(n, sex, a) for a in ages)))
                  for code, n in lsoas.items() for sex in ("female", "male")
                  for band, ages in BANDS)


def _population(config) -> list[tuple]:  # type: ignore[no-untyped-def]
    return query(config, "SELECT lsoa_code, year, sex, age_band, population FROM "
                 "population ORDER BY ALL")


def test_nomis_csv_with_a_table_per_sex_and_footnotes(tmp_path: Path) -> None:
    lsoas = {"E01011949": 1, "E01011950": 2}
    lines = [["Population estimates - small area (2021 based) by single year of age - "
              "England and Wales"],
             ["ONS Crown Copyright Reserved [from Nomis on 3 December 2026]"],
             ["Date       :", "2022"], ["Units      :", "Persons"]]
    for sex, said in (("male", "Male"), ("female", "Female")):
        lines += [["Sex        :", said], [],
                  ["2021 super output area - lower layer", "mnemonic", "Total", *NOMIS_AGES]]
        for code, n in lsoas.items():
            ages = [_people(n, sex, a) for a in range(91)]
            lines.append([f"Hartlepool 00{n}A", code, str(sum(ages)), *map(str, ages)])
        lines.append([])
    lines += [["In line with the ONS's disclosure policy, small estimates are not exact"],
              ["Crown copyright"]]
    path = _csv(tmp_path / "nomis_download.csv",
                [",".join(f'"{c}"' for c in line) for line in lines])
    res = _onboard(tmp_path, "population", path)
    # 2 LSOAs x 2 sexes x 19 bands; the labels, headers and footnotes are not rows.
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (76, 76, 0)
    assert _population(make_project(tmp_path / "p")) == _truth(lsoas, 2022)
    # Rows are numbered as the file's lines: the first male row is line 8.
    assert query(make_project(tmp_path / "p"), "SELECT min(source_row) FROM population "
                 "WHERE sex = 'male'") == [(8,)]


def test_nomis_workbook_with_sex_as_a_column_and_no_date(tmp_path: Path) -> None:
    """An xlsx download with the sex as a column (a persons row beside each LSOA's male
    and female rows, not read: it is them again), the code before the name in the area
    column, 'Age 90+', and no date line: the year is asked for, and given as advised the
    file ingests."""
    lsoas = {"E01000001": 1, "E01000002": 2}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Nomis"
    sheet.append(["Population estimates - small area (2021 based) by single year of age"])
    sheet.append([])
    sheet.append(["2021 super output area - lower layer", "Sex", "All Ages",
                  *[f"Age {a}" for a in range(90)], "Age 90+"])
    for code, n in lsoas.items():
        for sex, said in (("male", "Males"), ("female", "Females"), (None, "Persons")):
            ages = ([_people(n, sex, a) for a in range(91)] if sex else
                    [_people(n, "male", a) + _people(n, "female", a) for a in range(91)])
            sheet.append([f"{code} : City of London 00{n}A", said, sum(ages), *ages])
    path = tmp_path / "nomis.xlsx"
    book.save(path)
    root = tmp_path / "p"
    make_project(root)
    result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", "mine",
                                      "--project", str(root)])
    assert result.exit_code == 0, result.output
    assert 'preset = "ons_population"' in (root / "mappings" / "mine.toml").read_text(
        encoding="utf-8")
    with pytest.raises(InputDataError) as refused:
        ingest_files(load_config(root), "population", [path], mapping="mine",
                     reporter=Reporter())
    assert "add year = YYYY (the estimates' year) to" in str(refused.value)
    with (root / "mappings" / "mine.toml").open("a", encoding="utf-8") as f:
        f.write("year = 2023\n")
    [res] = ingest_files(load_config(root), "population", [path], mapping="mine",
                         reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (76, 76, 0)
    assert _population(load_config(root)) == _truth(lsoas, 2023)


# --- GP clinical systems' register reports -------------------------------------------


def test_emis_search_report_with_metadata_above_and_a_total_below(tmp_path: Path) -> None:
    path = _csv(tmp_path / "emis_palliative_register.csv", [
        '"Search: Palliative care register (QOF PC001)"',
        '"Run date: 03-Jan-2025 09:14"',
        '"Population count: 4"',
        '"Parent: [QOF] Palliative care"',
        "",
        '"NHS Number","Date Added","Preferred place of death","DNACPR"',
        f'"{N[0][:3]} {N[0][3:6]} {N[0][6:]}","03-Jan-2025","Home","Yes"',
        f'"{N[1]}","14-Feb-2024","Hospice","No"',
        f'"{N[2]}","01-Mar-2024","","No"',
        f'"{N[3]}","20-Dec-2023","Care home","Yes"',
        '"Total: 4"',
    ], newline="\r\n")
    res = _onboard(tmp_path, "register", path)
    # The four patients; the Total line quarantined as a totals row.
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (5, 4, 1)
    config = make_project(tmp_path / "p")
    assert query(config, "SELECT date_added, preferred_place_of_death, dnacpr FROM "
                 "register ORDER BY source_row") == [
        (date(2025, 1, 3), "home", True), (date(2024, 2, 14), "hospice", False),
        (date(2024, 3, 1), None, False), (date(2023, 12, 20), "care_home", True)]
    assert query(config, "SELECT row_number, reason FROM rejects") == [
        (11, "row looks like a totals row (Total: 4)")]


def test_systmone_report_with_dates_in_words_and_spaces(tmp_path: Path) -> None:
    """inspect shows the dates ('03 Jan 2025': a number beside a word, which it took for
    an address and withheld), and the mapping it writes reads them."""
    path = _csv(tmp_path / "systmone_register.csv", [
        '"Patient Details","","",""',
        '"NHS Number","Date Added to Register","Preferred Place of Death","DNACPR Status"',
        f'"{N[0]}","03 Jan 2025","Home","Yes"',
        f'"{N[1]}","14 Feb 2024 10:30","Hospice","No"',
    ])
    [column] = [c for c in inspect_file(path).columns if c.name == "Date Added to Register"]
    assert column.examples[:2] == ["03 Jan 2025", "14 Feb 2024 10:30"]
    res = _onboard(tmp_path, "register", path)
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (2, 2, 0)
    assert query(make_project(tmp_path / "p"), "SELECT date_added FROM register ORDER BY "
                 "source_row") == [(date(2025, 1, 3),), (date(2024, 2, 14),)]


# --- Hospital extracts: every value quoted, NULL, a closing delimiter ------------------


def test_quoted_null_and_closing_delimiters_with_dagger_and_asterisk_codes(
        tmp_path: Path) -> None:
    header = ("DEC_NHS_NUMBER|REG_DATE_OF_DEATH|DEC_AGEC|DEC_SEX|DEC_LSOA|"
              "S_UNDERLYING_COD_ICD10|S_COD_CODE_1|S_COD_CODE_2|POD_CODE|"
              "POD_NHS_ESTABLISHMENT|POD_ESTABLISHMENT_TYPE")
    rows = [[N[0], "20240103", "85", "1", "E01000001", "G30.9*", "F00.9*", "NULL", "H",
             "NULL", "NULL"],
            [N[1], "20240104", "NULL", "2", "E01000002", "F00.9*", "G30.9\u2020", "NULL",
             "NULL", "1", "01"]]
    path = _csv(tmp_path / "deaths.txt", [
        "|".join(f'"{h}"' for h in header.split("|")) + "|",
        *("|".join(f'"{v}"' for v in r) + "|" for r in rows)], newline="\r\n")
    res = _onboard(tmp_path, "deaths", path)
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (2, 2, 0)
    config = make_project(tmp_path / "p")
    # NULL is no value: no age, no place code, not a cause; the marks are dropped.
    assert query(config, "SELECT date_of_death, age, sex, lsoa_code, underlying_cause, "
                 "contributory_causes, place_of_death FROM deaths ORDER BY source_row") == [
        (date(2024, 1, 3), 85, "male", "E01000001", "G309", ["F009"], "home"),
        (date(2024, 1, 4), None, "female", "E01000002", "F009", ["G309"], "hospital")]
    assert query(config, "SELECT count(*) FROM field_actions") == [(0,)]
