"""National extracts as they are actually exported, beyond the sample's own layouts:
the names and value shapes of Civil Registration - Deaths / PCMD, HES APC episodes (DARS),
SUS spells and ECDS, each written here as the system writes it (cp1252 with CRLF, pipe
with a BOM), then inspected, and ingested with the mapping `inspect` writes and with a
mapping of only `preset = "..."`. Expected values are read off the rows below by hand.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eolneeds.cli import app
from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.reporting import RecordingReporter, Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write

# Valid NHS numbers (modulus 11): 943476500 + check digit, and so on.
N = ["9434765005", "9434765013", "9434765021", "9434765048", "9434765056"]


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _onboard(tmp_path: Path, dataset: str, path: Path) -> tuple[str, object]:
    """inspect FILE names a preset; inspect --write-mapping writes a mapping; ingest
    with it. Returns (preset, result)."""
    root = tmp_path / "p"
    config = make_project(root)
    preset = inspect_file(path).preset
    result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", "mine",
                                      "--project", str(root)])
    assert result.exit_code == 0, result.output
    written = (root / "mappings" / "mine.toml").read_text(encoding="utf-8")
    assert f'preset = "{preset}"' in written
    [res] = ingest_files(load_config(root), dataset, [path], mapping="mine",
                         reporter=Reporter())
    assert res.rows_read == res.rows_loaded + res.rows_rejected
    del config
    return str(preset), res


# --- Civil Registration - Deaths / PCMD -----------------------------------------------

DEATHS_HEADER = (["DEC_NHS_NUMBER", "REG_DATE_OF_DEATH", "REG_DATE", "DEC_AGEC",
                  "DEC_AGECUNIT", "DEC_SEX", "LSOA_OF_RESIDENCE_CODE", "S_UNDERLYING_COD_ICD10"]
                 + [f"S_COD_CODE_{i}" for i in range(1, 16)]
                 + ["POD_CODE", "POD_NHS_ESTABLISHMENT", "POD_ESTABLISHMENT_TYPE",
                    "GP_PRACTICE_CODE"])


def _death(nhs, dod, reg, age, unit, sex, lsoa, cause, cod1, pod, nhs_flag, est, gp):  # type: ignore[no-untyped-def]
    return [nhs, dod, reg, age, unit, sex, lsoa, cause, cod1] + [""] * 14 + [
        pod, nhs_flag, est, gp]


DEATH_ROWS = [
    # a baby of six months: DEC_AGEC counts months (unit 2), so the age is 0
    _death(N[0], "2024-05-01 00:00:00.000", "2024-05-03 00:00:00.000", "6", "2", "2",
           "E01000001", "P07.3", "P07.3", "H", "", "", "A81001"),
    _death(N[1], "20240502", "20240506", "85", "1", "1", "E01000001", "c349", "I251", "",
           "1", "01", "A81001"),
    # no unit: years; dagger and filler X on the codes; sex 9 not specified
    _death(N[2], "01-MAY-2024", "03-MAY-2024", "90", "", "9", "E01000002", "C34X",
           "J44.1\u2020", "", "2", "83", "A81002"),
    # three days old (unit 4)
    _death(N[3], "01/05/2024", "03/05/2024", "3", "4", "M", "E01000002", "I21.9*", "", "",
           "1", "1", "A81002"),
    # a unit that is no unit: the age is not read in the wrong unit but blanked
    _death(N[4], "2024-05-04", "2024-05-07", "40", "Z", "2", "E01000002", "C50.9", "", "",
           "2", "3", "A81002"),
]
DEATHS_EXPECTED = [
    (date(2024, 5, 1), 0, "female", "P073", "home"),
    (date(2024, 5, 2), 85, "male", "C349", "hospital"),
    (date(2024, 5, 1), 90, "unknown", "C34", "hospice"),
    (date(2024, 5, 1), 0, "male", "I219", "hospital"),
    (date(2024, 5, 4), None, "female", "C509", "care_home"),
]


@pytest.mark.parametrize(("date_column", "lsoa_column", "practice_column"), [
    ("REG_DATE_OF_DEATH", "LSOA_OF_RESIDENCE_CODE", "GP_PRACTICE_CODE"),
    ("DOD", "LSOA21CD", "PRACTICE_CODE"),
    ("DATE_OF_DEATH", "DEC_LSOA", "GP_PRACTICE_CODE"),
])
def test_death_registrations_as_exported_need_only_the_preset(
        tmp_path, date_column, lsoa_column, practice_column):  # type: ignore[no-untyped-def]
    header = [h.replace("REG_DATE_OF_DEATH", date_column)
              .replace("LSOA_OF_RESIDENCE_CODE", lsoa_column)
              .replace("GP_PRACTICE_CODE", practice_column) for h in DEATHS_HEADER]
    text = "\r\n".join(",".join(r) for r in [header, *DEATH_ROWS]) + "\r\n"
    path = write(tmp_path / "civreg_deaths.csv", text, encoding="cp1252")
    config = make_project(tmp_path / "p", {"deaths": 'preset = "pcmd_deaths"\n'})
    reporter = RecordingReporter()
    [res] = ingest_files(config, "deaths", [path], reporter=reporter)
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (5, 5, 0)
    assert query(config, "SELECT date_of_death, age, sex, underlying_cause, place_of_death "
                 "FROM deaths ORDER BY source_row") == DEATHS_EXPECTED
    assert query(config, "SELECT lsoa_code, gp_practice, contributory_causes FROM deaths "
                 "WHERE source_row = 4") == [("E01000002", "A81002", ["J441"])]
    said = [f["text"] for name, f in reporter.events if name == "message"]
    # Which names it read, where they are not the usual ones.
    [note] = [m for m in said if "pcmd_deaths:" in m]
    assert (f"date_of_death from {date_column}" in note) == (date_column != "REG_DATE_OF_DEATH")
    assert (f"lsoa_code from {lsoa_column}" in note) == (lsoa_column != "DEC_LSOA")
    # The unreadable unit is a field-level action, with the row and the value shown.
    assert query(config, "SELECT row_number, column_name, value, action FROM field_actions "
                 "WHERE column_name = 'age'") == [(6, "age", "[words withheld]", "blanked")]


def test_inspect_names_pcmd_and_its_mapping_ingests(tmp_path):  # type: ignore[no-untyped-def]
    header = [h.replace("REG_DATE_OF_DEATH", "DOD") for h in DEATHS_HEADER]
    text = "\r\n".join(",".join(r) for r in [header, *DEATH_ROWS]) + "\r\n"
    path = write(tmp_path / "deaths.csv", text, encoding="cp1252")
    preset, res = _onboard(tmp_path, "deaths", path)
    assert preset == "pcmd_deaths"
    assert (res.rows_loaded, res.rows_rejected) == (5, 0)  # type: ignore[attr-defined]


# --- ONS death registrations (Public Health Mortality File names) ----------------------

# (CESTRSS, NHSIND, ESTTYPED) -> the place of death REFERENCE.md gives, one row per code
# family: worked out from its table, not from the code.
ONS_POD = [
    ("H", "", "", "home"),
    ("E", "", "", "other"),  # elsewhere
    ("12345", "1", "83", "hospice"),  # NHS hospice
    ("12346", "2", "83", "hospice"),  # non-NHS hospice
    ("12347", "1", "01", "hospital"),
    ("12348", "1", "3", "hospital"),  # '3' is '03'
    ("12349", "1", "18", "hospital"),
    ("12350", "1", "99", "hospital"),
    ("12351", "2", "01", "hospital"),
    ("12352", "2", "19", "hospital"),
    ("12353", "1", "02", "care_home"),
    ("12354", "1", "21", "care_home"),
    ("12355", "2", "03", "care_home"),
    ("12356", "2", "20", "care_home"),
    ("12357", "2", "22", "care_home"),
    ("12358", "2", "32", "care_home"),
    ("12359", "2", "99", "care_home"),
    ("12360", "2", "52", "religious"),
    ("12361", "2", "64", "religious"),
    ("12362", "1", "05", "other"),  # NHS psychiatric hospital
    ("12363", "2", "24", "other"),
    ("12364", "2", "82", "other"),
    ("12365", "1", "52", "unknown"),  # no rule: shown as unknown, never folded in
]
def _nhs(k: int) -> str:
    """The k-th valid NHS number of a run (modulus 11 check digit)."""
    from eolneeds.normalise import nhs_check_digit

    found = []
    base = 400000000
    while len(found) <= k:
        digit = nhs_check_digit(str(base))
        if digit is not None:
            found.append(f"{base}{digit}")
        base += 1
    return found[k]


ONS_HEADER = ["NHSNO", "DOD", "DOR", "AGEC", "AGECUNIT", "SEX", "LSOAR", "FIC10UND",
              "FIC10MEN1", "CESTRSS", "NHSIND", "ESTTYPED"]


def _ons_deaths(rows: list[list[str]], header: list[str] = ONS_HEADER) -> str:
    def cell(v: str) -> str:
        return f'"{v}"' if "," in v else v
    return "\r\n".join(",".join(map(cell, r)) for r in [header, *rows]) + "\r\n"


def test_ons_death_extract_places_of_death_by_nhsind_and_esttyped(tmp_path):  # type: ignore[no-untyped-def]
    rows = [[_nhs(k), f"202405{k + 1:02d}", f"202405{k + 3:02d}", "80", "1", "2",
             "E01000001", "C349", "", code, nhs, kind]
            for k, (code, nhs, kind, _want) in enumerate(ONS_POD)]
    path = write(tmp_path / "ons_deaths.csv", _ons_deaths(rows), encoding="cp1252")
    assert inspect_file(path).preset == "pcmd_deaths"
    config = make_project(tmp_path / "p", {"deaths": 'preset = "pcmd_deaths"\n'})
    [res] = ingest_files(config, "deaths", [path], reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (len(ONS_POD), 0)
    got = [p for (p,) in query(config, "SELECT place_of_death FROM deaths ORDER BY source_row")]
    assert got == [want for *_codes, want in ONS_POD]
    # The rest of the ONS layout is read too: NHSNO, DOD, AGEC, LSOAR, FIC10UND.
    assert query(config, "SELECT count(DISTINCT person_id), min(date_of_death), min(age), "
                 "min(lsoa_code), min(underlying_cause) FROM deaths") == [
        (len(ONS_POD), date(2024, 5, 1), 80, "E01000001", "C349")]


@pytest.mark.parametrize("column", ["PLACE_OF_DEATH", "Place of death", "POD_TYPE"])
def test_death_extract_with_place_of_death_as_names(tmp_path, column):  # type: ignore[no-untyped-def]
    header = [h for h in ONS_HEADER if h not in ("CESTRSS", "NHSIND", "ESTTYPED")] + [column]
    names = [("Home", "home"), ("Hospital (acute or community, not psychiatric)", "hospital"),
             ("Care home (nursing or residential)", "care_home"), ("Hospice", "hospice"),
             ("Other communal establishment", "other"), ("Elsewhere", "other"),
             ("Religious establishment", "religious"), ("Psychiatric hospital", "other"),
             ("Moon base", "unknown")]
    rows = [[_nhs(k), f"202405{k + 1:02d}", "", "70", "", "1", "E01000001", "I219", "",
             name] for k, (name, _want) in enumerate(names)]
    path = write(tmp_path / "deaths_by_name.csv", _ons_deaths(rows, header))
    config = make_project(tmp_path / "p", {"deaths": 'preset = "pcmd_deaths"\n'})
    [res] = ingest_files(config, "deaths", [path], reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (len(names), 0)
    assert [p for (p,) in query(config, "SELECT place_of_death FROM deaths ORDER BY "
                                "source_row")] == [want for _name, want in names]
    # The name no rule knows is set to unknown and recorded, not lost.
    assert query(config, "SELECT row_number, value, action FROM field_actions WHERE "
                 "column_name = 'place_of_death'") == [(10, "[words withheld]", "set to unknown")]


def test_names_fill_what_the_codes_leave_unknown(tmp_path):  # type: ignore[no-untyped-def]
    header = [*ONS_HEADER, "PLACE_OF_DEATH"]
    rows = [[N[0], "20240501", "", "70", "", "1", "E01000001", "I219", "", "H", "", "",
             "Hospital"],  # the code decides
            [N[1], "20240502", "", "70", "", "1", "E01000001", "I219", "", "12345", "",
             "", "Care home"]]  # no code rule fits: the name
    path = write(tmp_path / "deaths_both.csv", _ons_deaths(rows, header))
    config = make_project(tmp_path / "p", {"deaths": 'preset = "pcmd_deaths"\n'})
    ingest_files(config, "deaths", [path], reporter=Reporter())
    assert query(config, "SELECT place_of_death FROM deaths ORDER BY source_row") == [
        ("home",), ("care_home",)]


def test_ncdr_mortality_names_need_only_the_preset(tmp_path):  # type: ignore[no-untyped-def]
    """Death registrations as NHS England's NCDR / UDAL give them: pseudonymised
    identifier, the derived age and the LSOA derived from the postcode."""
    header = ["Der_Pseudo_NHS_Number", "REG_DATE_OF_DEATH", "REG_DATE", "Der_Age_At_Death",
              "DEC_SEX", "Der_Postcode_LSOA_2021_Code", "S_UNDERLYING_COD_ICD10",
              "S_COD_CODE_1", "POD_CODE", "POD_NHS_ESTABLISHMENT", "POD_ESTABLISHMENT_TYPE"]
    rows = [["AB12CD", "2024-05-01", "2024-05-03", "84", "2", "E01000001", "C349", "J449",
             "", "1", "01"]]
    path = write(tmp_path / "mortality_ncdr.csv", _ons_deaths(rows, header))
    preset, res = _onboard(tmp_path, "deaths", path)
    assert preset == "pcmd_deaths"
    assert (res.rows_loaded, res.rows_rejected) == (1, 0)  # type: ignore[attr-defined]
    assert query(load_config(tmp_path / "p"), "SELECT age, sex, lsoa_code, place_of_death "
                 "FROM deaths") == [(84, "female", "E01000001", "hospital")]


@pytest.mark.parametrize(("written", "fmt", "day"), [
    ("01-MAY-24", "%d-%b-%y", "2024-05-01"),  # Oracle's default DD-MON-RR
    ("1/5/24", "%d/%m/%y", "2024-05-01"),  # Excel's short date saved as CSV
])
def test_fix_a_file_of_two_digit_years(tmp_path, written, fmt, day):  # type: ignore[no-untyped-def]
    """Two-digit years are not read unasked; the refusal names the format that reads
    them, and setting it as said loads every death."""
    from eolneeds.errors import InputDataError

    rows = [[_nhs(k), written, "", "80", "", "1", "E01000001", "C349", "", "H", "", ""]
            for k in range(3)]
    path = write(tmp_path / "deaths_oracle.csv", _ons_deaths(rows))
    root = tmp_path / "p"
    make_project(root, {"deaths": 'preset = "pcmd_deaths"\n'})
    with pytest.raises(InputDataError) as caught:
        ingest_files(load_config(root), "deaths", [path], reporter=Reporter())
    mapping = root / "mappings" / "deaths.toml"
    assert str(caught.value).endswith(
        f"set date_format in {mapping} to the file's date format (date_format = \"{fmt}\", "
        f"as in '{written}'; two-digit years 00-68 are then read as 2000-2068 and 69-99 as "
        "1969-1999, a year of birth as the century before the death)")
    with mapping.open("a", encoding="utf-8") as fh:
        fh.write(f'date_format = "{fmt}"\n')
    [res] = ingest_files(load_config(root), "deaths", [path], reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (3, 0)
    assert query(load_config(root), "SELECT DISTINCT CAST(date_of_death AS VARCHAR) FROM "
                 "deaths") == [(day,)]


def test_codes_written_as_decimals_are_the_same_codes(tmp_path):  # type: ignore[no-untyped-def]
    """A column a tool read as numbers ('1.0', '83.0', as pandas writes one with a gap):
    sex 1.0 is male, ESTTYPED 83.0 a hospice, ethnicity and the NHS flag alike."""
    header = [*ONS_HEADER, "ETHNIC_GROUP"]
    rows = [[_nhs(0), "20240501", "", "80.0", "1.0", "1.0", "E01000001", "C349", "", "X1",
             "1.0", "83.0", "A"],
            [_nhs(1), "20240502", "", "80", "1", "2.0", "E01000001", "C349", "", "X2", "2.0",
             "3.00", ""]]
    path = write(tmp_path / "deaths_pandas.csv", _ons_deaths(rows, header))
    config = make_project(tmp_path / "p", {"deaths": 'preset = "pcmd_deaths"\n'})
    ingest_files(config, "deaths", [path], reporter=Reporter())
    assert query(config, "SELECT age, sex, place_of_death FROM deaths ORDER BY source_row") == [
        (80, "male", "hospice"), (80, "female", "care_home")]
    assert query(config, "SELECT count(*) FROM field_actions") == [(0,)]


# --- HES APC episodes, SUS spells -------------------------------------------------------

HES_HEADER = ["NEWNHSNO", "ADMIDATE", "DISDATE", "ADMIMETH", "MAINSPEF", "TRETSPEF",
              "DISMETH", "EPIORDER", "EPISTART", "EPIEND", "SUSSPELLID"]
HES_ROWS = [
    # one spell of one episode, not yet ended (1800-01-01 = no date)
    [N[0], "2024-04-01", "1800-01-01", "21", "300", "300", "8", "01", "2024-04-01", "", "1"],
    # one spell of three episodes: DISDATE only on the last; admitted once (2B)
    [N[0], "2024-04-10", "", "2B", "300", "300", "", "01", "2024-04-10", "2024-04-12", "2"],
    [N[0], "2024-04-10", "", "2B", "300", "315", "", "02", "2024-04-12", "2024-04-15", "2"],
    [N[0], "2024-04-10", "2024-04-20", "2B", "315", "315", "4", "03", "2024-04-15",
     "2024-04-20", "2"],
    # a day case: elective, one episode
    [N[1], "2024-04-01", "2024-04-01", "11", "", "", "1", "1", "2024-04-01", "2024-04-01",
     "3"],
]


def test_hes_apc_episodes_count_each_spell_once(tmp_path):  # type: ignore[no-untyped-def]
    path = write(tmp_path / "hes_apc.txt", "\ufeff" + "\n".join(
        "|".join(r) for r in [HES_HEADER, *HES_ROWS]) + "\n")
    preset, res = _onboard(tmp_path, "activity", path)
    assert preset == "hes_apc"
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (5, 5, 0)  # type: ignore[attr-defined]
    config = load_config(tmp_path / "p")
    assert query(config, "SELECT activity_type, admission_method, start_date, end_date, "
                 "treatment_function FROM activity ORDER BY source_row") == [
        ("emergency_admission", "21", date(2024, 4, 1), None, "300"),
        # the spell's admission, ending when the spell does (the last episode's
        # DISDATE), not when its own first episode did (EPIEND 2024-04-12)
        ("emergency_admission", "2B", date(2024, 4, 10), date(2024, 4, 20), "300"),
        # later episodes: no second admission, still palliative medicine (315)
        ("other", None, date(2024, 4, 10), date(2024, 4, 15), "315"),
        ("other", None, date(2024, 4, 10), date(2024, 4, 20), "315"),
        ("elective_admission", "11", date(2024, 4, 1), date(2024, 4, 1), None),
    ]
    # Two emergency admissions in all, as the extract has two emergency spells.
    assert query(config, "SELECT count(*) FROM activity WHERE activity_type = "
                 "'emergency_admission'") == [(2,)]


def test_a_spells_bed_days_run_from_admission_to_its_discharge(tmp_path):  # type: ignore[no-untyped-def]
    """Bed days of an episode-level extract are the spell's: the admission row ends on
    the last episode's DISDATE, on ADMIDATE + SPELDUR where only the duration is given,
    and runs to the date of death when the last episode has no discharge date (a death
    in hospital exported blank)."""
    header = ["NEWNHSNO", "ADMIDATE", "DISDATE", "ADMIMETH", "DISMETH", "EPIORDER",
              "EPISTART", "EPIEND", "SPELDUR"]
    rows = [
        # died in hospital, the last of two episodes exported with no dates
        [N[2], "20240501", "", "21", "", "01", "20240501", "20240505", ""],
        [N[2], "20240501", "", "21", "4", "02", "20240505", "", ""],
        # first episodes only (an extract of admissions): the duration gives the end
        [N[3], "20240510", "", "22", "", "01", "20240510", "20240512", "9"],
        # three episodes, DISDATE and SPELDUR on the last only
        [N[4], "20240601", "18000101", "21", "", "01", "20240601", "20240602", ""],
        [N[4], "20240601", "18000101", "21", "", "02", "20240602", "20240604", ""],
        [N[4], "20240601", "20240611", "21", "1", "03", "20240604", "20240611", "10"],
    ]
    path = write(tmp_path / "hes_episodes.csv", "\r\n".join(
        ",".join(r) for r in [header, *rows]) + "\r\n")
    config = make_project(tmp_path / "p", {"hes": 'dataset = "activity"\npreset = "hes_apc"\n'})
    [res] = ingest_files(config, "activity", [path], mapping="hes", reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (6, 0)
    assert query(config, "SELECT start_date, end_date FROM activity WHERE activity_type = "
                 "'emergency_admission' ORDER BY source_row") == [
        (date(2024, 5, 1), None), (date(2024, 5, 10), date(2024, 5, 19)),
        (date(2024, 6, 1), date(2024, 6, 11))]


def test_sus_spells_with_their_names_and_costs(tmp_path):  # type: ignore[no-untyped-def]
    header = ["NHSNumber", "Admission_Date", "Discharge_Date", "Admission_Method",
              "Treatment_Function_Code", "Discharge_Method", "Spell_Cost"]
    rows = [[N[0], "01/04/2024", "03/04/2024", "21", "300", "4", '"\u00a31,234.50"'],
            [N[1], "01/04/2024 00:00", "", "2A", "315", "", "\u00a399"]]
    path = write(tmp_path / "sus_apcs.csv", "\r\n".join(
        ",".join(r) for r in [header, *rows]) + "\r\n", encoding="cp1252")
    preset, res = _onboard(tmp_path, "activity", path)
    assert preset == "hes_apc"
    assert (res.rows_loaded, res.rows_rejected) == (2, 0)  # type: ignore[attr-defined]
    assert query(load_config(tmp_path / "p"), "SELECT activity_type, start_date, end_date, "
                 "treatment_function, cost FROM activity ORDER BY source_row") == [
        ("emergency_admission", date(2024, 4, 1), date(2024, 4, 3), "300", 1234.5),
        ("emergency_admission", date(2024, 4, 1), None, "315", 99.0)]


def test_sus_spells_end_on_their_own_discharge_date_whatever_the_admission(tmp_path):  # type: ignore[no-untyped-def]
    """SUS spells have no SPELDUR, so a spell's end date is its Discharge_Date alone (the
    end date is worked out once per discharge date, not per pair of dates). Spells that
    share a discharge date and differ in admission date each keep it; a blank one is no
    end (a death in hospital); one before its admission, or one that is no date, is
    blanked on its own row (the admission still counts). Read off the rows by hand."""
    header = ["NHSNumber", "Admission_Date", "Discharge_Date", "Admission_Method",
              "Treatment_Function_Code", "Discharge_Method"]
    rows = [[N[0], "01/04/2024", "03/04/2024", "21", "300", "1"],   # row 2
            [N[1], "02/04/2024", "03/04/2024", "21", "300", "1"],   # row 3: same end
            [N[2], "05/04/2024", "03/04/2024", "21", "300", "1"],   # row 4: ends first
            [N[3], "01/04/2024", "", "21", "300", "4"],             # row 5: died, blank
            [N[4], "01/04/2024", "31/02/2024", "21", "300", "1"],   # row 6: no such day
            [N[0], "03/04/2024", "03/04/2024", "21", "300", "1"]]   # row 7: a day case
    path = write(tmp_path / "sus_apcs.csv", "\r\n".join(
        ",".join(r) for r in [header, *rows]) + "\r\n")
    config = make_project(tmp_path / "p", {"sus": 'dataset = "activity"\npreset = "hes_apc"\n'})
    [res] = ingest_files(config, "activity", [path], mapping="sus", reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (6, 6, 0)
    assert query(config, "SELECT source_row, start_date, end_date FROM activity "
                 "ORDER BY source_row") == [
        (2, date(2024, 4, 1), date(2024, 4, 3)), (3, date(2024, 4, 2), date(2024, 4, 3)),
        (4, date(2024, 4, 5), None), (5, date(2024, 4, 1), None),
        (6, date(2024, 4, 1), None), (7, date(2024, 4, 3), date(2024, 4, 3))]
    actions = query(config, "SELECT row_number, action, value, reason FROM field_actions "
                    "ORDER BY row_number")
    assert [a[:3] for a in actions] == [(4, "blanked", "2024-04-03"),
                                        (6, "blanked", "31/02/2024")]
    assert "'2024-04-03' is before" in actions[0][3] and "'2024-04-05'" in actions[0][3]


def test_sus_spells_from_ncdr_with_their_derived_names(tmp_path):  # type: ignore[no-untyped-def]
    """NHS England's NCDR / UDAL SUS spells: the pseudonymised identifier, the spell's
    length of stay, the treatment function at discharge, the payment with the market
    forces factor."""
    header = ["APCS_Ident", "Der_Pseudo_NHS_Number", "Admission_Date", "Discharge_Date",
              "Admission_Method", "Der_Spell_LoS", "Der_Dischg_Treatment_Function_Code",
              "Grand_Total_Payment_MFF"]
    rows = [["1", "AB12", "2024-04-01", "", "21", "4", "315", "1234.5"],
            ["2", "AB13", "2024-04-01", "", "2A", "", "300", ""]]
    path = write(tmp_path / "apcs.csv", "\n".join(",".join(r) for r in [header, *rows]) + "\n")
    preset, res = _onboard(tmp_path, "activity", path)
    assert preset == "hes_apc"
    assert (res.rows_loaded, res.rows_rejected) == (2, 0)  # type: ignore[attr-defined]
    assert query(load_config(tmp_path / "p"), "SELECT activity_type, end_date, "
                 "treatment_function, cost FROM activity ORDER BY source_row") == [
        # no discharge date, but 4 days' stay: it ended on 5 April
        ("emergency_admission", date(2024, 4, 5), "315", 1234.5),
        ("emergency_admission", None, "300", None)]


def test_admission_methods_exported_with_their_descriptions(tmp_path):  # type: ignore[no-untyped-def]
    """A reporting tool's export writes the code with its meaning, or the meaning alone:
    the code is read where it leads; words are read as an activity type, and words no
    rule knows are quarantined with the advice (never counted silently as no admission)."""
    header = ["NHS_NUMBER", "Admission_Date", "Discharge_Date", "Admission_Method"]
    methods = [("21 - Emergency: Accident and Emergency", "emergency_admission", "21"),
               ("2A: Emergency - A&E of another provider", "emergency_admission", "2A"),
               ("11 Elective - Waiting list", "elective_admission", "11"),
               ("31.0", "other", "31"),
               ("Non-elective", "emergency_admission", None),
               ("Elective", "elective_admission", None)]
    rows = [[_nhs(k), "01/04/2024", "03/04/2024", m] for k, (m, _t, _c) in enumerate(methods)]
    rows.append([_nhs(9), "01/04/2024", "03/04/2024", "Maternity ante-partum"])
    path = write(tmp_path / "sus_export.csv", _ons_deaths(rows, header))
    config = make_project(tmp_path / "p", {"sus": 'dataset = "activity"\npreset = "hes_apc"\n'})
    [res] = ingest_files(config, "activity", [path], mapping="sus", reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (len(methods), 1)
    assert query(config, "SELECT activity_type, admission_method FROM activity ORDER BY "
                 "source_row") == [(t, c) for _m, t, c in methods]
    [(row, why)] = query(config, "SELECT row_number, reason FROM rejects")
    # Words, not a code, are kept nowhere (a name could be there): the row says where
    # to read the value in the file (test_hostile_words).
    assert row == len(rows) + 1
    assert "'[words withheld]' is not a known activity type" in why
    assert "add a [recode.activity_type] entry" in why
    # Followed: the row loads.
    with (tmp_path / "p" / "mappings" / "sus.toml").open("a", encoding="utf-8") as fh:
        fh.write('[recode.activity_type]\n"Maternity ante-partum" = "other"\n')
    [res] = ingest_files(load_config(tmp_path / "p"), "activity", [path], mapping="sus",
                         replace=True, reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (len(methods) + 1, 0)


def test_hes_episodes_flagged_by_fae_alone_count_each_spell_once(tmp_path):  # type: ignore[no-untyped-def]
    header = ["EPIKEY", "NEWNHSNO", "ADMIDATE", "DISDATE", "ADMIMETH", "FAE", "EPISTART",
              "EPIEND", "TRETSPEF"]
    rows = [["1", N[0], "2024-04-01", "", "21", "1", "2024-04-01", "2024-04-03", "300"],
            ["2", N[0], "2024-04-01", "2024-04-09", "21", "0", "2024-04-03", "2024-04-09",
             "315"]]
    path = write(tmp_path / "hes_fae.csv", "\n".join(",".join(r) for r in [header, *rows]) + "\n")
    preset, res = _onboard(tmp_path, "activity", path)
    assert preset == "hes_apc"
    assert query(load_config(tmp_path / "p"), "SELECT activity_type, start_date, end_date "
                 "FROM activity ORDER BY source_row") == [
        ("emergency_admission", date(2024, 4, 1), date(2024, 4, 9)),
        ("other", date(2024, 4, 1), date(2024, 4, 9))]


# --- ECDS ----------------------------------------------------------------------------


@pytest.mark.parametrize(("id_column", "arrival_column"), [
    ("NHS_NUMBER", "EC_ARRIVAL_DATE"), ("NHSNumber", "Arrival_Date"),
    ("Der_Pseudo_NHS_Number", "EC_Arrival_Date"),
    ("Der_Pseudo_NHS_Number", "Der_EC_Arrival_Date_Time")])
def test_ecds_as_exported(tmp_path, id_column, arrival_column):  # type: ignore[no-untyped-def]
    ids = N[:2] if "Pseudo" not in id_column else ["ab12cd34", "ab12cd35"]
    header = [id_column, arrival_column, "EC_Department_Type", "EC_Discharge_Status_SNOMED_CT"]
    rows = [[ids[0], "2024-04-01", "01", "1066331000000109"],
            [ids[1], "2024-04-02 13:45:00", "03", ""]]
    path = write(tmp_path / "ecds.csv", "\n".join(",".join(r) for r in [header, *rows]) + "\n")
    preset, res = _onboard(tmp_path, "activity", path)
    assert preset == "ecds_ae"
    assert (res.rows_loaded, res.rows_rejected) == (2, 0)  # type: ignore[attr-defined]
    assert query(load_config(tmp_path / "p"), "SELECT activity_type, start_date FROM activity "
                 "ORDER BY source_row") == [("ae_attendance", date(2024, 4, 1)),
                                             ("ae_attendance", date(2024, 4, 2))]


@pytest.mark.parametrize("with_age", [False, True])
def test_two_digit_years_of_birth_take_the_century_before_the_death(tmp_path, with_age):  # type: ignore[no-untyped-def]
    """strptime reads a two-digit year 00-68 as 2000-2068, so '01-MAY-45' would be a
    birth in 2045 (blanked as after the death) and '01-JUN-24' of a death in March 2024
    a birth three months later. Born before the death, they are 1945 and 1924. Where both
    centuries give a possible age (2 or 102) the age column decides, and without one the
    age is left unknown and recorded, never guessed."""
    header = ["person_id", "date_of_death", "date_of_birth", *(["age"] if with_age else []),
              "sex", "lsoa_code", "underlying_cause", "place_of_death"]
    births = [("15-MAR-25", "01-MAY-45", "79"), ("15-MAR-24", "01-JUN-24", "99"),
              ("15-MAR-25", "01-MAY-30", "94"), ("15-MAR-25", "01-JAN-23", "102")]
    rows = [[_nhs(k), dod, dob, *([age] if with_age else []), "2", "E01000001", "C349",
             "home"] for k, (dod, dob, age) in enumerate(births)]
    path = write(tmp_path / "deaths_dob.csv", _ons_deaths(rows, header))
    config = make_project(tmp_path / "p", {"deaths": 'date_format = "%d-%b-%y"\n'})
    [res] = ingest_files(config, "deaths", [path], reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (4, 0)
    ages = [a for (a,) in query(config, "SELECT age FROM deaths ORDER BY source_row")]
    assert ages == ([79, 99, 94, 102] if with_age else [79, 99, 94, None])
    actions = query(config, "SELECT column_name, action, reason FROM field_actions")
    if with_age:
        assert actions == []
    else:
        [(column, action, reason)] = actions
        assert (column, action) == ("age", "blanked")
        assert "two-digit year" in reason and "2 or 102" in reason, reason
