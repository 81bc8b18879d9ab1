"""Presets as starting points: column-name variants, recognise(), overrides; the
national reference workbooks (ONS population, IoD File 1, LSOA-to-Place lookups); sheet
and header-row detection."""

from __future__ import annotations

import re

import openpyxl
import pytest

from eolneeds import presets, readers
from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file, mapping_text
from eolneeds.reporting import RecordingReporter, Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write

PCMD = ["DEC_NHS_NUMBER", "REG_DATE_OF_DEATH", "REG_DATE", "DEC_AGEC", "DEC_SEX", "DEC_LSOA",
        "S_UNDERLYING_COD_ICD10", "S_COD_CODE_1", "POD_CODE", "POD_NHS_ESTABLISHMENT",
        "POD_ESTABLISHMENT_TYPE"]
ONS_2022 = (["LAD 2021 Code", "LAD 2021 Name", "LSOA 2021 Code", "LSOA 2021 Name", "Total"]
            + [f"F{a}" for a in range(91)] + [f"M{a}" for a in range(91)])
ONS_2020 = (["LSOA Code", "LSOA Name", "LA Code (2018 boundaries)", "LA name (2018 boundaries)",
             "LA Code (2021 boundaries)", "LA name (2021 boundaries)", "All Ages"]
            + [str(a) for a in range(90)] + ["90+"])
IOD_2019 = ["LSOA code (2011)", "LSOA name (2011)", "Local Authority District code (2019)",
            "Local Authority District name (2019)", "Index of Multiple Deprivation (IMD) Rank",
            "Index of Multiple Deprivation (IMD) Decile"]
IOD_2025 = ["LSOA code (2021)", "LSOA name (2021)", "Local Authority District code (2024)",
            "Local Authority District name (2024)",
            "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
            "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of "
            "LSOAs)"]


@pytest.mark.parametrize(("headers", "expected"), [
    (PCMD, "pcmd_deaths"),
    ([h.replace("DEC_LSOA", "LSOA_OF_RESIDENCE_CODE").replace("DEC_NHS_NUMBER", "NHS_NUMBER")
      for h in PCMD], "pcmd_deaths"),
    ([h.lower() for h in PCMD], "pcmd_deaths"),  # case-insensitive
    (["PERSON_ID", "ADMIDATE", "DISDATE", "ADMIMETH", "TRETSPEF", "SPELL_COST"], "hes_apc"),
    (["NHS_NUMBER", "ADMIDATE", "DISDATE", "ADMIMETH", "TREATMENT_FUNCTION_CODE", "COST"],
     "hes_apc"),
    (["NHSNUMBER", "ARRIVALDATE", "COST"], "ecds_ae"),
    (["PERSON_ID", "ARRIVAL_DATE"], "ecds_ae"),
    (ONS_2022, "ons_population"),
    (ONS_2020, "ons_population"),
    (IOD_2019, "iod_file1"),
    (IOD_2025, "iod_file1"),
    ([" lsoa code (2021) ", "Index of Multiple Deprivation (IMD) Decile"], "iod_file1"),
    (["LSOA21CD", "Place name"], "lsoa_place_lookup"),
    (["LSOA11CD", "LAD22CD"], "lsoa_place_lookup"),
    (["LSOA code", "Place"], "lsoa_place_lookup"),
    # canonical names need no preset; unknown layouts are none
    (["lsoa_code", "place", "imd_decile"], None),
    (["person_id", "date_of_death", "sex", "place_of_death"], None),
    (["a", "b", "c"], None),
    ([], None),
])
def test_recognise(headers, expected):
    assert presets.recognise(headers) == expected


def test_every_preset_is_registered_and_described():
    for name in presets.PRESETS:
        preset = presets.get_preset(name)
        assert preset.name == name and preset.description


def test_resolve_names_the_variant_used_and_leaves_overridden_columns_alone():
    preset = presets.get_preset("pcmd_deaths")
    headers = [h.replace("DEC_LSOA", "LSOA_OF_RESIDENCE_CODE") for h in PCMD]
    found = presets.resolve(preset, headers)
    assert found.missing == []
    assert found.columns["lsoa_code"] == "LSOA_OF_RESIDENCE_CODE"
    assert found.describe() == "person_id from DEC_NHS_NUMBER, lsoa_code from " \
                               "LSOA_OF_RESIDENCE_CODE"
    # Without any LSOA column it is missing -- unless the mapping maps lsoa_code itself.
    headers = [h for h in PCMD if h != "DEC_LSOA"]
    assert [c for c, _ in presets.resolve(preset, headers).missing] == ["lsoa_code"]
    assert presets.resolve(preset, headers, overridden={"lsoa_code"}).missing == []


def test_underscores_and_spaces_name_the_same_column():
    # A spreadsheet's "NHS Number" is a warehouse's NHS_NUMBER (red team: an A&E
    # extract with "NHS Number" and "Arrival Date" was refused under ecds_ae).
    assert presets.find_header("NHS_NUMBER", ["Arrival Date", "NHS  Number"]) == "NHS  Number"
    assert presets.find_header("date_of_death", ["Date of Death"]) == "Date of Death"
    assert presets.find_header("NHS_NUMBER", ["NHS-Number"]) is None
    found = presets.resolve(presets.get_preset("ecds_ae"), ["NHS Number", "Arrival Date"])
    assert (found.missing, found.columns["person_id"], found.columns["start_date"]) == (
        [], "NHS Number", "Arrival Date")


def test_iod_vintage_follows_the_lsoa_header():
    preset = presets.get_preset("iod_file1")
    assert presets.resolve(preset, IOD_2019).defaults == {"lsoa_vintage": "2011"}
    assert presets.resolve(preset, IOD_2025).defaults == {"lsoa_vintage": "2021"}


@pytest.mark.parametrize(("rows", "expected"), [
    ([["a", "b"], [1, 2]], 0),
    ([["Mid-2022 population estimates"], ["Source: ONS"], [], ["x", "y", "z"], [1, 2, 3]], 3),
    ([["Title"], [None, None], ["LSOA Code", "All Ages", 0, 1], ["E01", 5, 1, 2]], 2),
    ([[1, 2, 3], [4, 5, 6]], None),  # numbers only: no header
    ([], None),
])
def test_detect_header_row(rows, expected):
    assert readers.detect_header_row(rows)[0] == expected


def test_detect_header_row_prefers_the_row_the_test_accepts():
    rows = [["Contents", "Page"], ["a", "b"], ["person_id", "date"], ["P1", "2023-01-01"]]
    assert readers.detect_header_row(rows, lambda h: "person_id" in h) == (2, True)
    assert readers.detect_header_row(rows) == (0, False)


def test_scan_workbook_finds_each_sheets_header(tmp_path):
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "Cover"
    cover.append(["Population estimates"])
    data = book.create_sheet("Mid-2022 LSOA 2021")
    data.append(["Mid-2022 estimates"])
    data.append(["Source: ONS"])
    data.append([])
    data.append(["LSOA 2021 Code", "Total", "F0"])
    data.append(["E01000001", 1500, 10])
    book.save(tmp_path / "pop.xlsx")
    sheets = readers.scan_workbook(tmp_path / "pop.xlsx", lambda h: "Total" in h)
    assert [(s.name, s.header_row, s.matched) for s in sheets] == [
        ("Cover", None, False), ("Mid-2022 LSOA 2021", 4, True)]
    assert sheets[1].headers == ["LSOA 2021 Code", "Total", "F0"]
    assert sheets[1].sample == [["E01000001", "1500", "10"]]
    assert readers.choose_sheet("pop.xlsx", sheets).name == "Mid-2022 LSOA 2021"
    with pytest.raises(Exception, match="no sheet has the columns"):
        readers.choose_sheet("pop.xlsx", readers.scan_workbook(tmp_path / "pop.xlsx",
                                                              lambda h: False))


# ---------------------------------------------------------------------------------------
# Ingest with presets


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _messages(reporter: RecordingReporter) -> list[str]:
    return [f["text"] for name, f in reporter.events if name == "message"]


def test_pcmd_preset_alone_reads_lsoa_of_residence_code(tmp_path):
    config = make_project(tmp_path / "p", {"deaths": 'preset = "pcmd_deaths"\n'})
    header = ",".join(h.replace("DEC_LSOA", "LSOA_OF_RESIDENCE_CODE") for h in PCMD)
    path = write(tmp_path / "pcmd.csv", header + "\r\n"
                 + "9434765919,20230105,20230110,85,2,E01000001,C349,I251,H,,\r\n",
                 encoding="cp1252")
    reporter = RecordingReporter()
    [result] = ingest_files(config, "deaths", [path], reporter=reporter)
    assert (result.rows_loaded, result.rows_rejected) == (1, 0)
    assert query(config, "SELECT lsoa_code, place_of_death FROM deaths") == [
        ("E01000001", "home")]
    assert "pcmd.csv: pcmd_deaths: person_id from DEC_NHS_NUMBER, lsoa_code from " \
           "LSOA_OF_RESIDENCE_CODE" in _messages(reporter)


def test_hes_preset_with_person_id_overridden(tmp_path):
    # The preset's own identifier names are not in the file: the mapping names it.
    config = make_project(tmp_path / "p", {"hes": 'dataset = "activity"\npreset = "hes_apc"\n'
                                                  '[columns]\nperson_id = "NHS_NUMBER"\n'})
    path = write(tmp_path / "hes.txt", "\ufeff" + "\n".join([
        "NHS_NUMBER|ADMIDATE|DISDATE|ADMIMETH|TREATMENT_FUNCTION_CODE|COST",
        '9434765919|2023-01-01|2023-01-03|21|300|"1,234.50"',
        "9434765919|2023-01-04||2B|315|",
    ]) + "\n")
    reporter = RecordingReporter()
    [result] = ingest_files(config, "activity", [path], mapping="hes", reporter=reporter)
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)
    assert query(config, "SELECT activity_type, treatment_function, cost, end_date IS NULL "
                 "FROM activity ORDER BY source_row") == [
        ("emergency_admission", "300", 1234.5, False),
        ("emergency_admission", "315", None, True)]
    assert "hes.txt: hes_apc: treatment_function from TREATMENT_FUNCTION_CODE, cost from " \
           "COST" in _messages(reporter)


def test_override_replaces_a_preset_column_the_file_lacks(tmp_path):
    # DEC_LSOA is absent and the file calls it "Residence LSOA": the preset's required
    # LSOA is satisfied by the mapping's own [columns].
    mapping = 'preset = "pcmd_deaths"\n[columns]\nlsoa_code = "Residence LSOA"\n'
    config = make_project(tmp_path / "p", {"deaths": mapping})
    header = ",".join(h.replace("DEC_LSOA", "Residence LSOA") for h in PCMD)
    path = write(tmp_path / "pcmd.csv", header + "\n"
                 + "9434765919,20230105,20230110,85,2,E01000009,C349,I251,H,,\n")
    ingest_files(config, "deaths", [path], reporter=Reporter())
    assert query(config, "SELECT lsoa_code FROM deaths") == [("E01000009",)]


def test_preset_missing_column_advice_works_when_followed(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"deaths": 'preset = "pcmd_deaths"\n'})
    header = ",".join(h.replace("DEC_LSOA", "LSOA of usual residence") for h in PCMD)
    path = write(tmp_path / "pcmd.csv", header + "\n"
                 + "9434765919,20230105,20230110,85,2,E01000001,C349,I251,H,,\n")
    with pytest.raises(InputDataError) as caught:
        ingest_files(config, "deaths", [path], reporter=Reporter())
    message = str(caught.value)
    assert message.startswith("pcmd.csv: required column lsoa_code as one of 'DEC_LSOA', ")
    advice = f'add lsoa_code = "LSOA of usual residence" under [columns] in {root / "mappings"}'
    assert advice in message
    # Follow it literally.
    with (root / "mappings" / "deaths.toml").open("a", encoding="utf-8") as fh:
        fh.write('[columns]\nlsoa_code = "LSOA of usual residence"\n')
    [result] = ingest_files(load_config(root), "deaths", [path], reporter=Reporter())
    assert result.rows_loaded == 1


def test_workbook_data_sheet_and_header_found_without_sheet_or_header_row(tmp_path):
    config = make_project(tmp_path / "p", {"register": 'nhs_number = false\n[columns]\n'
                                                       'person_id = "Patient"\n'
                                                       'date_added = "Added"\n'})
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["About this register"])
    book.active.append(["Field", "Meaning"])
    data = book.create_sheet("Register")
    data.append(["Palliative care register, March 2025"])
    data.append([])
    data.append(["Patient", "Added"])
    data.append(["P1", "01/02/2023"])
    data.append(["P2", "02/02/2023"])
    book.save(tmp_path / "register.xlsx")
    [result] = ingest_files(config, "register", [tmp_path / "register.xlsx"],
                            reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (2, 2)
    assert query(config, "SELECT source_row FROM register ORDER BY 1") == [(4,), (5,)]


def test_workbook_with_no_matching_sheet_lists_them_and_the_advice_works(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"register": 'nhs_number = false\n[columns]\n'
                                             'person_id = "Patient"\n'
                                             'date_added = "Added"\n'})
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["Field", "Meaning"])
    data = book.create_sheet("Register")
    data.append(["Pat", "Added on"])
    data.append(["P1", "01/02/2023"])
    book.save(tmp_path / "register.xlsx")
    with pytest.raises(InputDataError) as caught:
        ingest_files(config, "register", [tmp_path / "register.xlsx"], reporter=Reporter())
    assert str(caught.value) == (
        "register.xlsx: no sheet has the columns the mapping reads (sheets: 'Notes' (row 1: "
        "Field, Meaning); 'Register' (row 1: Pat, Added on)) — set sheet = \"NAME\" to the "
        f"data sheet in {root / 'mappings' / 'register.toml'}, and map its columns under "
        "[columns]")
    (root / "mappings" / "register.toml").write_text(
        'nhs_number = false\nsheet = "Register"\n[columns]\nperson_id = "Pat"\n'
        'date_added = "Added on"\n', encoding="utf-8")
    [result] = ingest_files(load_config(root), "register", [tmp_path / "register.xlsx"],
                            reporter=Reporter())
    assert result.rows_loaded == 1


# ---------------------------------------------------------------------------------------
# The national reference files as published



def two_place_project(root, mappings):
    return make_project(root, mappings,
                        extra='\n[[places]]\ncode = "P2"\nname = "Ashby & District"\n')


def _ons_current(path, year=2022, sheet=None, bad=None):
    """Cover, Contents, Notes, then the data sheet; header on row 4. Two LSOAs: the
    first has single-year counts a + 1 (female) and 2a + 1 (male) at age a, the second
    1 at every age and sex."""
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.active.append([f"Mid-{year} population estimates"])
    contents = book.create_sheet("Contents")
    contents.append(["Worksheet name", "Worksheet title"])
    contents.append(["Notes", "Notes"])
    book.create_sheet("Notes").append(["Note number", "Note text"])
    data = book.create_sheet(sheet or f"Mid-{year} LSOA 2021")
    data.append([f"Mid-{year} population estimates for LSOAs in England and Wales"])
    data.append(["This worksheet contains one table."])
    data.append(["Source: Office for National Statistics"])
    data.append(["LAD 2021 Code", "LAD 2021 Name", "LSOA 2021 Code", "LSOA 2021 Name", "Total"]
                + [f"F{a}" for a in range(91)] + [f"M{a}" for a in range(91)])
    first = [a + 1 for a in range(91)] + [2 * a + 1 for a in range(91)]
    second = [1] * 182
    if bad:
        first[bad] = "x"
    data.append(["E06000001", "Hartlepool", "E01000001", "Hartlepool 001A", 0] + first)
    data.append(["E06000001", "Hartlepool", "E01000002", "Hartlepool 001B", 182] + second)
    book.save(path)
    return path


def _ons_old(path, year=2020):
    """A sheet per sex (and persons, ignored); header on row 5; 0..89 and 90+. One LSOA:
    males 2 at every age, females 3; persons (ignored) 1000."""
    book = openpyxl.Workbook()
    book.active.title = "Contents"
    header = (["LSOA Code", "LSOA Name", "LA Code (2018 boundaries)", "LA name (2018 boundaries)",
               "LA Code (2021 boundaries)", "LA name (2021 boundaries)", "All Ages"]
              + list(range(90)) + ["90+"])
    for label, count in (("Persons", 1000), ("Males", 2), ("Females", 3)):
        sheet = book.create_sheet(f"Mid-{year} {label}")
        sheet.append([f"Mid-{year} Population Estimates for Lower Layer Super Output Areas"])
        sheet.append(["Lower Layer Super Output Area population estimates"])
        sheet.append(["All ages"])
        sheet.append([])
        sheet.append(header)
        sheet.append(["E01000003", "Adur 001A", "E07000223", "Adur", "E07000223", "Adur",
                      91 * count] + [count] * 91)
    book.save(path)
    return path


def test_ons_current_layout_banded_to_the_long_table(tmp_path):
    config = two_place_project(tmp_path / "p", {"population": 'preset = "ons_population"\n'})
    reporter = RecordingReporter()
    [result] = ingest_files(config, "population", [_ons_current(tmp_path / "ons.xlsx")],
                            reporter=reporter)
    assert (result.rows_read, result.rows_loaded) == (2 * 2 * 19, 2 * 2 * 19)
    rows = {(lsoa, sex, band): (year, pop, row) for lsoa, year, sex, band, pop, row in query(
        config, "SELECT lsoa_code, year, sex, age_band, population, source_row FROM population")}
    # Worked by hand: females aged 0-4 are 1+2+3+4+5 = 15; 85-89 are 86+...+90 = 440;
    # 90+ is 91. Males 0-4: 1+3+5+7+9 = 25; 90+: 181.
    assert rows[("E01000001", "female", "0-4")] == (2022, 15.0, 5)
    assert rows[("E01000001", "female", "85-89")] == (2022, 440.0, 5)
    assert rows[("E01000001", "female", "90+")] == (2022, 91.0, 5)
    assert rows[("E01000001", "male", "0-4")] == (2022, 25.0, 5)
    assert rows[("E01000001", "male", "90+")] == (2022, 181.0, 5)
    assert rows[("E01000002", "male", "5-9")] == (2022, 5.0, 6)
    assert rows[("E01000002", "female", "90+")] == (2022, 1.0, 6)
    assert query(config, "SELECT sum(population) FROM population WHERE lsoa_code = 'E01000002'"
                 ) == [(182.0,)]
    assert ("ons.xlsx: ons_population: sheet 'Mid-2022 LSOA 2021' (header on row 4), year "
            "2022, F0..F90 and M0..M90") in _messages(reporter)


def test_ons_older_layout_one_sheet_per_sex(tmp_path):
    config = two_place_project(tmp_path / "p", {"population": 'preset = "ons_population"\n'})
    reporter = RecordingReporter()
    [result] = ingest_files(config, "population", [_ons_old(tmp_path / "old.xlsx")],
                            reporter=reporter)
    assert ("old.xlsx: ons_population: sheet 'Mid-2020 Males' (header on row 5), year 2020, "
            "males, 0..89 and 90+; sheet 'Mid-2020 Females' (header on row 5), year 2020, "
            "females, 0..89 and 90+") in _messages(reporter)
    assert (result.rows_read, result.rows_loaded) == (2 * 19, 2 * 19)
    assert query(config, "SELECT sex, sum(population), count(*), min(year) FROM population "
                 "GROUP BY sex ORDER BY sex") == [("female", 273.0, 19, 2020),
                                                 ("male", 182.0, 19, 2020)]
    assert query(config, "SELECT population FROM population WHERE sex = 'male' AND "
                 "age_band IN ('0-4', '90+') ORDER BY age_band") == [(10.0,), (2.0,)]


def test_ons_year_from_the_mapping_when_the_workbook_does_not_say_it(tmp_path):
    root = tmp_path / "p"
    config = two_place_project(root, {"population": 'preset = "ons_population"\n'})
    path = _ons_current(tmp_path / "ons.xlsx", year="", sheet="Data")
    with pytest.raises(InputDataError) as caught:
        ingest_files(config, "population", [path], reporter=Reporter())
    assert str(caught.value) == (
        "ons.xlsx: sheet 'Data' does not say its year (no 'Mid-YYYY' in the sheet name or the "
        "title rows) — add year = YYYY (the estimates' year) to "
        f"{root / 'mappings' / 'population.toml'}")
    with (root / "mappings" / "population.toml").open("a", encoding="utf-8") as fh:
        fh.write("year = 2023\n")
    [result] = ingest_files(load_config(root), "population", [path], reporter=Reporter())
    assert result.rows_loaded == 76
    assert query(config, "SELECT DISTINCT year FROM population") == [(2023,)]


def test_ons_cell_that_is_not_a_number_rejects_its_band_with_sheet_and_row(tmp_path):
    config = two_place_project(tmp_path / "p", {"population": 'preset = "ons_population"\n'})
    [result] = ingest_files(config, "population", [_ons_current(tmp_path / "o.xlsx", bad=7)],
                            reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (76, 75, 1)
    assert query(config, "SELECT row_number, column_name, reason FROM rejects") == [
        (5, "population", "sheet Mid-2022 LSOA 2021: population 'F7: x' is not a number")]


def _iod(path, vintage):
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append([f"English Indices of Deprivation {vintage}"])
    if vintage == 2019:
        data = book.create_sheet("IMD2019")
        data.append(["LSOA code (2011)", "LSOA name (2011)",
                     "Local Authority District code (2019)",
                     "Local Authority District name (2019)",
                     "Index of Multiple Deprivation (IMD) Rank",
                     "Index of Multiple Deprivation (IMD) Decile"])
    else:
        data = book.create_sheet("IoD2025")
        data.append(["LSOA code (2021)", "LSOA name (2021)",
                     "Local Authority District code (2024)",
                     "Local Authority District name (2024)",
                     "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
                     "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived "
                     "10% of LSOAs)"])
    # Two LSOAs of the ICB and one of a neighbour (all England: expected, not an error).
    data.append(["E01000001", "A 001A", "E06000001", "A", 100, 1])
    data.append(["E01000002", "A 001B", "E06000001", "A", 20000, 7])
    data.append(["E01099999", "Elsewhere 001A", "E06000099", "Elsewhere", 30000, 10])
    book.save(path)
    return path


@pytest.mark.parametrize("vintage", [2019, 2025])
def test_iod_file1_both_vintages_into_the_areas(tmp_path, vintage):
    # Ingested as `areas` with the preset: loaded into `deprivation`, with the lookup
    # (Place names and codes) giving the Places; the view combines them.
    lsoa = "LSOA11CD" if vintage == 2019 else "LSOA21CD"
    config = two_place_project(tmp_path / "p", {
        "iod_file1": 'dataset = "areas"\npreset = "iod_file1"\n',
        "lookup": 'dataset = "areas"\npreset = "lsoa_place_lookup"\n'})
    lookup = write(tmp_path / "lookup.csv", f"{lsoa},Place name\nE01000001,Place One\n"
                   "E01000002, ashby & district \n")
    [result] = ingest_files(config, "areas", [_iod(tmp_path / "iod.xlsx", vintage)],
                            mapping="iod_file1", reporter=Reporter())
    assert (result.dataset, result.rows_read, result.rows_loaded) == ("deprivation", 3, 3)
    ingest_files(config, "areas", [lookup], mapping="lookup", reporter=Reporter())
    expected = "2011" if vintage == 2019 else "2021"
    assert query(config, "SELECT lsoa_code, imd_decile, imd_rank, lsoa_vintage FROM deprivation "
                 "ORDER BY 1")[0] == ("E01000001", 1, 100, expected)
    assert query(config, "SELECT * FROM assessment_areas ORDER BY 1") == [
        ("E01000001", "P1", 1, None, expected), ("E01000002", "P2", 7, None, expected)]


def test_one_file_areas_still_works_and_wins_over_the_lookup(tmp_path):
    config = two_place_project(tmp_path / "p", {})
    areas = write(tmp_path / "areas.csv", "lsoa_code,place,imd_decile\nE01000001,P2,4\n")
    lookup = write(tmp_path / "lookup.csv", "LSOA21CD,Place\nE01000001,P1\nE01000002,P1\n")
    (config.root / "mappings" / "lookup.toml").write_text(
        'dataset = "lsoa_places"\npreset = "lsoa_place_lookup"\n', encoding="utf-8")
    config = load_config(config.root)
    ingest_files(config, "areas", [areas], reporter=Reporter())
    ingest_files(config, "lsoa_places", [lookup], mapping="lookup", reporter=Reporter())
    assert query(config, "SELECT lsoa_code, place, imd_decile FROM assessment_areas "
                 "ORDER BY 1") == [("E01000001", "P2", 4), ("E01000002", "P1", None)]


def test_validate_tells_neighbours_from_a_wrong_vintage(tmp_path):
    from eolneeds.validate import validate_project

    config = two_place_project(tmp_path / "p", {
        "iod_file1": 'dataset = "areas"\npreset = "iod_file1"\n',
        "lookup": 'dataset = "areas"\npreset = "lsoa_place_lookup"\n'})
    ingest_files(config, "areas", [_iod(tmp_path / "iod.xlsx", 2025)], mapping="iod_file1",
                 reporter=Reporter())
    ingest_files(config, "areas", [write(tmp_path / "lookup.csv",
                                         "LSOA21CD,Place\nE01000001,P1\nE01000002,P2\n")],
                 mapping="lookup", reporter=Reporter())
    deaths = write(tmp_path / "deaths.csv", "\n".join([
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death",
        "A,2023-01-05,85,F,E01000001,C34.9,home",  # one of ours
        "B,2023-01-06,85,F,E01099999,C34.9,home",  # a neighbour's
        "C,2023-01-07,85,F,E01077777,C34.9,home",  # in neither file: a wrong vintage
        "D,2023-01-08,85,F,E01077777,C34.9,home",
    ]) + "\n")
    ingest_files(config, "deaths", [deaths], reporter=Reporter())
    warnings = validate_project(config, reporter=Reporter()).warnings
    assert ("1 death has an LSOA that is in the deprivation file but in no Place of the "
            "lookup (a neighbouring area's residents, not counted), e.g. E01099999 — if they "
            "are your residents, add these LSOAs to the lookup with their Place") in warnings
    assert ("2 deaths have an LSOA in neither the lookup nor the deprivation file (LSOA "
            "vintage 2021), e.g. E01077777 — most likely a different LSOA vintage (2011 vs "
            "2021): use a lookup and deprivation file of the deaths' vintage") in warnings
    # Following the first advice: the neighbour's LSOA added to the lookup.
    ingest_files(config, "areas", [write(tmp_path / "lookup.csv",
                                         "LSOA21CD,Place\nE01000001,P1\nE01000002,P2\n"
                                         "E01099999,P2\n")],
                 mapping="lookup", replace=True, reporter=Reporter())
    warnings = validate_project(config, reporter=Reporter()).warnings
    assert not [w for w in warnings if "neighbouring" in w]
    assert [w for w in warnings if w.startswith("2 deaths have an LSOA in neither")]


# ---------------------------------------------------------------------------------------
# Mistakes are correctable


def test_ingest_without_mapping_chooses_it_as_run_does(tmp_path):
    from eolneeds.run import mapping_for_file

    pcmd = 'dataset = "deaths"\npreset = "pcmd_deaths"\n'
    config = make_project(tmp_path / "p", {"deaths": "", "deaths_pcmd": pcmd,
                                           "deaths_pcmd_old": pcmd, "hes_apc": pcmd})
    header = ",".join(PCMD)
    one = write(tmp_path / "deaths_pcmd_2025-10.csv", header + "\n"
                + "9434765919,20230105,20230110,85,2,E01000001,C349,I251,H,,\n")
    two = write(tmp_path / "deaths_PCMD_old_2019.csv", header + "\n"
                + "4010232137,20230105,20230110,85,2,E01000001,C349,I251,H,,\n")
    three = write(tmp_path / "local.csv", "person_id,date_of_death,age,sex,lsoa_code,"
                  "underlying_cause,place_of_death\nP9,2023-01-05,85,F,E01000001,C34.9,home\n")
    ingest_files(config, "deaths", [one, two, three], reporter=Reporter())
    assert query(config, "SELECT file_name, mapping FROM ingest_log ORDER BY file_id") == [
        ("deaths_pcmd_2025-10.csv", "deaths_pcmd"),
        ("deaths_PCMD_old_2019.csv", "deaths_pcmd_old"),  # the longest name wins
        ("local.csv", "deaths")]
    for path, (_name, used) in zip([one, two, three], query(
            config, "SELECT file_name, mapping FROM ingest_log ORDER BY file_id"), strict=True):
        assert mapping_for_file(config, "deaths", path.name) == used


def test_replace_reloads_an_unchanged_file_after_the_mapping_is_corrected(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"activity": ""})
    path = write(tmp_path / "community.csv", "\n".join([
        "person_id,activity_type,start_date",
        "P1,emergency,2023-01-01",
        "P2,District Nursing,2023-01-02",
        "P3,District Nursing,2023-01-03",
        "P4,emergency,2023-01-04",  # half quarantined, not more: the file is not refused
    ]) + "\n")
    [first] = ingest_files(config, "activity", [path], reporter=Reporter())
    assert (first.rows_loaded, first.rows_rejected) == (2, 2)
    [(reason,)] = query(config, "SELECT DISTINCT reason FROM rejects")
    assert reason.endswith("add a [recode.activity_type] entry to the mapping")
    # The advice, followed: the mapping gains the recode.
    (root / "mappings" / "activity.toml").write_text(
        '[recode.activity_type]\n"District Nursing" = "community_contact"\n', encoding="utf-8")
    config = load_config(root)
    reporter = RecordingReporter()
    [again] = ingest_files(config, "activity", [path], reporter=reporter)
    assert again.skipped
    mapping_file = root / "mappings" / "activity.toml"
    assert _messages(reporter) == [
        f"community.csv: already loaded (file {first.file_id}) with an earlier version of the "
        f"mapping; {mapping_file} is different now — add --replace to reload it with "
        f"{mapping_file}"]
    # ... and that advice, followed.
    [third] = ingest_files(config, "activity", [path], replace=True, reporter=Reporter())
    assert (third.rows_read, third.rows_loaded, third.rows_rejected) == (4, 4, 0)
    assert query(config, "SELECT source_row, activity_type FROM activity ORDER BY 1") == [
        (2, "emergency_admission"), (3, "community_contact"), (4, "community_contact"),
        (5, "emergency_admission")]
    assert query(config, "SELECT count(*) FROM rejects") == [(0,)]
    assert query(config, "SELECT file_id, replaced_by FROM ingest_log ORDER BY 1") == [
        (first.file_id, third.file_id), (third.file_id, None)]
    # Unchanged file, unchanged mapping: a no-op again.
    [fourth] = ingest_files(config, "activity", [path], reporter=Reporter())
    assert fourth.skipped and fourth.file_id == third.file_id


def test_replace_takes_out_the_same_bytes_under_another_name(tmp_path):
    config = make_project(tmp_path / "p")
    body = "person_id,activity_type,start_date\nP1,emergency,2023-01-01\n"
    first = write(tmp_path / "a.csv", body)
    renamed = write(tmp_path / "b.csv", body)
    ingest_files(config, "activity", [first], reporter=Reporter())
    ingest_files(config, "activity", [renamed], replace=True, reporter=Reporter())
    assert query(config, "SELECT count(*) FROM activity") == [(1,)]


def test_a_file_loaded_with_another_mapping_says_so(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"one": 'dataset = "activity"\n', "two": 'dataset = "activity"\n'
                                                                         'nhs_number = false\n'})
    path = write(tmp_path / "a.csv", "person_id,activity_type,start_date\nP1,emergency,"
                 "2023-01-01\n")
    ingest_files(config, "activity", [path], mapping="one", reporter=Reporter())
    reporter = RecordingReporter()
    ingest_files(config, "activity", [path], mapping="two", reporter=reporter)
    assert _messages(reporter) == [
        f"a.csv: already loaded (file 1) with mapping 'one'; {root / 'mappings' / 'two.toml'} "
        f"is different now — add --replace to reload it with {root / 'mappings' / 'two.toml'}"]


def test_every_summary_names_the_mapping_in_use(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"deaths": 'preset = "pcmd_deaths"\n'})
    path = write(tmp_path / "pcmd.csv", ",".join(PCMD) + "\n"
                 + "9434765919,20230105,20230110,85,2,E01000001,C349,I251,H,,\n")
    reporter = RecordingReporter()
    ingest_files(config, "deaths", [path], reporter=reporter)
    assert _messages(reporter)[-1] == (
        f"pcmd.csv: 1 row read, 1 loaded into deaths, 0 quarantined; read with "
        f"{root / 'mappings' / 'deaths.toml'}")


def test_lookup_with_code_and_name_columns_uses_whichever_names_a_place(tmp_path):
    # An ONS-style lookup: LAD code and name. eolneeds.toml's Places use their own
    # codes with the LAD names, so the code column resolves nothing and the name does.
    config = two_place_project(tmp_path / "p", {
        "lookup": 'dataset = "lsoa_places"\npreset = "lsoa_place_lookup"\n'})
    path = write(tmp_path / "lookup.csv", "\n".join([
        "LSOA21CD,LSOA21NM,LAD22CD,LAD22NM",
        "E01000001,A 001A,E06000001,Place One",
        "E01000002,A 001B,E06000002,ASHBY & DISTRICT",
        "E01000003,B 001A,P1,Somewhere else",  # the code column names a Place: it wins
        "E01000004,C 001A,E06000099,Elsewhere",  # outside the ICB: kept as given
    ]) + "\n")
    ingest_files(config, "lsoa_places", [path], mapping="lookup", reporter=Reporter())
    assert query(config, "SELECT lsoa_code, place FROM lsoa_places ORDER BY 1") == [
        ("E01000001", "P1"), ("E01000002", "P2"), ("E01000003", "P1"),
        ("E01000004", "E06000099")]


def test_ons_lookup_with_sub_icb_locations_finds_places_named_by_either(tmp_path):
    # The ONS LSOA21_SICBL24_ICB24_LAD24 lookup as downloaded (BOM, CRLF). One Place is
    # a sub-ICB location (its ODS code '00K'), the other a local authority: each LSOA
    # takes whichever column names a Place. Read by LAD24CD alone, the first LSOA was
    # put in E06000001, a Place outside the ICB, and its deaths left out of every Place.
    root = tmp_path / "p"
    root.mkdir()
    (root / "eolneeds.toml").write_text(
        '[project]\nicb_name = "T"\nicb_code = "QHM"\n[[places]]\ncode = "00K"\nname = '
        '"Hartlepool and Stockton"\n[[places]]\ncode = "E06000047"\nname = "County Durham"\n',
        encoding="utf-8")
    (root / "mappings").mkdir()
    (root / "mappings" / "lsoa_places.toml").write_text('preset = "lsoa_place_lookup"\n',
                                                         encoding="utf-8")
    config = load_config(root)
    path = write(tmp_path / "LSOA21_SICBL24_ICB24_LAD24_EN_LU.csv", "\ufeff" + "\r\n".join([
        "LSOA21CD,LSOA21NM,SICBL24CD,SICBL24CDH,SICBL24NM,ICB24CD,ICB24CDH,ICB24NM,LAD24CD,"
        "LAD24NM,ObjectId",
        "E01011949,Hartlepool 009A,E38000247,00K,NHS North East and North Cumbria ICB - 00K,"
        "E54000050,QHM,NHS North East and North Cumbria Integrated Care Board,E06000001,"
        "Hartlepool,1",
        "E01020478,County Durham 001A,E38000234,84H,NHS North East and North Cumbria ICB - "
        "84H,E54000050,QHM,NHS North East and North Cumbria Integrated Care Board,E06000047,"
        "County Durham,2",
        "E01000001,City of London 001A,E38000244,72Q,NHS South East London ICB - 72Q,"
        "E54000030,QKK,NHS South East London Integrated Care Board,E09000001,City of London,3",
    ]) + "\r\n")
    assert inspect_file(path).preset == "lsoa_place_lookup"
    reporter = RecordingReporter()
    ingest_files(config, "lsoa_places", [path], reporter=reporter)
    assert query(config, "SELECT lsoa_code, place, lsoa_vintage FROM lsoa_places ORDER BY 1"
                 ) == [("E01000001", "E09000001", "2021"), ("E01011949", "00K", "2021"),
                       ("E01020478", "E06000047", "2021")]
    assert any("place from whichever of LAD24CD, LAD24NM, SICBL24CD, SICBL24CDH, SICBL24NM "
               "names a Place of eolneeds.toml" in m for m in _messages(reporter))


# ---------------------------------------------------------------------------------------
# Every message that suggests a fix: the fix, applied as written, makes the ingest work.

CANONICAL_DEATH = "P1,2023-01-05,85,F,E01000001,C34.9,home\n"


def _refused(config, dataset, path, **options) -> str:
    from eolneeds.errors import EolneedsError

    with pytest.raises(EolneedsError) as caught:
        ingest_files(config, dataset, [path], reporter=Reporter(), **options)
    return str(caught.value)


def test_fix_map_a_misnamed_canonical_column(tmp_path):
    root = tmp_path / "p"
    config = make_project(root)
    path = write(tmp_path / "d.csv", "person_id,date_of_deaths,age,sex,lsoa_code,"
                 "underlying_cause,place_of_death\n" + CANONICAL_DEATH)
    message = _refused(config, "deaths", path)
    advice = ('map it with date_of_death = "date_of_deaths" under [columns] in '
              'mappings/deaths.toml')
    assert message.endswith(advice)
    (root / "mappings").mkdir()
    (root / "mappings" / "deaths.toml").write_text(
        '[columns]\ndate_of_death = "date_of_deaths"\n', encoding="utf-8")
    assert ingest_files(load_config(root), "deaths", [path], reporter=Reporter())[0] \
        .rows_loaded == 1


def test_fix_a_list_where_one_column_belongs(tmp_path):
    # Presets list alternative names; a mapping's [columns] names the one column.
    root = tmp_path / "p"
    mapping = root / "mappings" / "hes.toml"
    listed = 'person_id = ["PATIENT_ID", "NHS_NUMBER"]'
    config = make_project(root, {"hes": f'dataset = "activity"\npreset = "hes_apc"\n'
                                        f"[columns]\n{listed}\n"})
    path = write(tmp_path / "hes.txt", "NHS_NUMBER|ADMIDATE|DISDATE|ADMIMETH|TRETSPEF|COST\n"
                 "9434765919|2023-01-01|2023-01-03|21|300|10\n")
    message = _refused(config, "activity", path, mapping="hes")
    assert message.startswith(f"{mapping}: [columns] person_id must name one column, not a "
                              "list")
    # The advice names the listed column the file has, as a line to put in the list's place.
    advice = re.search(r"replace the list with (person_id = \"[^\"]*\")", message)
    assert advice and advice[1] == 'person_id = "NHS_NUMBER"', message
    mapping.write_text(mapping.read_text(encoding="utf-8").replace(listed, advice[1]),
                       encoding="utf-8")
    [result] = ingest_files(load_config(root), "activity", [path], mapping="hes",
                            reporter=Reporter())
    assert result.rows_loaded == result.rows_read == 1


def test_fix_correct_a_mapped_column_name(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"deaths": '[columns]\nperson_id = "NHS Numbr"\n'})
    path = write(tmp_path / "d.csv", "NHS Number,date_of_death,age,sex,lsoa_code,"
                 "underlying_cause,place_of_death\n" + CANONICAL_DEATH)
    message = _refused(config, "deaths", path)
    mapping = root / "mappings" / "deaths.toml"
    assert message.endswith(f"did you mean 'NHS Number'? set person_id = \"NHS Number\" under "
                            f"[columns] in {mapping}")
    mapping.write_text('[columns]\nperson_id = "NHS Number"\n', encoding="utf-8")
    assert ingest_files(load_config(root), "deaths", [path], reporter=Reporter())[0] \
        .rows_loaded == 1


def test_fix_map_the_place_of_death_a_preset_cannot_derive(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"deaths": 'preset = "pcmd_deaths"\n'})
    # (A column named as the preset's place names, 'Place of death', it reads itself.)
    header = [h for h in PCMD if not h.startswith("POD_")] + ["Place of death (category)"]
    path = write(tmp_path / "pcmd.csv", ",".join(header) + "\n"
                 + "9434765919,20230105,20230110,85,2,E01000001,C349,I251,home\n")
    message = _refused(config, "deaths", path)
    mapping = root / "mappings" / "deaths.toml"
    assert message.endswith(f'add place_of_death = "Place of death (category)" under '
                            f"[columns] in {mapping}")
    with mapping.open("a", encoding="utf-8") as fh:
        fh.write('[columns]\nplace_of_death = "Place of death (category)"\n')
    ingest_files(load_config(root), "deaths", [path], reporter=Reporter())
    assert query(config, "SELECT place_of_death FROM deaths") == [("home",)]


def test_fix_name_one_of_several_matching_sheets(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"register": 'nhs_number = false\n'})
    book = openpyxl.Workbook()
    book.active.title = "2022"
    book.active.append(["person_id", "date_added"])
    book.active.append(["P1", "01/02/2022"])
    later = book.create_sheet("2023")
    later.append(["person_id", "date_added"])
    later.append(["P2", "01/02/2023"])
    book.save(tmp_path / "register.xlsx")
    message = _refused(config, "register", tmp_path / "register.xlsx")
    mapping = root / "mappings" / "register.toml"
    assert message == (
        "register.xlsx: several sheets have the columns the mapping reads: '2022' (row 1: "
        "person_id, date_added); '2023' (row 1: person_id, date_added) — set sheet = \"2022\" "
        f"(or another of them) in {mapping}")
    with mapping.open("a", encoding="utf-8") as fh:
        fh.write('sheet = "2022"\n')
    ingest_files(load_config(root), "register", [tmp_path / "register.xlsx"],
                 reporter=Reporter())
    assert query(config, "SELECT source_row FROM register") == [(2,)]


def test_fix_an_unknown_preset(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"deaths": 'preset = "pcmd_death"\n'})
    path = write(tmp_path / "pcmd.csv", ",".join(PCMD) + "\n"
                 + "9434765919,20230105,20230110,85,2,E01000001,C349,I251,H,,\n")
    message = _refused(config, "deaths", path)
    assert 'did you mean preset = "pcmd_deaths"? ' in message
    (root / "mappings" / "deaths.toml").write_text('preset = "pcmd_deaths"\n', encoding="utf-8")
    assert ingest_files(load_config(root), "deaths", [path], reporter=Reporter())[0] \
        .rows_loaded == 1


def test_fix_a_preset_of_another_dataset(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"deaths": 'preset = "hes_apc"\n'})  # dataset: deaths
    path = write(tmp_path / "hes.csv", "PERSON_ID,ADMIDATE,ADMIMETH\n9434765919,20230101,21\n")
    message = _refused(config, "deaths", path)
    mapping = root / "mappings" / "deaths.toml"
    assert message == (
        f"{mapping}: preset 'hes_apc' is for activity, not deaths — if the file is activity "
        f"data, set dataset = \"activity\" in {mapping} and run `eolneeds ingest activity "
        "FILE --mapping deaths`; otherwise change the preset")
    with mapping.open("a", encoding="utf-8") as fh:
        fh.write('dataset = "activity"\n')
    assert ingest_files(load_config(root), "activity", [path], mapping="deaths",
                        reporter=Reporter())[0].rows_loaded == 1


def test_fix_a_mapping_of_another_dataset(tmp_path):
    config = make_project(tmp_path / "p", {"hes": 'dataset = "activity"\npreset = "hes_apc"\n',
                                           "pcmd": 'dataset = "deaths"\n'
                                                   'preset = "pcmd_deaths"\n'})
    path = write(tmp_path / "hes.csv", "PERSON_ID,ADMIDATE,ADMIMETH\n9434765919,20230101,21\n")
    message = _refused(config, "deaths", path, mapping="hes")
    assert message.endswith("— use one of the mappings of deaths (--mapping pcmd), or ingest "
                            "the file as activity (eolneeds ingest activity FILE --mapping hes)")
    assert ingest_files(config, "activity", [path], mapping="hes",
                        reporter=Reporter())[0].rows_loaded == 1


def test_fix_a_mistyped_mapping_name(tmp_path):
    config = make_project(tmp_path / "p", {"hes_apc": 'dataset = "activity"\n'
                                                      'preset = "hes_apc"\n'})
    path = write(tmp_path / "hes.csv", "PERSON_ID,ADMIDATE,ADMIMETH\n9434765919,20230101,21\n")
    message = _refused(config, "activity", path, mapping="hes_acp")
    assert "did you mean --mapping hes_apc? " in message
    assert ingest_files(config, "activity", [path], mapping="hes_apc",
                        reporter=Reporter())[0].rows_loaded == 1
    # "or drop --mapping": the file's name then chooses (hes.csv: no mapping's name starts
    # it, and there is no mappings/activity.toml) -- the canonical names, which this file
    # has not; a file named after the mapping is read with it.
    renamed = write(tmp_path / "hes_apc_2025.csv", path.read_text(encoding="utf-8")
                    .replace("20230101", "20230102"))
    assert ingest_files(config, "activity", [renamed], reporter=Reporter())[0].rows_loaded == 1


def test_fix_a_long_population_table_read_with_the_ons_preset(tmp_path):
    root = tmp_path / "p"
    config = make_project(root, {"population": 'preset = "ons_population"\n'})
    path = write(tmp_path / "pop.csv", "lsoa_code,year,sex,age_band,population\n"
                 "E01000001,2022,F,0-4,10\n")
    message = _refused(config, "population", path)
    mapping = root / "mappings" / "population.toml"
    assert message == (
        "pop.csv: is not an ONS population table by LSOA (an LSOA code column with F0..F90 "
        "and M0..M90, or 0..89 and 90+) — ingest the ONS workbook as published, or delete the "
        f"preset line in {mapping} to read a long table (lsoa_code, year, sex, age_band, "
        "population)")
    mapping.write_text("", encoding="utf-8")
    assert ingest_files(load_config(root), "population", [path],
                        reporter=Reporter())[0].rows_loaded == 1


def test_fix_a_wrong_vintage(tmp_path):
    # Deaths coded to 2011 LSOAs, lookup and IoD of 2021: the advice is to use the
    # deaths' vintage -- a 2011 lookup and the IoD2019 (2011 LSOAs).
    from eolneeds.validate import validate_project

    config = two_place_project(tmp_path / "p", {
        "iod_file1": 'dataset = "areas"\npreset = "iod_file1"\n',
        "lookup": 'dataset = "areas"\npreset = "lsoa_place_lookup"\n'})
    iod = _iod(tmp_path / "iod.xlsx", 2025)
    ingest_files(config, "areas", [iod], mapping="iod_file1", reporter=Reporter())
    lookup = write(tmp_path / "lookup.csv", "LSOA21CD,Place\nE01000001,P1\n")
    ingest_files(config, "areas", [lookup], mapping="lookup", reporter=Reporter())
    ingest_files(config, "deaths", [write(tmp_path / "deaths.csv",
                 "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death\n"
                 "A,2023-01-05,85,F,E01077777,C34.9,home\n")], reporter=Reporter())
    assert any("different LSOA vintage" in w
               for w in validate_project(config, reporter=Reporter()).warnings)
    book = openpyxl.load_workbook(_iod(tmp_path / "iod.xlsx", 2019))
    book["IMD2019"].append(["E01077777", "B 001A", "E06000001", "A", 50, 1])
    book.save(tmp_path / "iod.xlsx")
    ingest_files(config, "areas", [tmp_path / "iod.xlsx"], mapping="iod_file1", replace=True,
                 reporter=Reporter())
    ingest_files(config, "areas", [write(tmp_path / "lookup.csv",
                                         "LSOA11CD,Place\nE01077777,P1\n")],
                 mapping="lookup", replace=True, reporter=Reporter())
    report = validate_project(config, reporter=Reporter())
    assert not [w for w in report.warnings if "LSOA" in w and "deaths" in w]
    assert query(config, "SELECT * FROM assessment_areas") == [
        ("E01077777", "P1", 1, None, "2011")]


@pytest.mark.parametrize("write_only", [False, True])
def test_fast_sheet_rows_read_what_openpyxl_reads(tmp_path, write_only):
    # Shared strings (normal mode) and inline strings (write-only mode), entities, a
    # gap column, an empty row, numbers, booleans, a formula string and white space.
    book = openpyxl.Workbook(write_only=write_only)
    if write_only:
        book.create_sheet("Cover")
    else:
        book.active.title = "Cover"
    sheet = book.create_sheet("Data & more <x>")
    rows = [["Title row"], [], ["LSOA 2021 Code", "A & B <c>", None, "F0", "F1"],
            ["E01000001", "Café 'x'", None, 12, 2.5], ["E01000002", "  ", True, 0, -3],
            [None, None, None, None, 1e20]]
    for row in rows:
        sheet.append(row)
    book.save(tmp_path / "w.xlsx")
    expected = [[readers.cell_text(c) for c in row] for row in openpyxl.load_workbook(
        tmp_path / "w.xlsx", read_only=True)["Data & more <x>"].iter_rows(values_only=True)]
    fast = list(readers.fast_sheet_rows(tmp_path / "w.xlsx", "Data & more <x>"))

    def trimmed(row):
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        return row

    assert [trimmed(r) for r in fast] == [trimmed(r) for r in expected]
    assert [trimmed(r) for r in readers.fast_sheet_rows(tmp_path / "w.xlsx", "Data & more <x>",
                                                        3)] == [trimmed(r) for r in expected[2:]]
    with pytest.raises(KeyError):
        readers.fast_sheet_rows(tmp_path / "w.xlsx", "Nope")


def test_recode_and_defaults_add_to_a_preset(tmp_path):
    config = make_project(tmp_path / "p", {"hes": 'dataset = "activity"\npreset = "hes_apc"\n'
                                                  '[recode.treatment_function]\n'
                                                  '"315" = "315 Palliative medicine"\n'
                                                  '[defaults]\ncost = 250\n'})
    path = write(tmp_path / "hes.csv", "PERSON_ID,ADMIDATE,ADMIMETH,TRETSPEF\n"
                 "9434765919,20230101,21,315\n9434765919,20230201,11,300\n")
    ingest_files(config, "activity", [path], mapping="hes", reporter=Reporter())
    assert query(config, "SELECT activity_type, treatment_function, cost FROM activity "
                 "ORDER BY source_row") == [
        # A treatment function written with its description is its code (onboard6).
        ("emergency_admission", "315", 250.0),
        ("elective_admission", "300", 250.0)]


def test_ons_current_layout_as_csv_takes_its_year_from_the_mapping(tmp_path):
    # The data sheet saved as CSV (UTF-8 with a BOM, counts with thousands separators):
    # no sheet name or title to give the year, so the advice asks for it, and works.
    root = tmp_path / "p"
    config = two_place_project(root, {"population": 'preset = "ons_population"\n'})
    path = write(tmp_path / "sapelsoasyoa.csv", "\ufeff" + "\r\n".join([
        ",".join(ONS_2022),
        ",".join(["E06000001", "Hartlepool", "E01000001", "Hartlepool 001A", '"1,820"']
                 + ["10"] * 90 + ['"1,000"'] + ["10"] * 91)]) + "\r\n")
    assert "# year = 2022  # a CSV does not say its year" in mapping_text(inspect_file(path))
    with pytest.raises(InputDataError) as caught:
        ingest_files(config, "population", [path], reporter=Reporter())
    assert f"add year = YYYY (the estimates' year) to {root / 'mappings'}" in str(caught.value)
    with (root / "mappings" / "population.toml").open("a", encoding="utf-8") as fh:
        fh.write("year = 2022\n")
    [result] = ingest_files(load_config(root), "population", [path], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (38, 38)
    # Females 90+ is the one cell of 1,000; every other single year is 10.
    assert query(config, "SELECT sex, age_band, population, year, source_row FROM population "
                 "WHERE age_band IN ('0-4', '90+') ORDER BY sex, age_band") == [
        ("female", "0-4", 50.0, 2022, 2), ("female", "90+", 1000.0, 2022, 2),
        ("male", "0-4", 50.0, 2022, 2), ("male", "90+", 10.0, 2022, 2)]
    # Named as ONS names it, the file says its year: inspect's mapping, the preset
    # alone, ingests it.
    named = tmp_path / "sapelsoasyoa2023.csv"
    named.write_bytes(path.read_bytes().replace(b"E01000001", b"E01000002"))
    assert inspect_file(named).preset == "ons_population"
    (root / "mappings" / "population.toml").write_text(mapping_text(inspect_file(named)),
                                                      encoding="utf-8")
    [result] = ingest_files(load_config(root), "population", [named], reporter=Reporter())
    assert result.rows_loaded == 38
    assert query(config, "SELECT DISTINCT year FROM population WHERE lsoa_code = "
                 "'E01000002'") == [(2023,)]


def test_ons_mid_2019_layout_with_area_codes_and_authority_rows(tmp_path):
    # Mid-2019 and before: 'Area Codes', a names column 'LSOA', and a row per local
    # authority above its LSOAs, which is quarantined (not an LSOA), never summed in.
    header = ["Area Codes", "LA (2019 boundaries)", "LSOA", "All Ages"] + [
        str(a) for a in range(90)] + ["90+"]
    book = openpyxl.Workbook()
    book.active.title = "Contents"
    for label, count in (("Persons", 5), ("Males", 2), ("Females", 3)):
        sheet = book.create_sheet(f"Mid-2019 {label}")
        sheet.append(["Mid-2019 Population Estimates for Lower Layer Super Output Areas"])
        sheet.append([])
        sheet.append(header)
        sheet.append(["E06000001", "Hartlepool", None, 91 * count * 10] + [count * 10] * 91)
        sheet.append(["E01011949", None, "Hartlepool 009A", 91 * count] + [count] * 91)
    path = tmp_path / "SAPE22DT2-mid-2019-lsoa-syoa-estimates.xlsx"
    book.save(path)
    config = two_place_project(tmp_path / "p", {"population": 'preset = "ons_population"\n'})
    [result] = ingest_files(config, "population", [path], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (76, 38, 38)
    assert query(config, "SELECT sex, sum(population), min(year), min(lsoa_code) FROM "
                 "population GROUP BY sex ORDER BY sex") == [
        ("female", 273.0, 2019, "E01011949"), ("male", 182.0, 2019, "E01011949")]
    assert query(config, "SELECT DISTINCT row_number, value FROM rejects") == [(4, "E06000001")]


def test_ons_older_layout_csv_takes_its_sex_from_the_file_name_as_advised(tmp_path):
    root = tmp_path / "p"
    config = two_place_project(root, {"population": 'preset = "ons_population"\n'})
    text = "\n".join([",".join(ONS_2020), ",".join(
        ["E01000003", "Adur 001A", "E07000223", "Adur", "E07000223", "Adur", "182"]
        + ["2"] * 91)]) + "\n"
    path = write(tmp_path / "sape-mid-2020.csv", text)
    with pytest.raises(InputDataError) as caught:
        ingest_files(config, "population", [path], reporter=Reporter())
    assert str(caught.value) == (
        "sape-mid-2020.csv: has one age per column (0..89, 90+) but not which sex (the "
        "workbook has a sheet per sex) — ingest the ONS workbook as published, or name the "
        "file for the sex it holds (e.g. mid-2020-males.csv)")
    renamed = path.rename(tmp_path / "sape-mid-2020-males.csv")
    [result] = ingest_files(config, "population", [renamed], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (19, 19)
    assert query(config, "SELECT DISTINCT sex, year FROM population") == [("male", 2020)]
    assert query(config, "SELECT population FROM population WHERE age_band IN ('0-4', '90+') "
                 "ORDER BY age_band") == [(10.0,), (2.0,)]


# ---------------------------------------------------------------------------------------
# [defaults] must be values the column reads: a slip there is the mapping's, exit 2


def _ingest_error(root, dataset, path, mapping):  # type: ignore[no-untyped-def]
    """The one-line ConfigError (exit 2) ingest raises, before reading the file."""
    from eolneeds.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        ingest_files(load_config(root), dataset, [path], mapping=mapping, reporter=Reporter())
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value)
    return str(caught.value)


def _ingest(root, dataset, path, mapping):  # type: ignore[no-untyped-def]
    [res] = ingest_files(load_config(root), dataset, [path], mapping=mapping,
                         reporter=Reporter())
    return res


PCMD_NO_SEX = [h for h in PCMD if h != "DEC_SEX"]
PCMD_NO_SEX_ROW = "9434765919,20230105,20230110,85,E01000001,C349,I251,H,,\n"


@pytest.mark.parametrize(("default", "fix", "want"), [
    # The advice's two ways out, each followed literally.
    ('sex = "Femme"', '[defaults]\nsex = "female"\n', "female"),
    ('sex = "Femme"', '[defaults]\nsex = "Femme"\n[recode.sex]\n"Femme" = "female"\n',
     "female"),
    ('sex = "femal"', '[defaults]\nsex = "female"\n', "female"),
])
def test_fix_a_default_that_is_no_code(tmp_path, default, fix, want):  # type: ignore[no-untyped-def]
    root = tmp_path / "p"
    make_project(root, {"pcmd": f'dataset = "deaths"\npreset = "pcmd_deaths"\n'
                                f'[defaults]\n{default}\n'})
    path = write(tmp_path / "pcmd.csv", ",".join(PCMD_NO_SEX) + "\n" + PCMD_NO_SEX_ROW)
    line = _ingest_error(root, "deaths", path, "pcmd")
    mapping = root / "mappings" / "pcmd.toml"
    value = default.split(" = ")[1]
    assert line.startswith(f"{mapping}: [defaults] sex = {value} is not a code of sex — ")
    assert "use one of male, female, unknown (or a code read as one: 1, 2, 9, 0, M, F)" in line
    if value == '"femal"':
        assert 'did you mean sex = "female"?' in line
    # Nothing was read, nothing loaded.
    mapping.write_text('dataset = "deaths"\npreset = "pcmd_deaths"\n' + fix, encoding="utf-8")
    assert _ingest(root, "deaths", path, "pcmd").rows_loaded == 1
    assert query(load_config(root), "SELECT sex FROM deaths") == [(want,)]


def test_a_default_is_read_as_the_columns_values_are(tmp_path):  # type: ignore[no-untyped-def]
    # 'F' and 'Female' are what sex columns hold, so they are good defaults.
    root = tmp_path / "p"
    config = make_project(root, {"pcmd": 'dataset = "deaths"\npreset = "pcmd_deaths"\n'
                                         '[defaults]\nsex = "Female"\n'})
    path = write(tmp_path / "pcmd.csv", ",".join(PCMD_NO_SEX) + "\n" + PCMD_NO_SEX_ROW)
    ingest_files(config, "deaths", [path], mapping="pcmd", reporter=Reporter())
    assert query(config, "SELECT sex FROM deaths") == [("female",)]


@pytest.mark.parametrize(("mapping_text", "said", "fixed"), [
    ('dataset = "deaths"\n[defaults]\nplace_of_death = "nowhere"\n',
     '[defaults] place_of_death = "nowhere" is not a code of place_of_death — use one of '
     "home, care_home, hospital, hospice, religious, other, unknown",
     'dataset = "deaths"\n[defaults]\nplace_of_death = "unknown"\n'),
    ('dataset = "deaths"\n[defaults]\nplace_of_death = "care-homes"\n',
     '[defaults] place_of_death = "care-homes" is not a code of place_of_death — did you '
     'mean place_of_death = "care_home"?',
     'dataset = "deaths"\n[defaults]\nplace_of_death = "care_home"\n'),
    ('dataset = "deaths"\n[defaults]\ndate_of_registration = "31/02/2024"\n',
     '[defaults] date_of_registration = "31/02/2024" is not a date (write it as dd/mm/yyyy '
     'or yyyy-mm-dd) — write a date the mapping reads',
     'dataset = "deaths"\n[defaults]\ndate_of_registration = "29/02/2024"\n'),
    ('dataset = "deaths"\n[defaults]\nage = 999\n',
     "[defaults] age = 999 is not a whole number from 0 to 120 — correct the value, or delete "
     "the line to leave the column empty",
     'dataset = "deaths"\n'),
])
def test_fix_defaults_of_other_columns(tmp_path, mapping_text, said, fixed):  # type: ignore[no-untyped-def]
    root = tmp_path / "p"
    make_project(root, {"mine": mapping_text})
    header = "person_id,date_of_death,sex,place_of_death\n"
    path = write(tmp_path / "deaths.csv", header + "9434765919,2024-03-01,1,\n")
    line = _ingest_error(root, "deaths", path, "mine")
    assert line.startswith(f"{root / 'mappings' / 'mine.toml'}: {said}"), line
    (root / "mappings" / "mine.toml").write_text(fixed, encoding="utf-8")
    assert _ingest(root, "deaths", path, "mine").rows_loaded == 1
    assert query(load_config(root), "SELECT count(*) FROM deaths") == [(1,)]


def test_population_default_sex_must_be_male_or_female(tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "p"
    make_project(root, {"pop": 'dataset = "population"\n[defaults]\nsex = "unknown"\n'})
    path = write(tmp_path / "pop.csv", "lsoa_code,year,age_band,population\n"
                 "E01000001,2024,0-4,10\n")
    assert '[defaults] sex = "unknown" is not a code of sex' in _ingest_error(
        root, "population", path, "pop")


def test_fix_a_misnamed_column_a_preset_derives_from(tmp_path):  # type: ignore[no-untyped-def]
    """POD_NHS_EST for POD_NHS_ESTABLISHMENT: mapping place_of_death to it would read
    NHS flags as places (every death 'unknown'); the advice is the header's name."""
    root = tmp_path / "p"
    config = make_project(root, {"deaths": 'preset = "pcmd_deaths"\n'})
    header = ",".join(PCMD).replace("POD_NHS_ESTABLISHMENT", "POD_NHS_EST")
    row = "9434765919,20230105,20230110,85,2,E01000001,C349,I251,X,1,01\n"
    path = write(tmp_path / "pcmd.csv", header + "\n" + row)
    message = _refused(config, "deaths", path)
    assert "required column 'POD_NHS_ESTABLISHMENT' (the pcmd_deaths preset derives " \
           "place_of_death from it) missing" in message
    assert message.endswith("rename the file's column 'POD_NHS_EST' to POD_NHS_ESTABLISHMENT "
                            "(the preset reads it by that name), or set place_of_death under "
                            f"[columns] in {root / 'mappings' / 'deaths.toml'} to a column "
                            "that holds place_of_death itself")
    path.write_text(",".join(PCMD) + "\n" + row, encoding="utf-8")  # renamed, as advised
    ingest_files(load_config(root), "deaths", [path], reporter=Reporter())
    assert query(config, "SELECT place_of_death FROM deaths") == [("hospital",)]
