"""Real extracts the sample generator does not write, as a new ICB analyst gets them:
each file is built here by hand in the layout a national system or warehouse exports
(column names as they appear in public analysts' code against those systems), then
inspected and ingested with only a preset. Every expected value is read off the rows
below, not from the code.

- Civil Registration - Deaths from DARS names the NHS number DEC_CONF_NHS_NUMBER.
- NCDR's Civil_Registration.Mortality gives the age as Dec_Age_At_Death, beside
  DEC_SEX and its description DEC_SEX_DESC.
- The SUS extract marts (SEM) that commissioning support units run: AIMTC_Pseudo_NHS,
  StartDate_HospitalProviderSpell, DischargeDate_FromHospitalProviderSpell,
  AdmissionMethod_HospitalProviderSpell, TreatmentFunctionCode, PBRspellID, one row per
  consultant episode (StartDate_ConsultantEpisode / EndDate_ConsultantEpisode) and no
  episode order; A&E from the same marts with ArrivalDate.
- HES-like episode extracts with EPISTART / EPIEND and a spell identifier but no EPIORDER.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from eolneeds.config import ProjectConfig, load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.normalise import parse_date
from eolneeds.reporting import Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write
from tests.test_national_extracts import N, _onboard


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8",
         newline: str = "\n") -> Path:
    return write(path, newline.join(",".join(r) for r in rows) + newline, encoding)


def _onboarded(tmp_path: Path, dataset: str, path: Path, preset: str,
               counts: tuple[int, int, int]) -> ProjectConfig:
    """inspect names `preset`, and the mapping it writes ingests the file with (rows
    read, loaded, quarantined) `counts`; the project's config."""
    found, res = _onboard(tmp_path, dataset, path)
    assert found == preset
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == counts  # type: ignore[attr-defined]
    return load_config(tmp_path / "p")


# --- Civil Registration - Deaths from DARS -----------------------------------------

DARS_HEADER = (["DEC_CONF_NHS_NUMBER", "REG_DATE_OF_DEATH", "REG_DATE", "DEC_AGEC",
                "DEC_AGECUNIT", "DEC_SEX", "LSOA_OF_RESIDENCE_CODE", "CCG_OF_RESIDENCE_CODE",
                "S_UNDERLYING_COD_ICD10"] + [f"S_COD_CODE_{i}" for i in range(1, 16)]
               + ["POD_CODE", "POD_NHS_ESTABLISHMENT", "POD_ESTABLISHMENT_TYPE"])


def _dars(nhs: str, dod: str, age: str, sex: str, cause: str, cod1: str, pod: str,
          flag: str, kind: str) -> list[str]:
    return [nhs, dod, dod, age, "1", sex, "E01000001", "00K", cause, cod1] + [""] * 14 + [
        pod, flag, kind]


def test_dars_death_registrations_name_the_nhs_number_dec_conf(tmp_path: Path) -> None:
    path = _csv(tmp_path / "civreg_deaths.csv", [
        DARS_HEADER,
        # yyyymmdd as DARS writes dates; the filler X and the trailing dash dropped
        _dars(N[0], "20240103", "85", "1", "I10X", "R99-", "H", "", ""),
        _dars(N[1], "20240109", "77", "2", "C34.9", "", "", "1", "01"),
        _dars(N[2], "20240115", "66", "2", "J18.9", "I10X", "", "2", "83"),
    ], encoding="cp1252", newline="\r\n")
    config = _onboarded(tmp_path, "deaths", path, "pcmd_deaths", (3, 3, 0))
    assert query(config, "SELECT date_of_death, age, sex, underlying_cause, "
                 "contributory_causes, place_of_death FROM deaths ORDER BY source_row") == [
        (date(2024, 1, 3), 85, "male", "I10", ["R99"], "home"),
        (date(2024, 1, 9), 77, "female", "C349", [], "hospital"),
        (date(2024, 1, 15), 66, "female", "J189", ["I10"], "hospice"),
    ]
    # The NHS numbers passed their check, so every death links (no 'u' pseudonyms).
    assert query(config, "SELECT count(*) FROM deaths WHERE starts_with(person_id, 'u')") \
        == [(0,)]


# --- NCDR Civil_Registration.Mortality --------------------------------------------

NCDR_HEADER = ["Derived_Pseudo_NHS", "Dec_Age_At_Death", "DEC_SEX", "DEC_SEX_DESC",
               "DEC_MARITAL_STATUS", "REG_DATE_OF_DEATH", "REG_DATE",
               "Der_Postcode_LSOA_2021_Code", "S_UNDERLYING_COD_ICD10", "POD_CODE",
               "POD_NHS_ESTABLISHMENT", "POD_ESTABLISHMENT_TYPE"]
NCDR_ROWS = [
    ["1234567", "85", "1", "Male", "M", "2024-01-03", "2024-01-05", "E01000001", "C349",
     "H", "", ""],
    ["7654321", "77", "2", "Female", "S", "2024-01-09", "2024-01-12", "E01000002", "I10X",
     "", "1", "01"],
]
NCDR_EXPECTED = [(date(2024, 1, 3), 85, "male", "E01000001", "home"),
                 (date(2024, 1, 9), 77, "female", "E01000002", "hospital")]


def test_ncdr_mortality_with_its_age_at_death_needs_only_the_preset(tmp_path: Path) -> None:
    path = _csv(tmp_path / "mortality.csv", [NCDR_HEADER, *NCDR_ROWS])
    config = _onboarded(tmp_path, "deaths", path, "pcmd_deaths", (2, 2, 0))
    assert query(config, "SELECT date_of_death, age, sex, lsoa_code, "
                 "place_of_death FROM deaths ORDER BY source_row") == NCDR_EXPECTED


def test_an_unknown_age_column_is_suggested_by_every_name_the_preset_knows(
        tmp_path: Path) -> None:
    """A column like one of the age's other names (Age_At_Death_Years, like
    AGE_AT_DEATH) is the one suggested, not DEC_SEX_DESC, which is only a little like
    DEC_AGEC; and each fix the message gives, followed as written, ingests the file."""
    header = [h.replace("Dec_Age_At_Death", "Age_At_Death_Years") for h in NCDR_HEADER]
    path = _csv(tmp_path / "mortality.csv", [header, *NCDR_ROWS])
    config = make_project(tmp_path / "p", {"deaths": 'preset = "pcmd_deaths"\n'})
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "deaths", [path], reporter=Reporter())
    said = str(refused.value)
    assert "rename the file's column 'Age_At_Death_Years' to DEC_AGEC" in said
    assert "DEC_SEX_DESC' to" not in said
    # Fix 1: the column renamed as advised.
    renamed = _csv(tmp_path / "renamed.csv",
                   [[h.replace("Age_At_Death_Years", "DEC_AGEC") for h in header], *NCDR_ROWS])
    [res] = ingest_files(config, "deaths", [renamed], reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (2, 0)
    assert query(config, "SELECT date_of_death, age, sex, lsoa_code, place_of_death FROM "
                 "deaths ORDER BY source_row") == NCDR_EXPECTED
    # Fix 2: age set under [columns] to the column that holds it.
    other = make_project(tmp_path / "q", {"deaths": 'preset = "pcmd_deaths"\n[columns]\n'
                                          'age = "Age_At_Death_Years"\n'})
    [res] = ingest_files(other, "deaths", [path], reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (2, 0)
    assert query(other, "SELECT date_of_death, age, sex, lsoa_code, place_of_death FROM "
                 "deaths ORDER BY source_row") == NCDR_EXPECTED


# --- SUS extract mart (SEM) episodes -----------------------------------------------

SEM_HEADER = ["AIMTC_Pseudo_NHS", "PBRspellID", "StartDate_HospitalProviderSpell",
              "DischargeDate_FromHospitalProviderSpell",
              "AdmissionMethod_HospitalProviderSpell", "StartDate_ConsultantEpisode",
              "EndDate_ConsultantEpisode", "TreatmentFunctionCode"]
SEM_ROWS = [
    # person A: one emergency spell of three episodes (the spell's dates on every row),
    # the last under palliative medicine (315)
    ["A", "S1", "2024-01-03", "2024-01-10", "21", "2024-01-03", "2024-01-04", "300"],
    ["A", "S1", "2024-01-03", "2024-01-10", "21", "2024-01-04", "2024-01-07", "300"],
    ["A", "S1", "2024-01-03", "2024-01-10", "21", "2024-01-07", "2024-01-10", "315"],
    # person A again: a second emergency spell, one episode
    ["A", "S2", "2024-02-01", "2024-02-02", "22", "2024-02-01", "2024-02-02", "300"],
    # person B: an emergency spell of two episodes, open at death (no discharge)
    ["B", "S3", "2024-01-05", "", "2A", "2024-01-05", "2024-01-06", "300"],
    ["B", "S3", "2024-01-05", "", "2A", "2024-01-06", "", "300"],
    # person B: an elective day case
    ["B", "S4", "2023-12-01", "2023-12-01", "11", "2023-12-01", "2023-12-01", "100"],
]


def test_sem_episodes_without_an_episode_order_admit_each_spell_once(tmp_path: Path) -> None:
    path = _csv(tmp_path / "apc_sem_episodes.csv", [SEM_HEADER, *SEM_ROWS])
    # Every episode loads (none is a duplicate to quarantine: before, 3 of these 7 rows
    # were, and a file of mostly multi-episode spells was refused whole).
    config = _onboarded(tmp_path, "activity", path, "hes_apc", (7, 7, 0))
    # Admissions: one per spell, 4 spells, 3 of them emergencies (A 2, B 1).
    assert query(config, "SELECT activity_type, admission_method, start_date, end_date, "
                 "treatment_function FROM activity ORDER BY source_row") == [
        ("emergency_admission", "21", date(2024, 1, 3), date(2024, 1, 10), "300"),
        ("other", None, date(2024, 1, 3), date(2024, 1, 10), "300"),
        ("other", None, date(2024, 1, 3), date(2024, 1, 10), "315"),
        ("emergency_admission", "22", date(2024, 2, 1), date(2024, 2, 2), "300"),
        # open at death: no end, so its bed days run to the date of death
        ("emergency_admission", "2A", date(2024, 1, 5), None, "300"),
        ("other", None, date(2024, 1, 5), None, "300"),
        ("elective_admission", "11", date(2023, 12, 1), date(2023, 12, 1), "100"),
    ]
    assert query(config, "SELECT count(DISTINCT person_id) FROM activity") == [(2,)]


def test_episodes_by_epistart_with_a_spell_id_and_no_epiorder(tmp_path: Path) -> None:
    """A spell of three episodes in a file of four rows: before, the two later episodes
    were quarantined as the spell sent again, more than half the file, so it was
    refused; the admission also ended with its first episode (2024-03-02), not the
    spell (2024-03-09)."""
    path = _csv(tmp_path / "apc_episodes.csv", [
        ["NHS_NUMBER", "SPELL_ID", "EPIKEY", "ADMIDATE", "DISDATE", "ADMIMETH", "EPISTART",
         "EPIEND", "TRETSPEF"],
        [N[0], "X1", "E1", "01/03/2024", "", "21", "01/03/2024", "02/03/2024", "300"],
        [N[0], "X1", "E2", "01/03/2024", "", "21", "02/03/2024", "05/03/2024", "300"],
        [N[0], "X1", "E3", "01/03/2024", "09/03/2024", "21", "05/03/2024", "09/03/2024",
         "315"],
        [N[1], "X2", "E4", "04/03/2024", "04/03/2024", "12", "04/03/2024", "04/03/2024",
         "100"],
    ])
    config = make_project(tmp_path / "p", {"activity": 'preset = "hes_apc"\n'})
    [res] = ingest_files(config, "activity", [path], reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (4, 4, 0)
    assert query(config, "SELECT activity_type, start_date, end_date FROM activity "
                 "ORDER BY source_row") == [
        ("emergency_admission", date(2024, 3, 1), date(2024, 3, 9)),
        ("other", date(2024, 3, 1), date(2024, 3, 5)),
        ("other", date(2024, 3, 1), date(2024, 3, 9)),
        ("elective_admission", date(2024, 3, 4), date(2024, 3, 4)),
    ]


def test_episodes_without_a_spell_id_are_one_spell_by_person_and_admission(
        tmp_path: Path) -> None:
    """SEM episodes with no spell identifier: a person's rows with one admission date and
    method are one spell's episodes (two spells begun the same day cannot be told from
    them, README), so one admission; another admission date is another spell."""
    path = _csv(tmp_path / "apc_sem_episodes.csv", [
        ["AIMTC_Pseudo_NHS", "StartDate_HospitalProviderSpell",
         "DischargeDate_FromHospitalProviderSpell", "AdmissionMethod_HospitalProviderSpell",
         "StartDate_ConsultantEpisode", "EndDate_ConsultantEpisode"],
        ["A", "2024-01-03", "2024-01-09", "21", "2024-01-03", "2024-01-05"],
        ["A", "2024-01-03", "2024-01-09", "21", "2024-01-05", "2024-01-09"],
        ["A", "2024-01-20", "2024-01-21", "21", "2024-01-20", "2024-01-21"],
    ])
    config = make_project(tmp_path / "p", {"activity": 'preset = "hes_apc"\n'})
    [res] = ingest_files(config, "activity", [path], reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (3, 3, 0)
    assert query(config, "SELECT activity_type, start_date, end_date FROM activity "
                 "ORDER BY source_row") == [
        ("emergency_admission", date(2024, 1, 3), date(2024, 1, 9)),
        ("other", date(2024, 1, 3), date(2024, 1, 9)),
        ("emergency_admission", date(2024, 1, 20), date(2024, 1, 21)),
    ]


def test_a_spells_file_sent_twice_is_still_one_spell(tmp_path: Path) -> None:
    """Without episode dates the rows are spells: the same spell twice is a duplicate,
    quarantined, as before."""
    path = _csv(tmp_path / "apc_spells.csv", [
        ["NHS_NUMBER", "SPELL_ID", "ADMIDATE", "DISDATE", "ADMIMETH"],
        [N[0], "X1", "2024-03-01", "2024-03-09", "21"],
        [N[0], "X1", "2024-03-01", "2024-03-09", "21"],
        [N[1], "X2", "2024-03-04", "2024-03-04", "12"],
    ])
    config = make_project(tmp_path / "p", {"activity": 'preset = "hes_apc"\n'})
    [res] = ingest_files(config, "activity", [path], reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (3, 2, 1)
    assert query(config, "SELECT row_number, reason FROM rejects") == [
        (3, "duplicate admission: the same spell (spell_id) as row 2 of this file")]


def test_ae_from_the_sus_extract_mart(tmp_path: Path) -> None:
    path = _csv(tmp_path / "ae_sem.csv", [
        ["AIMTC_Pseudo_NHS", "ArrivalDate", "ArrivalTime", "UniqueCDSidentifier"],
        ["A", "2024-01-03", "13:45", "C1"], ["B", "2024-01-04", "02:10", "C2"]])
    config = _onboarded(tmp_path, "activity", path, "ecds_ae", (2, 2, 0))
    assert query(config, "SELECT activity_type, start_date FROM "
                 "activity ORDER BY source_row") == [
        ("ae_attendance", date(2024, 1, 3)), ("ae_attendance", date(2024, 1, 4))]


def test_csds_contacts_with_attendance_status_in_one_word(tmp_path: Path) -> None:
    """CYP201CareContact as the CSUs' CSDS tables name it: AttendanceStatus, TeamType."""
    path = _csv(tmp_path / "csds_contacts.csv", [
        ["NHS_Number", "CareContactID", "Contact_Date", "AttendanceStatus", "TeamType"],
        [N[0], "C1", "2024-01-03", "5", "47"],  # attended, specialist palliative care
        [N[0], "C2", "2024-01-04", "3", "12"],  # did not attend: quarantined
        [N[1], "C3", "2024-01-05", "6", "12"],  # seen late: a community contact
    ])
    config = _onboarded(tmp_path, "activity", path, "csds_contacts", (3, 2, 1))
    assert query(config, "SELECT activity_type, start_date FROM activity "
                 "ORDER BY source_row") == [
        ("specialist_palliative_contact", date(2024, 1, 3)),
        ("community_contact", date(2024, 1, 5))]


def test_dars_tokenised_extracts_link_by_their_token(tmp_path: Path) -> None:
    """DARS's pseudonymised deaths, HES APC and ECDS carry TOKEN_PERSON_ID instead of
    the NHS number: not an NHS number (so never checked as one), the same token for the
    same person in each file of one agreement, so a death links to its admissions."""
    deaths = _csv(tmp_path / "deaths.csv", [
        ["TOKEN_PERSON_ID", "REG_DATE_OF_DEATH", "DEC_AGEC", "DEC_SEX",
         "LSOA_OF_RESIDENCE_CODE", "S_UNDERLYING_COD_ICD10", "POD_CODE",
         "POD_NHS_ESTABLISHMENT", "POD_ESTABLISHMENT_TYPE"],
        ["TKN0001", "20240301", "80", "1", "E01000001", "C349", "", "1", "01"],
        ["TKN0002", "20240302", "70", "2", "E01000001", "I219", "H", "", ""]])
    apc = _csv(tmp_path / "hes_apc.csv", [
        ["TOKEN_PERSON_ID", "ADMIDATE", "DISDATE", "ADMIMETH", "EPIORDER"],
        ["TKN0001", "20240201", "20240205", "21", "01"],
        ["TKN0001", "20240220", "", "21", "01"],
        ["TKN0003", "20240210", "20240211", "11", "01"]])
    ae = _csv(tmp_path / "ecds.csv", [["TOKEN_PERSON_ID", "ARRIVAL_DATE"],
                                      ["TKN0002", "20240228"]])
    config = make_project(tmp_path / "p", {
        "deaths": 'preset = "pcmd_deaths"\n', "hes": 'dataset = "activity"\npreset = '
        '"hes_apc"\n', "ecds": 'dataset = "activity"\npreset = "ecds_ae"\n'})
    for dataset, path, mapping, loaded in (("deaths", deaths, None, 2),
                                           ("activity", apc, "hes", 3),
                                           ("activity", ae, "ecds", 1)):
        [res] = ingest_files(config, dataset, [path], mapping=mapping, reporter=Reporter())
        assert (res.rows_loaded, res.rows_rejected) == (loaded, 0)
    # The first death has its two emergency admissions, the second its A&E attendance;
    # TKN0003 died in no file.
    assert query(config, "SELECT d.age, a.activity_type, count(*) FROM deaths d JOIN "
                 "activity a USING (person_id) GROUP BY ALL ORDER BY ALL") == [
        (70, "ae_attendance", 1), (80, "emergency_admission", 2)]


# --- Dates as warehouses and scripts write them --------------------------------------

# (written, the date it is): SQL Server's default text of a datetime (a view that casts
# its dates to varchar), the US long date, and yyyymmdd that pandas wrote back as a
# decimal because the column had blanks.
WRITTEN_DATES = [
    ("Jan  3 2024 12:00AM", date(2024, 1, 3)),
    ("Feb 29 2024  1:30PM", date(2024, 2, 29)),
    ('"March 4, 2024"', date(2024, 3, 4)),  # quoted in the CSV for its comma
    ("Sep 10 2023", date(2023, 9, 10)),
    ("20240105.0", date(2024, 1, 5)),
]


def test_month_first_and_decimal_yyyymmdd_dates_are_read(tmp_path: Path) -> None:
    header = ["DEC_NHS_NUMBER", "REG_DATE_OF_DEATH", "DEC_AGEC", "DEC_SEX", "DEC_LSOA",
              "S_UNDERLYING_COD_ICD10", "POD_CODE", "POD_NHS_ESTABLISHMENT",
              "POD_ESTABLISHMENT_TYPE"]
    rows = [[n, written, "80", "1", "E01000001", "C349", "H", "", ""]
            for n, (written, _day) in zip(N, WRITTEN_DATES, strict=True)]
    # Not dates: no 30 February, a decimal yyyymmdd with a fraction (no whole day), a
    # month first with a two-digit year (1924 or 2024?).
    rows += [["9434765064", "Feb 30 2024", "80", "1", "E01000001", "C349", "H", "", ""],
             ["9434765072", "20240105.5", "80", "1", "E01000001", "C349", "H", "", ""],
             ["9434765080", "Jan 3 24", "80", "1", "E01000001", "C349", "H", "", ""]]
    path = _csv(tmp_path / "deaths.csv", [header, *rows])
    config = _onboarded(tmp_path, "deaths", path, "pcmd_deaths", (8, 5, 3))
    assert query(config, "SELECT date_of_death FROM deaths ORDER BY source_row") == [
        (day,) for _written, day in WRITTEN_DATES]
    assert query(config, "SELECT row_number, value FROM rejects ORDER BY row_number") == [
        (7, "Feb 30 2024"), (8, "20240105.5"), (9, "Jan 3 24")]
    # inspect counts the month-first ones as dates (so a date column no name matches is
    # still found: inspect._guess_dates).
    [profile] = [c for c in inspect_file(path).columns if c.name == "REG_DATE_OF_DEATH"]
    assert profile.text_dates == {"%d-%b-%Y": 4}
    # The same reading in Python (inspect and the tests' reference).
    assert [parse_date(w.strip('"')).value for w, _day in WRITTEN_DATES] == [
        day for _w, day in WRITTEN_DATES]
    assert [parse_date(r[1]).value for r in rows[5:]] == [None, None, None]
