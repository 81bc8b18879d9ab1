"""Red team: an NHS number written in another script's digits. Python and DuckDB read
Arabic-Indic '٩٤٣٤٧٦٥٩١٩' as easily as '9434765919', but the masks knew only ASCII and
full-width digits: such a number in a free-text column (a practice code, a place of
death, a cause) was kept in clear in the table and in field_actions, and a person_id in
them was kept in clear in rejects and field_actions under the reason 'the value is
withheld because it identifies a person'. Now every decimal digit Unicode knows is
masked as a digit, and an identifier's shape hides letters of any script too. An NHS
number in them is read as its ASCII digits (round 5), so it is checked and links. Real
files, a real DuckDB database."""

from __future__ import annotations

import re
import sys
import unicodedata

import duckdb
import pytest
from identifier_leaks import leaks

from eolneeds import normalise
from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.normalise import MASK, mask, mask_nhs_numbers, shape
from eolneeds.reporting import Reporter

CONFIG = ('[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
          '\n[ingest]\nmax_rejected_share = 1.0\n')
# Zero of each script: ASCII, Arabic-Indic, Extended Arabic-Indic (Persian), Devanagari,
# Bengali, full-width, mathematical bold.
ZEROS = {"arabic": 0x660, "persian": 0x6F0, "devanagari": 0x966, "bengali": 0x9E6,
         "fullwidth": 0xFF10, "math": 0x1D7CE}
NUMBERS = ["9434765919", "4010232137", "4505577104", "4902316927", "4055677006"]


def written(number: str, script: str) -> str:
    return "".join(chr(ZEROS[script] + int(d)) for d in number)


def test_masks_read_the_digits_of_any_script():
    # 9434765919 has a correct check digit (test_hostile_identifiers works it out);
    # 9434765918 does not, so in a name (where dates must survive) it is kept.
    for script in ZEROS:
        number = written("9434765919", script)
        assert mask(f"GP {number}") == f"GP {MASK}", script
        assert mask_nhs_numbers(f"deaths_{number}.csv") == f"deaths_{MASK}.csv", script
        assert mask_nhs_numbers(written("9434765918", script)) == written("9434765918",
                                                                          script)
        assert shape(number) == "#" * 10, script
    assert mask("deaths_2024-10.csv") == "deaths_2024-10.csv"
    assert shape("Ж1-ab") == "A#-AA"


@pytest.mark.parametrize("script", list(ZEROS))
def test_an_nhs_number_in_another_script_is_kept_nowhere(tmp_path, monkeypatch, script):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    (root / "mappings").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    for dataset in ("deaths", "register"):
        (root / "mappings" / f"{dataset}.toml").write_text(
            f'dataset = "{dataset}"\nnhs_number = true\n', encoding="utf-8")
    planted = {written(n, script) for n in NUMBERS}
    one, two, three, four, five = (written(n, script) for n in NUMBERS)
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death,"
        "gp_practice\n"
        f"{one},2024-01-15,80,F,E01000001,C34.9,home,{two}\n"
        f"4010232145,2024-02-15,81,M,{three},{four},{five},A12345\n", encoding="utf-8")
    register = tmp_path / "register.csv"
    register.write_text("person_id,date_added,gp_practice\n"
                        f"{one},2023-01-01,{two}\n4010232137,2023-02-01,{three}\n",
                        encoding="utf-8")
    config = load_config(root)
    [died] = ingest_files(config, "deaths", [deaths], reporter=Reporter())
    [added] = ingest_files(config, "register", [register], reporter=Reporter())
    # Every row counts or is quarantined.
    assert (died.rows_read, died.rows_loaded, died.rows_rejected) == (2, 2, 0)
    assert (added.rows_read, added.rows_loaded + added.rows_rejected) == (2, 2)
    with duckdb.connect(str(config.database_path), read_only=True) as con:
        withheld = con.execute("SELECT count(*) FROM field_actions WHERE value = $m "
                               "OR value = '##########'", {"m": MASK}).fetchone()[0]
        linked = con.execute("SELECT count(*) FROM deaths JOIN register USING (person_id)"
                             ).fetchone()[0]
        unlinked = con.execute("SELECT count(*) FROM field_actions WHERE column_name = "
                               "'person_id'").fetchone()[0]
    assert withheld >= 3  # the three coded fields, masked
    # Round 5: the NHS number in that script is the same number, read as ASCII: valid,
    # so the death links to its register entry (it was masked but never linked).
    assert (linked, unlinked) == (1, 0)
    assert leaks(root, planted) == []


@pytest.mark.parametrize("script", ["arabic", "fullwidth"])
def test_ages_and_dates_in_another_script_are_read_as_their_digits(tmp_path, monkeypatch,
                                                                   script):
    """Round 5: '٨١' was 'not a whole number' and '٢٠٢٤-٠١-١٥' 'not a date' (the death
    quarantined), though both read as plainly as in ASCII, as an NHS number now does."""
    from datetime import date

    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death\n"
        f"P1,{written('2024', script)}-01-{written('15', script)},{written('81', script)},F,"
        "E01000001,C34.9,home\n", encoding="utf-8")
    config = load_config(root)
    [died] = ingest_files(config, "deaths", [deaths], reporter=Reporter())
    assert (died.rows_read, died.rows_loaded) == (1, 1)
    with duckdb.connect(str(config.database_path), read_only=True) as con:
        assert con.execute("SELECT date_of_death, age FROM deaths").fetchall() == [
            (date(2024, 1, 15), 81)]
        assert con.execute("SELECT count(*) FROM field_actions").fetchone() == (0,)


def test_the_table_of_digit_scripts_is_every_script_unicode_knows():
    # The masks' digit class comes from a table of Unicode 14.0's digit zeros (scanning
    # every code point cost each ingest process 0.1-0.3 CPU s at import). Worked out here
    # from the running Python's Unicode database, every code point looked at: the table
    # must hold exactly the zeros of category Nd, and every digit Nd has is in the class.
    scanned = tuple(cp for cp in range(sys.maxunicode + 1)
                    if unicodedata.category(chr(cp)) == "Nd"
                    and unicodedata.decimal(chr(cp)) == 0)
    assert normalise._digit_zeros() == scanned
    if unicodedata.unidata_version == "14.0.0":
        assert normalise._DIGIT_ZEROS_UNICODE_14 == scanned
    digits = [chr(cp) for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Nd"]
    assert all(re.fullmatch(normalise._D, d) for d in digits)
    # nhs_digits reads each non-ASCII digit as the ASCII digit it stands for.
    native = [d for d in digits if ord(d) >= 128]
    assert normalise._NATIVE_DIGITS == "".join(native)
    assert normalise._ASCII_FOR_NATIVE == "".join(str(unicodedata.decimal(d)) for d in native)
    assert not re.fullmatch(normalise._D, "a") and not re.fullmatch(normalise._D, "\u00bd")


# The marks of a number as each script writes it: (decimal point, thousands separator).
MARKS = {"arabic": ("\u066b", "\u066c"), "fullwidth": ("\uff0e", "\uff0c"),
         "devanagari": (".", ",")}


@pytest.mark.parametrize("script", list(MARKS))
def test_costs_and_populations_in_another_script_are_read_as_their_digits(tmp_path,
                                                                          monkeypatch,
                                                                          script):
    """Round 5: a cost of '١٬٢٣٤٫٥٠' or a population of '٣٤٥' was 'not a number' (the
    cost blanked, the population row quarantined), though an age or a date in the same
    digits was read. The digits are read as ASCII, and the script's decimal point and
    thousands separator as '.' and ','."""
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    point, thousands = MARKS[script]
    activity = tmp_path / "activity.csv"
    activity.write_text(
        "person_id,activity_type,start_date,cost\n"
        f"P1,emergency_admission,2024-01-01,\"{written('1', script)}{thousands}"
        f"{written('234', script)}{point}{written('50', script)}\"\n"
        f"P2,emergency_admission,2024-01-02,£{written('345', script)}\n"
        f"P3,emergency_admission,2024-01-03,-{written('5', script)}\n", encoding="utf-8")
    population = tmp_path / "population.csv"
    population.write_text("lsoa_code,year,sex,age_band,population\n"
                          f"E01000001,2024,female,85-89,{written('345', script)}\n",
                          encoding="utf-8")
    config = load_config(root)
    [spells] = ingest_files(config, "activity", [activity], reporter=Reporter())
    [people] = ingest_files(config, "population", [population], reporter=Reporter())
    assert (spells.rows_loaded, people.rows_loaded) == (3, 1)
    with duckdb.connect(str(config.database_path), read_only=True) as con:
        assert con.execute("SELECT cost FROM activity ORDER BY source_row").fetchall() == [
            (1234.5,), (345.0,), (None,)]
        assert con.execute("SELECT population FROM population").fetchall() == [(345,)]
        # Only the negative cost is blanked, and it says so in its own digits.
        assert con.execute("SELECT row_number, reason FROM field_actions").fetchall() == [
            (4, f"cost '-{written('5', script)}' is negative")]
