"""Presets as starting points: column-name variants, recognise(), overrides; the
national reference workbooks (ONS population, IoD File 1, LSOA-to-Place lookups); sheet
and header-row detection."""

from __future__ import annotations

import openpyxl
import pytest

from eolneeds import presets, readers
from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter, Reporter
from tests.test_ingest import make_project, query, write

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
    header = ",".join(h.replace("DEC_LSOA", "LSOA of residence") for h in PCMD)
    path = write(tmp_path / "pcmd.csv", header + "\n"
                 + "9434765919,20230105,20230110,85,2,E01000001,C349,I251,H,,\n")
    with pytest.raises(InputDataError) as caught:
        ingest_files(config, "deaths", [path], reporter=Reporter())
    message = str(caught.value)
    assert message.startswith("pcmd.csv: required column lsoa_code as one of 'DEC_LSOA', ")
    advice = f'add lsoa_code = "LSOA of residence" under [columns] in {root / "mappings"}'
    assert advice in message
    # Follow it literally.
    with (root / "mappings" / "deaths.toml").open("a", encoding="utf-8") as fh:
        fh.write('[columns]\nlsoa_code = "LSOA of residence"\n')
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
