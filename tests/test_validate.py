"""validate_project: blocking faults, warnings and the data-quality tables, on a small
hand-built project whose answers are counted by hand below."""

from __future__ import annotations

from pathlib import Path

import pytest

from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter, Reporter
from eolneeds.validate import validate_project

CONFIG = """
[project]
icb_name = "Test ICB"

[[places]]
code = "P1"
name = "Place One"

[[places]]
code = "P2"
name = "Place Two"
"""


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def project(tmp_path: Path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    return load_config(root)


def load(config, tmp_path: Path, dataset: str, lines: list[str]) -> None:
    path = tmp_path / f"{dataset}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest_files(config, dataset, [path], reporter=Reporter())


def rows(report, key: str) -> list[tuple]:
    return list(report.table(key).frame.iter_rows())


def test_empty_project_is_blocked_without_creating_a_database(tmp_path):
    config = project(tmp_path)
    report = validate_project(config, reporter=Reporter())
    assert report.blocking == [
        "no data loaded yet (no project database) — load extracts with `eolneeds ingest "
        "deaths FILE` and the other datasets"]
    assert not config.database_path.exists()
    assert "Blocking faults" in report.render_text()


def test_quality_tables_and_blocking_faults(tmp_path):
    config = project(tmp_path)
    load(config, tmp_path, "areas", [
        "lsoa_code,place,imd_decile,lsoa_vintage",
        "E01000001,P1,1,2021", "E01000002,P1,5,2021", "E01000003,P2,9,2021",
        "E01000004,P9,2,2021"])
    load(config, tmp_path, "population", [
        "lsoa_code,year,sex,age_band,population",
        "E01000001,2023,F,85-89,100", "E01000002,2023,M,90+,50"])  # nothing for P2
    load(config, tmp_path, "deaths", [
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death",
        "A,05/01/2023,85,F,E01000001,C34.9,Hospital",
        "B,06/01/2023,85,F,E01000002,R99,Home",
        "C,07/01/2023,85,F,E01099999,,Moon",  # LSOA of another vintage, no cause, unknown
        "D,07/02/2023,,9,,I21,Hospice",  # no LSOA, no age, unknown sex
        "E,31/02/2023,85,F,E01000001,C34.9,Home",  # quarantined
        "A,08/01/2023,85,F,E01000001,C34.9,Home"])  # duplicate: quarantined
    load(config, tmp_path, "register", [
        "person_id,date_added", "A,01/12/2022", "A,01/12/2022", "Z,01/11/2022"])
    reporter = RecordingReporter()
    report = validate_project(config, reporter=reporter)

    # P2 has an area but no population: not blocking, its rates are published as not
    # available [x] (assess agrees: test_missing_population.py); P9 is not a Place of
    # the project.
    assert report.blocking == []
    assert report.warnings == [
        "no activity loaded: hospital activity indicators (last 90 days) are published as "
        "not available [x]",
        "no projections loaded: need projections to future years cannot be computed",
        "Place P2 (Place Two) has no population: crude_death_rate, dsr_all_cause, "
        "pc_need_rate are published as not available [x] for it, and for the ICB (whose "
        "rate would count its deaths without its people) — load population for its LSOAs "
        "(`eolneeds ingest population FILE`)",
        "areas name Places not in eolneeds.toml (ignored): P9",
        "1 field blanked, set to unknown or left unlinked in rows that still count (see "
        "the field_actions table)",
        "1 death of unknown age (an age such as DEC_AGEC 999 is blanked): they count in "
        "the number of deaths but not in the age-standardised rate, and where 1 to 7 fall in "
        "an area and period the rate is withheld there (its count against the deaths would "
        "give them away) — correct their age in the deaths extract (the field_actions table "
        "has their rows)",
        # The register stops two months before the last death (eolneeds.coverage).
        "palliative care register data end 2022-12-01, before the end of 2022-03 to 2023-02 "
        "(2023-02-28): acp_days_median, acp_need_pct, acp_register_pct, dnacpr_days_median, "
        "dnacpr_need_pct, dnacpr_register_pct, on_register_need_pct, on_register_pct, "
        "ppod_achieved_pct, ppod_days_median, ppod_need_pct, ppod_recorded_pct, "
        "register_days_median, register_late_pct, unidentified_need not available "
        "(published as [x], not as a number) — load data covering the period, or report an "
        "earlier one"]
    assert reporter.names() == ["validated"]
    # C's place "Moon" is no known code: set to unknown, and listed (the value stripped).
    assert rows(report, "field_actions_by_reason") == [
        ("deaths", "deaths.csv", "place_of_death", "set to unknown",
         "place_of_death is not a known code; add a [recode.place_of_death] entry to the "
         "mapping", 1, 4)]

    files = rows(report, "files")
    assert [(f[1], f[3], f[4], f[5], f[7]) for f in files] == [
        ("areas", 4, 4, 0, "current"), ("population", 2, 2, 0, "current"),
        ("deaths", 6, 4, 2, "current"), ("register", 3, 3, 0, "current")]

    # Reasons are grouped with the quoted values taken out.
    assert rows(report, "rejects_by_reason") == [
        ("deaths", "deaths.csv", "date_of_death",
         "date_of_death is not a date: February 2023 has 28 days", 1, 6),
        ("deaths", "deaths.csv", "person_id",
         "duplicate death for this person: first seen on row 2 of this file", 1, 7)]

    # 4 deaths loaded: D has no LSOA (1/4 = 25%); C's LSOA is not in areas (25%); C's
    # place is unknown; C has no cause; B's cause R99 is ill-defined; D's sex is unknown
    # and D has no age.
    assert rows(report, "deaths_quality") == [
        ("no LSOA", 1, 25.0), ("LSOA not in the areas file", 1, 25.0),
        ("place of death unknown", 1, 25.0), ("no underlying cause", 1, 25.0),
        ("ill-defined underlying cause (R00-R99)", 1, 25.0), ("sex unknown", 1, 25.0),
        ("no age", 1, 25.0)]
    # A is on the register (twice); nobody has activity.
    assert rows(report, "linkage") == [("any register entry", 1, 25.0),
                                       ("any activity", 0, 0.0)]
    assert rows(report, "duplicates") == [
        ("register", "same person_id and date_added", 1),
        ("activity", "same person_id, activity_type, start_date and end_date", 0)]
    completeness = {(r[0], r[1]): r[3:] for r in rows(report, "completeness")}
    assert completeness[("deaths", "lsoa_code")] == (4, 3, 75.0)
    assert completeness[("deaths", "age")] == (4, 3, 75.0)
    coverage = {r[0]: r[2:] for r in rows(report, "date_coverage")}
    assert coverage["deaths"] == (4, "2023-01-05", "2023-02-07", 2)
    assert coverage["activity"] == (0, None, None, 0)
    assert rows(report, "areas_by_place") == [
        ("P1", 2, True, "2021", 150.0), ("P2", 1, True, "2021", None),
        ("P9", 1, False, "2021", None)]
    text = report.render_text()
    assert "Place P2 (Place Two) has no population" in text
    assert "Rows quarantined, by file and reason" in text


def test_nothing_in_scope_and_missing_datasets_block(tmp_path):
    config = project(tmp_path)
    load(config, tmp_path, "areas", ["lsoa_code,place,imd_decile", "E01000001,P1,1",
                                     "E01000002,P2,1"])
    load(config, tmp_path, "deaths", [
        "person_id,date_of_death,sex,lsoa_code,place_of_death",
        "A,05/01/2023,F,E01000099,Home"])
    report = validate_project(config, reporter=Reporter())
    assert report.blocking == [
        "no deaths in scope: no death's LSOA is in an area of a Place in eolneeds.toml — "
        "check the areas file's place codes and LSOA vintage"]
    # No population: a warning saying what will be not available, as assess publishes.
    assert ("no population loaded: crude_death_rate, dsr_all_cause, pc_need_rate are "
            "published as not available [x] for every area — run `eolneeds ingest "
            "population FILE` (the ONS mid-year estimates by LSOA)") in report.warnings


def test_practice_checks_against_the_pcn_lookup(tmp_path):
    """GP practice data quality, each count worked out by hand from the rows below."""
    config = project(tmp_path)
    load(config, tmp_path, "areas", ["lsoa_code,place,imd_decile,lsoa_vintage",
                                     "E01000001,P1,1,2021", "E01000003,P2,9,2021"])
    load(config, tmp_path, "population", ["lsoa_code,year,sex,age_band,population",
                                          "E01000001,2023,F,85-89,100",
                                          "E01000003,2023,M,90+,50"])
    load(config, tmp_path, "practices", [
        "practice_code,pcn_code,start_date,end_date",
        "A81001,U00001,01/07/2019,",            # current
        "A81002,U00001,01/07/2019,31/03/2023",  # closed 31/03/2023: no current PCN
        "A81003,U00001,01/07/2019,",            # in two current PCNs
        "A81003,U00002,01/04/2022,",
        "A81004,U00002,01/07/2019,31/03/2021",  # moved: ended, then a current one
        "A81004,U00001,01/04/2021,"])
    load(config, tmp_path, "deaths", [
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death,"
        "gp_practice",
        "A,05/01/2023,85,F,E01000001,C34.9,Hospital,A81001",
        "B,06/05/2023,85,F,E01000001,C34.9,Home,A81002",   # after A81002 closed
        "C,07/01/2023,85,F,E01000003,C34.9,Home,A81002",   # before it closed
        "D,08/01/2023,85,F,E01000003,C34.9,Home,B99999",   # not in the lookup
        "E,09/01/2023,85,F,E01000003,C34.9,Home,gp12",     # not an ODS code
        "F,10/01/2023,85,F,E01000003,C34.9,Home,",         # none; register has one
        "G,11/01/2023,85,F,E01000003,C34.9,Home,"])        # none anywhere
    load(config, tmp_path, "register", [
        "person_id,date_added,gp_practice", "F,01/12/2022,A81001",
        "G,01/12/2022,", "H,01/11/2022,C12345"])          # C12345: not in the lookup
    report = validate_project(config, reporter=Reporter())
    found = {r[0]: r[1:4] for r in rows(report, "practices")}
    assert found == {
        "deaths with no GP practice (on the death or any register entry)": (1, 0, "none"),
        "deaths whose practice code is not an ODS practice code (a letter and 5 digits)":
            (1, 1, "GP12"),  # codes are upper-cased at ingest
        "register entries whose practice code is not an ODS practice code": (0, 0, "none"),
        "deaths whose practice is not in the practices file": (2, 2, "B99999, GP12"),
        "register entries whose practice is not in the practices file": (1, 1, "C12345"),
        "deaths whose practice is in no PCN (listed only by ODS's practice list)":
            (0, 0, "none"),
        "deaths after their practice closed (ODS's practice list)": (0, 0, "none"),
        "deaths at practices ODS lists as closed but with no close date (status C)":
            (0, 0, "none"),
        "deaths at practices ODS lists as dormant or proposed (status D or P)":
            (0, 0, "none"),
        "deaths after their practice's last PCN membership ended (closed or merged?)":
            (1, 1, "A81002"),
        "practices in the practices file with no current PCN": (1, 1, "A81002"),
        "practices in more than one current PCN": (1, 1, "A81003"),
    }
    practice_warnings = [w for w in report.warnings if "practice" in w]
    assert len(practice_warnings) == 7  # one per check that found something
    assert any(w.startswith("2 deaths whose practice is not in the practices file, e.g. "
                            "B99999, GP12 — ") and "ePCN" in w for w in practice_warnings)
    assert "GP practices and PCNs" in report.render_text()


def test_practice_codes_without_a_lookup_say_so(tmp_path):
    config = project(tmp_path)
    load(config, tmp_path, "areas", ["lsoa_code,place,imd_decile", "E01000001,P1,1"])
    load(config, tmp_path, "deaths", [
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death,"
        "gp_practice", "A,05/01/2023,85,F,E01000001,C34.9,Hospital,A81001"])
    report = validate_project(config, reporter=Reporter())
    # Checks against the lookup are not run; the ones on the codes themselves are.
    assert [r[0] for r in rows(report, "practices")] == [
        "deaths with no GP practice (on the death or any register entry)",
        "deaths whose practice code is not an ODS practice code (a letter and 5 digits)",
        "register entries whose practice code is not an ODS practice code"]
    assert any(w.startswith("no practices file loaded") for w in report.warnings)


def test_no_practice_data_no_practice_table(tmp_path):
    config = project(tmp_path)
    load(config, tmp_path, "areas", ["lsoa_code,place,imd_decile", "E01000001,P1,1"])
    load(config, tmp_path, "deaths", [
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death",
        "A,05/01/2023,85,F,E01000001,C34.9,Hospital"])
    report = validate_project(config, reporter=Reporter())
    with pytest.raises(KeyError):
        report.table("practices")
    assert not any("practice" in w for w in report.warnings)
