"""What a newcomer met onboarding real extracts with `inspect` and the messages
(newcomer findings 07 and 08): dates and times from SQL Server shown, not masked, while
every NHS number form still is; NULL not counted as filled; only the columns a file has
named; a date column proposed by its values; global options after the command; a
preset's name given as --mapping; the mapping templates' names."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eolneeds import normalise as nz
from eolneeds.cli import app, misplaced_global_option
from eolneeds.config import load_config
from eolneeds.errors import UsageError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import _mask_example, inspect_file, mapping_text
from eolneeds.project import MAPPING_TEMPLATES
from eolneeds.reporting import Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write

SSMS = ("NHS_Number,Episode_Number,Admission_Date,Episode_Start_Date,Discharge_Date,"
        "Admission_Method,Treatment_Function_Code\n"
        "9434765919,1,2024-12-15 00:00:00.000,2024-12-15 00:00:00.000,"
        "2024-12-21 00:00:00.000,21,300\n"
        "9434765005,1,2024-10-17 00:00:00.000,2024-10-17 00:00:00.000,NULL,21,315\n")


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


@pytest.mark.parametrize("value", [
    "2024-12-15 00:00:00.000", "2024-12-15", "2024-12-15T23:59:59", "15/12/2024 00:00",
    "1/2/2024", "2024-12-15 00:00:00.1234567"])
def test_dates_and_times_are_shown_as_they_are(value: str) -> None:
    assert _mask_example(value) == value
    assert nz.mask(value) == value  # ingest's stored values and reasons alike


@pytest.mark.parametrize("value", [
    "9434765919", "943 476 5919", "943-476-5919", "943.476.5919", "(943) 476 5919",
    "\uff19\uff14\uff13\uff14\uff17\uff16\uff15\uff19\uff11\uff19",  # full-width
    "9 4 3 4 7 6 5 9 1 9", "07700900123",
    # Shaped like a date, but no calendar date: masked as ever.
    "9434-76-59 19:00", "2024-13-45 00:00:00.000", "2024-12-15 0000000000"])
def test_nhs_numbers_stay_masked_beside_the_dates(value: str) -> None:
    shown = _mask_example(value)
    digits = re.sub(r"\D", "", nz._ascii_digits(value))
    assert digits not in re.sub(r"\D", "", nz._ascii_digits(shown)), shown


def test_an_ssms_export_shows_its_dates_and_proposes_their_format(tmp_path: Path) -> None:
    path = write(tmp_path / "sus_apc.csv", SSMS)
    found = inspect_file(path)
    text = found.render_text()
    assert "'2024-12-15 00:00:00.000'" in text and "withheld]:00" not in text
    assert "2 text dates %Y-%m-%d" in text
    assert "9434765919" not in text and "9434765005" not in text
    discharge = next(c for c in found.columns if c.name == "Discharge_Date")
    assert discharge.filled == 1  # NULL is no value, as ingest reads it
    # The preset reads only columns the file has (no SPELDUR, no FAE, no EPIEND).
    reads = next(line for line in text.splitlines() if line.strip().startswith("reads"))
    assert "SPELDUR" not in reads and "FAE" not in reads and "Episode_End" not in reads


def test_a_rejected_datetime_is_stored_readable(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p")
    path = write(tmp_path / "deaths.csv", "person_id,date_of_death,age,sex,lsoa_code,"
                 "underlying_cause,place_of_death\n"
                 "P1,2099-12-15 00:00:00.000,85,F,E01000001,C34.9,home\n"
                 "P2,2023-01-05,85,F,E01000001,C34.9,home\n")
    ingest_files(config, "deaths", [path], reporter=Reporter())
    [(value,)] = query(config, "SELECT value FROM rejects")
    assert value == "2099-12-15 00:00:00.000"


def test_a_date_column_no_name_matches_is_proposed_by_its_values(tmp_path: Path) -> None:
    path = write(tmp_path / "contacts.csv",
                 "NHS Number,Care Contact Date,Team Type Code\n"
                 "9434765919,01/04/2024,district nursing\n"
                 "9434765005,02/04/2024,specialist palliative care\n")
    text = mapping_text(inspect_file(path), dataset="activity")
    assert 'start_date = "Care Contact Date"  # guessed' in text
    assert 'date_format = "%d/%m/%Y"' in text
    root = tmp_path / "p"
    make_project(root, {"contacts": text})
    [res] = ingest_files(load_config(root), "activity", [path], mapping="contacts",
                         reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (2, 0)


def test_a_global_option_after_the_command_is_named_and_the_fix_works(tmp_path: Path
                                                                      ) -> None:
    root = tmp_path / "p"
    make_project(root)
    argv = ["ingest", "-q", "projections", "--project", str(root), "nothing.csv"]
    message = misplaced_global_option(argv)
    assert message is not None and message.startswith(
        "-q is an option of eolneeds itself, not of `ingest`")
    fixed = shlex.split(message.split(" — eolneeds ", 1)[1])
    assert fixed[:2] == ["-q", "ingest"]
    result = CliRunner().invoke(app, fixed)
    assert "No such option" not in result.output  # (the file is missing: exit 3)
    assert misplaced_global_option(["-q", "ingest", "deaths", "x.csv"]) is None
    assert misplaced_global_option(["--log-format", "json", "run", "--month", "2025-03"]
                                   ) is None
    assert "--log-format json run" in str(misplaced_global_option(
        ["run", "--log-format", "json"]))


def test_a_presets_name_as_mapping_says_what_to_write_and_it_works(tmp_path: Path) -> None:
    root = tmp_path / "p"
    config = make_project(root)
    path = write(tmp_path / "LSOA21_PLACES.csv", "LSOA21CD,Place\nE01000001,PLACE1\n")
    with pytest.raises(UsageError) as err:
        ingest_files(config, "lsoa_places", [path], mapping="lsoa_place_lookup",
                     reporter=Reporter())
    message = str(err.value)
    target = root / "mappings" / "lsoa_place_lookup.toml"
    assert (f'lsoa_place_lookup is a preset: add {target} holding two lines, dataset = '
            '"lsoa_places" and preset = "lsoa_place_lookup"') in message
    target.parent.mkdir(exist_ok=True)
    target.write_text('dataset = "lsoa_places"\npreset = "lsoa_place_lookup"\n',
                      encoding="utf-8")
    [res] = ingest_files(load_config(root), "lsoa_places", [path],
                         mapping="lsoa_place_lookup", reporter=Reporter())
    assert res.rows_loaded == 1


def test_the_national_templates_name_the_mapping_they_become() -> None:
    assert "Rename this file to mappings/hes_apc.toml" in MAPPING_TEMPLATES["hes_apc"]
    assert "Rename this file to mappings/ecds_ae.toml" in MAPPING_TEMPLATES["ecds_ae"]
    assert "Rename this file to mappings/deaths.toml" in MAPPING_TEMPLATES["deaths"]


def test_pod_codes_no_rule_places_are_recorded_and_the_advice_works(tmp_path: Path) -> None:
    """NHS establishment type 77 fits no PHE 2019 rule: the death's place is unknown, and
    that is recorded in field_actions like any code ingest cannot place (newcomer 08b);
    the recode the reason advises, followed literally, places it."""
    from tests.test_presets import PCMD

    rows = ("9434765919,20230105,20230110,85,2,E01000001,C349,I251,X123,1,77\n"
            "9434765005,20230105,20230110,85,2,E01000001,C349,I251,X123,1,01\n")
    path = write(tmp_path / "d.csv", ",".join(PCMD) + "\n" + rows)
    preset = 'dataset = "deaths"\npreset = "pcmd_deaths"\n'
    config = make_project(tmp_path / "p", {"pcmd_deaths": preset})
    ingest_files(config, "deaths", [path], reporter=Reporter())
    assert query(config, "SELECT place_of_death FROM deaths ORDER BY source_row") == [
        ("unknown",), ("hospital",)]
    [(row, value, action, reason)] = query(
        config, "SELECT row_number, value, action, reason FROM field_actions")
    assert (row, action) == (2, "set to unknown")
    assert value == "no PHE rule for NHS establishment 1, type 77"
    assert "add a [recode.place_of_death] entry to the mapping" in reason
    fixed = make_project(tmp_path / "q", {"pcmd_deaths": preset + (
        f'[recode.place_of_death]\n"{value}" = "hospital"\n')})
    ingest_files(fixed, "deaths", [path], reporter=Reporter())
    assert query(fixed, "SELECT place_of_death FROM deaths ORDER BY source_row") == [
        ("hospital",), ("hospital",)]
    assert query(fixed, "SELECT count(*) FROM field_actions") == [(0,)]
