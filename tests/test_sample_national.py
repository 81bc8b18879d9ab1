"""`eolneeds sample --layout national`: the files are in the national layouts as
published and exported, noise included, and truth.json is consistent with them."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from eolneeds.errors import UsageError
from eolneeds.normalise import is_valid_nhs_number
from eolneeds.reporting import Reporter
from eolneeds.sample import ICB_CODE, PLACES
from eolneeds.sample_national import TRUTH_FILE, national_files, write_national_sample

DEATHS = 600


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("national") / "project"
    key = root.parent / "test.key"
    key.write_text("00" * 32 + "\n", encoding="utf-8")
    write_national_sample(root, deaths=DEATHS, seed=7, reporter=Reporter(), key_file=key)
    return root


def _csv_rows(path: Path, encoding: str, delimiter: str = ",") -> list[dict[str, str]]:
    text = path.read_bytes().decode(encoding)
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_every_listed_file_and_mapping_is_written(national: Path) -> None:
    for f in national_files("2025"):
        assert (national / "inbox" / f.path).is_file(), f.path
        if f.mapping:
            assert (national / "mappings" / f"{f.mapping}.toml").is_file()
            assert Path(f.path).name.startswith(f.mapping)  # so `run` picks the mapping
    # Mappings of a few lines each, and only the register's names its columns.
    for mapping in (national / "mappings").glob("*.toml"):
        settings = [line for line in mapping.read_text(encoding="utf-8").splitlines()
                    if line.strip() and not line.startswith("#")]
        assert len(settings) <= (16 if mapping.stem == "register_epaccs" else 4), mapping


def test_deaths_are_cp1252_with_crlf_and_two_header_variants(national: Path) -> None:
    ons, first, second = sorted((national / "inbox" / "deaths").iterdir())
    for path in (first, second):
        raw = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")  # cp1252 bytes (an en dash, a curly apostrophe, é)
        assert raw.count(b"\r\n") == raw.count(b"\n")
    rows1 = _csv_rows(first, "cp1252")
    rows2 = _csv_rows(second, "cp1252")
    assert "DEC_NHS_NUMBER" in rows1[0] and "LSOA_OF_RESIDENCE_CODE" in rows1[0]
    assert "NHS_NUMBER" in rows2[0] and "LSOA21CD" in rows2[0]
    assert all(len(r["REG_DATE_OF_DEATH"]) == 8 for r in rows1)  # yyyymmdd
    assert all(r["REG_DATE_OF_DEATH"][2] == "/" for r in rows2)  # dd/mm/yyyy
    # The last months from ONS: tab-delimited UTF-8 with LF, the ONS names.
    assert ons.name.startswith("ons_deaths")
    assert b"\r" not in ons.read_bytes()
    rows3 = list(csv.DictReader(io.StringIO(ons.read_text(encoding="utf-8")),
                                delimiter="\t"))
    assert rows3 and {"NHSNO", "DOD", "AGEC", "AGECUNIT", "LSOAR", "FIC10UND", "CESTRSS",
                      "NHSIND", "ESTTYPED"} <= set(rows3[0])
    assert min(r["DOD"] for r in rows3) >= "20260401" > max(
        r["REG_DATE_OF_DEATH"][6:] + r["REG_DATE_OF_DEATH"][3:5] + r["REG_DATE_OF_DEATH"][:2]
        for r in rows2)
    numbers = ([r["DEC_NHS_NUMBER"] for r in rows1] + [r["NHS_NUMBER"] for r in rows2]
               + [r["NHSNO"] for r in rows3])
    ages = [r["DEC_AGEC"] for r in rows1 + rows2] + [r["AGEC"] for r in rows3]
    truth = json.loads((national / TRUTH_FILE).read_text(encoding="utf-8"))
    assert sum(not is_valid_nhs_number(n) for n in numbers) == \
        truth["noise"]["deaths_failing_nhs_check"] >= 3
    assert ages.count("999") == truth["noise"]["deaths_age_999"] >= 3
    lsoas = [r["LSOA_OF_RESIDENCE_CODE"] for r in rows1] + [r["LSOA21CD"] for r in rows2]
    assert sum(code.startswith("E018") for code in lsoas) == 2  # the neighbours' residents


def test_spells_are_pipe_with_bom_and_quoted_costs(national: Path) -> None:
    path = national / "inbox" / "activity" / "hes_apc_spells.txt"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].split(b"\r\n", 1)[0].decode()
    assert header.split("|")[:2] == ["SPELL_ID", "NHS_NUMBER"]
    assert "TREATMENT_FUNCTION_CODE" in header and "SPELL_COST" in header
    assert b'"1,' in raw or b'"2,' in raw  # thousands separated, quoted
    rows = _csv_rows(path, "utf-8-sig", "|")
    blank = [r for r in rows if not r["DISDATE"]]
    assert blank and all(r["DISMETH"] == "4" for r in blank)  # died in hospital
    truth = json.loads((national / TRUTH_FILE).read_text(encoding="utf-8"))
    assert len(blank) == truth["noise"]["spells_blank_discharge_in_hospital_death"]


def test_register_workbook_has_titles_text_dates_and_a_total_row(national: Path) -> None:
    book = load_workbook(national / "inbox" / "register" / "register_epaccs.xlsx")
    assert book.sheetnames == ["About", "Register"]
    sheet = book["Register"]
    assert sheet["A1"].value and sheet["A4"].value is None
    assert [c.value for c in sheet[5]][:2] == ["NHS Number", "Date Added"]
    dates = [row[1] for row in sheet.iter_rows(min_row=6, values_only=True)]
    assert any(isinstance(d, date) for d in dates)
    assert any(isinstance(d, str) and d.count("/") == 2 for d in dates)
    last = [c.value for c in sheet[sheet.max_row]]
    assert last[0] == "Total"


def test_ons_population_in_both_layouts_bands_to_the_same_totals(national: Path) -> None:
    folder = national / "inbox" / "population"
    old = load_workbook(folder / "ons_population_mid-2023.xlsx", read_only=True)
    assert old.sheetnames[-3:] == ["Mid-2023 Persons", "Mid-2023 Males", "Mid-2023 Females"]
    males = list(old["Mid-2023 Males"].iter_rows(values_only=True))
    assert males[4][:7] == ("LSOA Code", "LSOA Name", "LA Code (2018 boundaries)",
                            "LA name (2018 boundaries)", "LA Code (2021 boundaries)",
                            "LA name (2021 boundaries)", "All Ages")
    assert males[4][7] == 0 and males[4][-1] == "90+" and len(males[4]) == 7 + 91
    assert all(row[6] == sum(row[7:]) for row in males[5:])
    new = load_workbook(folder / "ons_population_mid-2025.xlsx", read_only=True)
    assert new.sheetnames == ["Cover", "Contents", "Notes", "Mid-2025 LSOA 2021"]
    rows = list(new["Mid-2025 LSOA 2021"].iter_rows(values_only=True))
    header = rows[3]
    assert header[:5] == ("LAD 2021 Code", "LAD 2021 Name", "LSOA 2021 Code",
                          "LSOA 2021 Name", "Total")
    assert header[5] == "F0" and header[95] == "F90" and header[96] == "M0"
    assert header[-1] == "M90"
    assert all(row[4] == sum(row[5:]) for row in rows[4:])
    codes = {row[2] for row in rows[4:]}
    assert any(c.startswith("E018") for c in codes)  # all-England: neighbours too


def test_iod_file1_either_vintage(tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    key.write_text("00" * 32 + "\n", encoding="utf-8")
    write_national_sample(tmp_path / "p", deaths=50, seed=1, reporter=Reporter(),
                          iod="2019", key_file=key)
    book = load_workbook(tmp_path / "p" / "inbox" / "deprivation" / "iod_file1_IoD2019.xlsx")
    assert book.sheetnames == ["Notes", "IMD2019"]
    header = [c.value for c in book["IMD2019"][1]]
    assert header[0] == "LSOA code (2011)" and header[2].endswith("(2019)")
    rows = list(book["IMD2019"].iter_rows(min_row=2, values_only=True))
    # Rank and decile agree: decile d holds ranks (d-1)N/10+1 .. dN/10 of 32,844 LSOAs.
    assert all((r[4] - 1) * 10 // 32_844 + 1 == r[5] for r in rows)
    assert 'lsoa_vintage = "2011"' in (tmp_path / "p" / "eolneeds.toml").read_text("utf-8")
    assert (tmp_path / "p" / "inbox" / "lsoa_places" / "lsoa_place_lookup_lsoa2011.csv").read_text(
        "utf-8").startswith("LSOA11CD,")
    with pytest.raises(UsageError):
        write_national_sample(tmp_path / "q", deaths=50, seed=1, reporter=Reporter(),
                              iod="2015", key_file=key)


def test_truth_adds_up(national: Path) -> None:
    truth = json.loads((national / TRUTH_FILE).read_text(encoding="utf-8"))
    rows = truth["rows"]
    codes = {p.code for p in PLACES}
    assert {r["area"] for r in rows} == codes | {ICB_CODE}
    periods = {r["period"] for r in rows}
    assert {"2023-24", "2024-25", "2025-26", "2026-27"} == periods
    measures = [m for m in truth["indicators"]]
    for period in periods:
        places = [r for r in rows if r["period"] == period and r["area"] != ICB_CODE]
        icb = next(r for r in rows if r["period"] == period and r["area"] == ICB_CODE)
        for m in measures:
            assert icb[m] == sum(r[m] for r in places), (period, m)
    for r in rows:
        assert r["deaths"] == sum(r[f"pod_{p}"] for p in
                                  ("home", "care_home", "hospital", "hospice", "other"))
        assert 0 <= r["ea_last90_3plus"] <= r["deaths"]
        assert 0 <= r["on_register"] <= r["deaths"]
    # The neighbours' two residents are outside the ICB: not in the truth.
    assert sum(r["deaths"] for r in rows if r["area"] == ICB_CODE) == DEATHS


def test_same_seed_same_files(tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    key.write_text("00" * 32 + "\n", encoding="utf-8")
    for name in ("a", "b"):
        write_national_sample(tmp_path / name, deaths=80, seed=3, reporter=Reporter(),
                              key_file=key)
    for f in national_files("2025"):
        if f.path.endswith(".xlsx"):
            continue  # workbooks carry a creation time
        assert (tmp_path / "a" / "inbox" / f.path).read_bytes() == \
            (tmp_path / "b" / "inbox" / f.path).read_bytes(), f.path
    assert (tmp_path / "a" / TRUTH_FILE).read_text("utf-8") == \
        (tmp_path / "b" / TRUTH_FILE).read_text("utf-8")


def test_hes_episode_extract_splits_some_spells_and_dates_only_the_last(national: Path) -> None:
    rows = _csv_rows(national / "inbox" / "activity" / "hes_episodes_dars.csv", "utf-8")
    assert list(rows[0])[:3] == ["NEWNHSNO", "PROCODE3", "ADMIDATE"]
    spells: list[list[dict[str, str]]] = []
    for r in rows:  # a spell's episodes are consecutive, numbered from 01
        if r["EPIORDER"] == "01":
            spells.append([])
        spells[-1].append(r)
    several = [eps for eps in spells if len(eps) > 1]
    truth = json.loads((national / TRUTH_FILE).read_text(encoding="utf-8"))
    assert len(several) == truth["noise"]["spells_in_several_episodes"] > 0
    for eps in several:
        assert [e["EPIORDER"] for e in eps] == [f"{i:02d}" for i in range(1, len(eps) + 1)]
        assert all(e["DISDATE"] == "1800-01-01" for e in eps[:-1])
        # The last episode has the discharge date, unless it is a death in hospital
        # exported with none (then no episode end either: the spell runs to the death).
        assert eps[-1]["DISDATE"] != "1800-01-01" or (eps[-1]["DISMETH"] == "4"
                                                       and eps[-1]["EPIEND"] == "")
        assert len({(e["NEWNHSNO"], e["ADMIDATE"], e["ADMIMETH"]) for e in eps}) == 1
    blank = [eps for eps in spells if eps[-1]["DISMETH"] == "4"
             and eps[-1]["DISDATE"] == "1800-01-01"]
    assert len(blank) == truth["noise"]["episode_spells_blank_discharge_in_hospital_death"] > 0
