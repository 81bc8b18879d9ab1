"""eolneeds.toml and mappings as Windows editors save them, and the misspelt key: found
by trying real-shaped projects (issue 10, red team). The bad-input corpus covers the
files the project reads; these cover the project's own configuration."""

from __future__ import annotations

import pytest

from eolneeds.config import load_config
from eolneeds.errors import ConfigError

CONFIG = ('[project]\nicb_name = "Test ICB"\nlsoa_vintage = "2021"\n\n[[places]]\n'
          'code = "P1"\nname = "Place One"\n')
MAPPING = 'dataset = "deaths"\npreset = "pcmd_deaths"\n\n[columns]\nperson_id = "NHS No"\n'


def _windows(text: str) -> bytes:
    """As Notepad (before 2019) saves UTF-8: a byte order mark, CR LF, tab indents."""
    return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").replace("\ncode", "\n\tcode") \
        .encode("utf-8")


def test_a_byte_order_mark_crlf_and_tabs_are_read(tmp_path):
    # A BOM was "not valid TOML (Invalid statement (at line 1, column 1))".
    (tmp_path / "eolneeds.toml").write_bytes(_windows(CONFIG))
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "deaths.toml").write_bytes(_windows(MAPPING))
    config = load_config(tmp_path)
    assert config.icb_name == "Test ICB"
    assert [(p.code, p.name) for p in config.places] == [("P1", "Place One")]
    mapping = config.mappings["deaths"]
    assert (mapping.preset, mapping.columns) == ("pcmd_deaths", {"person_id": "NHS No"})


@pytest.mark.parametrize(("config", "mapping", "expected"), [
    (CONFIG.replace("lsoa_vintage", "lsoa_vintag"), None,
     "eolneeds.toml [project]: unknown key 'lsoa_vintag' — did you mean 'lsoa_vintage'? "
     "allowed keys are contact, icb_code, icb_name, lsoa_vintage, next_update; check the "
     "spelling"),
    (CONFIG, MAPPING.replace("[columns]", "[column]"),
     "mappings/deaths.toml: unknown key 'column' — did you mean 'columns'? allowed keys "
     "are columns, dataset, date_format, decimal, defaults, delimiter, description, "
     "encoding, format, header_row, nhs_number, preset, recode, sheet, year; check the "
     "spelling"),
    # Nothing close: no guess, only the list.
    (CONFIG.replace("lsoa_vintage", "colour"), None,
     "eolneeds.toml [project]: unknown key 'colour' — allowed keys are contact, icb_code, "
     "icb_name, lsoa_vintage, next_update; check the spelling"),
])
def test_a_misspelt_key_is_named_with_the_key_it_most_likely_is(tmp_path, config, mapping,
                                                                 expected):
    (tmp_path / "eolneeds.toml").write_text(config, encoding="utf-8")
    if mapping:
        (tmp_path / "mappings").mkdir()
        (tmp_path / "mappings" / "deaths.toml").write_text(mapping, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == f"{tmp_path}/{expected}"
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(("codes", "expected"), [
    (("ASH", "ash"), "Place codes 'ASH' and 'ash' differ only in case or punctuation, so "
                     "both packs would be pack-ash.xlsx — make the codes differ in their "
                     "letters or digits"),
    (("E06-1", "E06_1"), "Place codes 'E06-1' and 'E06_1' differ only in case or "
                         "punctuation, so both packs would be pack-e06-1.xlsx — make the "
                         "codes differ in their letters or digits"),
    (("P1", " "), "a Place code is empty — give each Place its code (e.g. its local "
                  "authority code)"),
])
def test_place_codes_that_would_share_a_pack_file_are_refused(tmp_path, codes, expected):
    # Found by the red team: the second Place's pack silently replaced the first's.
    places = "".join(f'[[places]]\ncode = "{c}"\nname = "Place {i}"\n\n'
                     for i, c in enumerate(codes))
    (tmp_path / "eolneeds.toml").write_text('[project]\nicb_name = "Test ICB"\n\n' + places,
                                            encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == f"{tmp_path}/eolneeds.toml [[places]]: {expected}"


@pytest.mark.parametrize(("mapping", "expected"), [
    ('dataset = "death"\n', "key 'dataset' is 'death' — did you mean 'deaths'? use one of "
     "deaths, register, activity, population, areas, projections, lsoa_places, deprivation, "
     "practices, benchmarks"),
    ('dataset = "deaths"\n[columns]\nperson_idd = "NHS No"\n',
     "[columns] key 'person_idd' is not a column of deaths — did you mean 'person_id'? use "
     "one of age, contributory_causes, date_of_birth, date_of_death, date_of_registration, "
     "ethnicity, gp_practice, lsoa_code, person_id, place_of_death, sex, underlying_cause"),
    ('dataset = "deaths"\nheader_row = "3"\n',
     "key 'header_row' must be a whole number, not '3'"),
])
def test_a_mapping_mistake_names_what_was_most_likely_meant(tmp_path, mapping, expected):
    (tmp_path / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "deaths.toml").write_text(mapping, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == f"{tmp_path}/mappings/deaths.toml: {expected}"


def test_a_mapping_named_as_its_file_is_that_mapping(tmp_path, monkeypatch):
    """`--mapping mappings/pcmd_deaths.toml` (what a user types after listing the folder)
    reads the mapping of that name, from the project folder or from anywhere; a file of
    the same name elsewhere is not taken for it, and the advice names the file to add
    once (it said 'pcmd_deaths.toml.toml')."""
    from eolneeds.errors import UsageError

    (tmp_path / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "pcmd_deaths.toml").write_text(
        'dataset = "deaths"\npreset = "pcmd_deaths"\n', encoding="utf-8")
    config = load_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    for given in ("mappings/pcmd_deaths.toml", "pcmd_deaths.toml",
                  str(tmp_path / "mappings" / "pcmd_deaths.toml")):
        assert config.mapping_for("deaths", given).name == "pcmd_deaths", given
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    (elsewhere / "pcmd_deaths.toml").write_text('dataset = "deaths"\n', encoding="utf-8")
    with pytest.raises(UsageError) as refused:
        config.mapping_for("deaths", str(elsewhere / "pcmd_deaths.toml"))
    assert ".toml.toml" not in str(refused.value)
    assert str(tmp_path / "mappings" / "pcmd_deaths.toml") in str(refused.value)
