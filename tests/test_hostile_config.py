"""Red team: eolneeds.toml that is valid TOML but wrong: each is refused with exit 2 and
one line naming the key, never a traceback (exit 1) or a number that is not a number in
the packs ('nan' as a cost per bed day)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from eolneeds.config import load_config
from eolneeds.errors import ConfigError

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
BASE = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'

CASES = {
    "key file a number": ('[privacy]\nkey_file = 5\n',
                          "[privacy]: key 'key_file' must be text, not 5"),
    "key file a list": ('[privacy]\nkey_file = ["a"]\n',
                        "[privacy]: key 'key_file' must be text, not ['a']"),
    "cost nan": ('[methods]\nunit_cost_per_bed_day = nan\n',
                 "[methods]: key 'unit_cost_per_bed_day' must be a number from 0 to 10000000 "
                 "(pounds per bed day), not nan"),
    "cost inf": ('[methods]\nunit_cost_per_bed_day = inf\n',
                 "[methods]: key 'unit_cost_per_bed_day' must be a number from 0 to 10000000 "
                 "(pounds per bed day), not inf"),
    "cost negative": ('[methods]\nunit_cost_per_bed_day = -450\n',
                      "[methods]: key 'unit_cost_per_bed_day' must be a number from 0 to "
                      "10000000 (pounds per bed day), not -450.0"),
}


@pytest.mark.parametrize("text, message", CASES.values(), ids=list(CASES))
def test_a_wrong_typed_setting_is_refused_naming_the_key(tmp_path, text, message):
    (tmp_path / "eolneeds.toml").write_text(BASE + text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path)
    assert str(refused.value) == f"{tmp_path / 'eolneeds.toml'} {message}"


def test_a_number_as_the_key_file_is_exit_2_not_an_internal_error(tmp_path: Path):
    (tmp_path / "eolneeds.toml").write_text(BASE + '[privacy]\nkey_file = 5\n',
                                            encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "EOLNEEDS_KEY"}
    done = subprocess.run([*CLI, "validate", "--project", str(tmp_path)], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: ") and "key 'key_file'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("encoding", ["rot13", "hex", "base64", "no-such-codec"])
def test_a_mapping_encoding_that_is_not_a_text_encoding_is_refused(tmp_path, encoding):
    (tmp_path / "eolneeds.toml").write_text(BASE, encoding="utf-8")
    (tmp_path / "mappings").mkdir()
    mapping = tmp_path / "mappings" / "deaths.toml"
    mapping.write_text(f'dataset = "deaths"\nencoding = "{encoding}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path)
    assert str(refused.value) == (
        f"{mapping}: key 'encoding' is {encoding!r}, not a text encoding — use utf-8, "
        "utf-8-sig, cp1252 or utf-16, or \"auto\" to detect it")


@pytest.mark.parametrize("nested", ["a = " + "[" * 600 + "1" + "]" * 600,
                                    "a = " + "{b = " * 600 + "1" + "}" * 600])
@pytest.mark.parametrize("where", ["eolneeds.toml", "mappings/deaths.toml"])
def test_arrays_or_tables_nested_hundreds_deep_are_refused_not_a_crash(tmp_path, nested,
                                                                        where):
    # tomllib parses nesting by recursion: 600 levels was a RecursionError, exit 1.
    (tmp_path / "mappings").mkdir()
    (tmp_path / "eolneeds.toml").write_text(BASE, encoding="utf-8")
    if where == "eolneeds.toml":  # a top-level key, before the first table
        (tmp_path / where).write_text(f"{nested}\n{BASE}", encoding="utf-8")
    else:
        (tmp_path / where).write_text(f'dataset = "deaths"\n{nested}\n', encoding="utf-8")
    env = {**os.environ, "EOLNEEDS_KEY": "test-key-not-secret"}
    done = subprocess.run([*CLI, "validate", "--project", str(tmp_path)], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"Error: {tmp_path / where}: nests arrays or tables hundreds of levels deep, more "
        "than any setting needs — fix the syntax (close each bracket where its value "
        "ends)\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(),
                    reason="named pipes and /dev/zero are POSIX")
@pytest.mark.parametrize("kind", ["pipe", "link to /dev/zero"])
def test_a_mapping_that_is_not_a_regular_file_is_refused_not_read_for_ever(tmp_path, kind):
    # Every command reads mappings/*.toml: a named pipe there made each one (the monthly
    # run included) wait for a writer for ever, a link to /dev/zero read until memory ran
    # out.
    (tmp_path / "eolneeds.toml").write_text(BASE, encoding="utf-8")
    (tmp_path / "mappings").mkdir()
    odd = tmp_path / "mappings" / "deaths.toml"
    if kind == "pipe":
        os.mkfifo(odd)
    else:
        odd.symlink_to("/dev/zero")
    env = {**os.environ, "EOLNEEDS_KEY": "test-key-not-secret"}
    done = subprocess.run([*CLI, "validate", "--project", str(tmp_path)], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"Error: {odd}: is not a regular file (a pipe, socket or device) — "
                           "move it out of the project, or replace it with the TOML file\n")


def test_a_configuration_file_larger_than_any_is_refused_unread(tmp_path, monkeypatch):
    import eolneeds.config as config_module

    monkeypatch.setattr(config_module, "MAX_TOML_BYTES", 1000)  # not 64 MB on disk
    text = BASE + "# " + "x" * 2000 + "\n"  # ASCII: one byte a character
    (tmp_path / "eolneeds.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path)
    assert str(refused.value) == (f"{tmp_path / 'eolneeds.toml'}: is {len(text):,} bytes, more "
                                  "than the 1,000 a configuration file may be — check that it is "
                                  "the right file")


MAPPING_CASES = {
    # `sheet = 2` (a number, as if an index) was exit 1: 'int' object is not iterable.
    "sheet a number": ('sheet = 2\n', "key 'sheet' must be the sheet's name as text, not 2 — "
                       "write it in quotes as its tab shows it, e.g. sheet = \"EPaCCS\" "
                       "(`eolneeds inspect FILE` lists the sheets)"),
    "sheet a float": ('sheet = 1.5\n', "key 'sheet' must be the sheet's name as text, not 1.5 "
                      "— write it in quotes as its tab shows it, e.g. sheet = \"EPaCCS\" "
                      "(`eolneeds inspect FILE` lists the sheets)"),
    # An unquoted TOML date in [defaults] was exit 1: a date is not JSON.
    "a TOML date for a code": ('[defaults]\nsex = 2024-01-01\n',
                               '[defaults] sex = "2024-01-01" is not a code of sex — use one '
                               "of male, female, unknown (or a code read as one: 1, 2, 9, 0, "
                               "M, F), or add the value under [recode.sex] with the code it "
                               "stands for"),
    # Round 6: a population workbook's year out of range quarantined every row with the
    # advice to check a [columns] mapping of year there was none of; `year = 0` was no
    # year ("add year = YYYY" to a mapping that had it).
    "a year far out": ('year = 99999\n', "key 'year' is 99999: give the year the estimates "
                       "are for, between 1900 and 2100 (e.g. year = 2022)"),
    "a year of 0": ('year = 0\n', "key 'year' is 0: give the year the estimates are for, "
                    "between 1900 and 2100 (e.g. year = 2022)"),
}


@pytest.mark.parametrize("text, message", MAPPING_CASES.values(), ids=list(MAPPING_CASES))
def test_a_mapping_value_of_the_wrong_kind_is_exit_2_naming_the_key(tmp_path, text, message):
    (tmp_path / "eolneeds.toml").write_text(BASE, encoding="utf-8")
    (tmp_path / "mappings").mkdir()
    mapping = tmp_path / "mappings" / "deaths.toml"
    mapping.write_text(f'dataset = "deaths"\n{text}', encoding="utf-8")
    extract = tmp_path / "deaths.csv"
    extract.write_text("person_id,date_of_death,age,sex,lsoa_code,underlying_cause,"
                       "place_of_death\n9434765919,2024-01-15,80,F,E01000001,C34.9,home\n",
                       encoding="utf-8")
    env = {**os.environ, "EOLNEEDS_KEY": "test-key-not-secret"}
    done = subprocess.run([*CLI, "ingest", "deaths", str(extract), "--project", str(tmp_path)],
                          capture_output=True, text=True, encoding="utf-8", env=env,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == f"Error: {mapping}: {message}"


def test_a_toml_date_as_a_date_default_is_read_as_that_date(tmp_path, monkeypatch):
    from eolneeds.ingest import ingest_files
    from eolneeds.reporting import Reporter

    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    (tmp_path / "eolneeds.toml").write_text(BASE, encoding="utf-8")
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "deaths.toml").write_text(
        'dataset = "deaths"\n[defaults]\ndate_of_registration = 2024-02-01\n', encoding="utf-8")
    extract = tmp_path / "deaths.csv"
    extract.write_text("person_id,date_of_death,age,sex,lsoa_code,underlying_cause,"
                       "place_of_death\n9434765919,2024-01-15,80,F,E01000001,C34.9,home\n",
                       encoding="utf-8")
    config = load_config(tmp_path)
    [result] = ingest_files(config, "deaths", [extract], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (1, 1)
    import duckdb

    with duckdb.connect(str(config.database_path), read_only=True) as con:
        assert con.execute("SELECT CAST(date_of_registration AS VARCHAR) FROM deaths"
                           ).fetchone() == ("2024-02-01",)


@pytest.mark.parametrize("code", ["ICB", "icb", "ICB."])
def test_a_place_coded_icb_is_refused_its_pack_would_be_the_icbs(tmp_path, code):
    (tmp_path / "eolneeds.toml").write_text(BASE.replace('code = "P1"', f'code = "{code}"'),
                                            encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path)
    assert str(refused.value) == (
        f"{tmp_path / 'eolneeds.toml'} [[places]]: Place code {code!r} would name its pack "
        "pack-icb.xlsx, the ICB's own pack, and one would be written over the other — give "
        "the Place another code (e.g. its local authority code)")
