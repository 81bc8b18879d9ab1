"""Real extracts as exported, round 6 (issue 9): variants that did not go in on the first
try, or lost a value, each with its known answer worked out by hand.

* A spell's treatment function with its description ('315 - Palliative Medicine', as
  reporting tools export it) or as a number ('315.0') was stored as written, so the
  specialist palliative care test (treatment function 315) missed it.
* ICD-10 dagger and asterisk marks written as NHS six-character diagnosis fields write
  them, a letter after the code (D dagger, A asterisk: 'A170D', 'G01XA'), blanked the
  cause of death.
* Sex as a two-character code field exports it ('01', '02') was set to unknown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eolneeds.ingest import ingest_files
from eolneeds.reporting import Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write

# Valid NHS numbers (modulus 11), e.g. 943 476 591 9: weights 10..2 sum to 299, 299 mod
# 11 = 2, check digit 11 - 2 = 9.
NHS = ["9434765919", "9434765927", "9434765935", "9434765943", "9434765951"]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def test_treatment_function_with_its_description_is_the_code(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p", {"hes": 'dataset = "activity"\npreset = "hes_apc"\n'})
    values = ["315 - Palliative Medicine", "315: Palliative medicine", "315.0", "315",
              "3150"]  # the last is no code with a description: kept as written
    path = write(tmp_path / "spells.csv", "NHS_NUMBER,ADMIDATE,DISDATE,ADMIMETH,TRETSPEF\n"
                 + "".join(f'{n},2024-01-0{i + 1},2024-01-0{i + 2},21,"{v}"\n'
                           for i, (n, v) in enumerate(zip(NHS, values, strict=True))))
    [res] = ingest_files(config, "activity", [path], mapping="hes", reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (5, 0)
    assert query(config, "SELECT treatment_function FROM activity ORDER BY start_date") == [
        ("315",), ("315",), ("315",), ("315",), ("3150",)]


def test_nhs_dagger_and_asterisk_letters_and_two_character_sex_codes(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p",
                          {"pcmd": 'dataset = "deaths"\npreset = "pcmd_deaths"\n'})
    rows = [  # cause, sex -> loaded cause, sex
        ("A170D", "01", "A170", "male"),
        ("G01XA", "02", "G01", "female"),
        ("F00.9*", "1", "F009", "male"),
        ("A17.0†", "09", "A170", "unknown"),
        ("C349B", "2", None, "female"),  # B marks nothing: no ICD-10 code (blanked)
    ]
    path = write(tmp_path / "deaths.csv",
                 "DEC_NHS_NUMBER,REG_DATE_OF_DEATH,DEC_AGEC,DEC_SEX,DEC_LSOA,"
                 "S_UNDERLYING_COD_ICD10,POD_CODE,POD_NHS_ESTABLISHMENT,POD_ESTABLISHMENT_TYPE\n"
                 + "".join(f"{n},2024010{i + 1},80,{sex},E01000001,{cause},H,,\n"
                           for i, (n, (cause, sex, _c, _s)) in enumerate(
                               zip(NHS, rows, strict=True))))
    [res] = ingest_files(config, "deaths", [path], mapping="pcmd", reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (5, 0)
    assert query(config, "SELECT underlying_cause, sex FROM deaths ORDER BY date_of_death") \
        == [(c, s) for _cause, _sex, c, s in rows]
    assert query(config, "SELECT row_number, column_name FROM field_actions") == [
        (6, "underlying_cause")]
