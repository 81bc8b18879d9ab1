"""The synthetic generator (eolneeds.sample) and the bundled sample project.

The mix tests read the generated CSVs directly with polars and classify them with
independent code (the REFERENCE.md place-of-death rules via presets.place_of_death, the
need list from the shipped reference table), so they check the files, not the
generator's own labels.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from eolneeds.config import load_config
from eolneeds.db import connect
from eolneeds.errors import UsageError
from eolneeds.normalise import is_valid_nhs_number, normalise_icd10
from eolneeds.presets import place_of_death
from eolneeds.reporting import RecordingReporter, Reporter
from eolneeds.resources import reference_file, sample_data_dir
from eolneeds.sample import (
    BLOCK,
    PLACES,
    bundled_project,
    nhs_numbers,
    sample_files,
    write_sample,
    write_sample_files,
)

MIX_DEATHS = 20_000


def _read(path: Path) -> pl.DataFrame:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return pl.read_csv(data, infer_schema_length=0)


def _inbox_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted((root / "inbox").rglob("*")) if p.is_file()}


def _need_ranges() -> list[tuple[str, str]]:
    text = reference_file("pc_need_codes.csv").read_text(encoding="utf-8")
    return [(r["code_from"], r["code_to"]) for r in csv.DictReader(io.StringIO(text))
            if r["pc_need"] == "true"]


def _on_need_list(code: str | None, ranges: list[tuple[str, str]]) -> bool:
    # A code is in a range when its first len(bound) characters fall between the bounds:
    # 'C349' is in C00-C97, 'G122' matches G122 but 'G12' alone does not.
    if code is None:
        return False
    return any(lo <= code[: len(lo)] <= hi for lo, hi in ranges if len(code) >= len(lo))


@pytest.fixture(scope="module")
def mix(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """20,000 deaths joined to areas, first register entry and emergency admissions."""
    root = tmp_path_factory.mktemp("mix")
    write_sample_files(root, deaths=MIX_DEATHS, seed=11, reporter=Reporter())
    inbox = root / "inbox"
    deaths = _read(inbox / "deaths" / "deaths_pcmd.csv")
    areas = _read(inbox / "areas" / "areas_lsoa2021.csv")
    ranges = _need_ranges()
    deaths = deaths.with_columns(
        pod=pl.Series([place_of_death(a, b, c) for a, b, c in zip(
            deaths["POD_CODE"], deaths["POD_NHS_ESTABLISHMENT"],
            deaths["POD_ESTABLISHMENT_TYPE"], strict=True)]),
        need=pl.Series([_on_need_list(normalise_icd10(c).value, ranges)  # type: ignore[arg-type]
                        for c in deaths["S_UNDERLYING_COD_ICD10"]]),
        dod=pl.col("REG_DATE_OF_DEATH").str.strptime(pl.Date, "%Y%m%d"),
        age=pl.col("DEC_AGEC").cast(pl.Int64),
    ).join(areas.select("lsoa_code", pl.col("imd_decile").cast(pl.Int64)),
           left_on="DEC_LSOA", right_on="lsoa_code")
    register = _read(inbox / "register" / "register_epaccs.csv").select(
        DEC_NHS_NUMBER=pl.col("NHS Number").str.replace_all(" ", ""),
        added=pl.col("Date Added").str.strptime(pl.Date, "%d/%m/%Y"),
    ).group_by("DEC_NHS_NUMBER").agg(pl.col("added").min())
    hes = _read(inbox / "activity" / "hes_apc_spells.csv")
    emergency = hes.filter(pl.col("ADMIMETH").str.starts_with("2")).select(
        DEC_NHS_NUMBER="PERSON_ID", admitted=pl.col("ADMIDATE").str.to_date())
    last90 = (emergency.join(deaths.select("DEC_NHS_NUMBER", "dod"), on="DEC_NHS_NUMBER")
              .filter(((pl.col("dod") - pl.col("admitted")).dt.total_days()).is_between(0, 89))
              .group_by("DEC_NHS_NUMBER").agg(ea90=pl.len()))
    return (deaths.join(register, on="DEC_NHS_NUMBER", how="left")
            .join(last90, on="DEC_NHS_NUMBER", how="left")
            .with_columns(
                quintile=(pl.col("imd_decile") + 1) // 2,
                on_register=(pl.col("added") <= pl.col("dod")).fill_null(False),
                ea90=pl.col("ea90").fill_null(0)))


# ---------------------------------------------------------------------------------------
# NHS numbers


def test_nhs_numbers_pass_modulus_11_are_distinct_and_start_in_the_test_range():
    numbers = nhs_numbers(1_200_000)  # more than the 999 range holds: spills into 998
    assert len(set(numbers.tolist())) == len(numbers)
    sample = [str(n) for n in numbers[::997]]
    assert all(is_valid_nhs_number(n) for n in sample)
    assert str(numbers[0]).startswith("999") and str(numbers[-1]).startswith("998")
    # Known answer: the first candidate is 999 012 345 (the scramble maps 0 to 12,345).
    # 9*10 + 9*9 + 9*8 + 0*7 + 1*6 + 2*5 + 3*4 + 4*3 + 5*2 = 293; 293 mod 11 = 7;
    # check digit 11 - 7 = 4.
    assert str(numbers[0]) == "9990123454"


def test_generated_identifiers_are_valid_in_every_file(tmp_path: Path):
    write_sample_files(tmp_path, deaths=300, seed=3, reporter=Reporter())
    inbox = tmp_path / "inbox"
    ids = (_read(inbox / "deaths" / "deaths_pcmd.csv")["DEC_NHS_NUMBER"].to_list()
           + _read(inbox / "register" / "register_epaccs.csv")["NHS Number"].to_list()
           + _read(inbox / "activity" / "hes_apc_spells.csv")["PERSON_ID"].to_list()
           + _read(inbox / "activity" / "activity_community.csv")["person_id"].to_list())
    assert all(is_valid_nhs_number(i) for i in ids)
    assert all(re.fullmatch(r"\d{3} \d{3} \d{4}", i) for i in
               _read(inbox / "register" / "register_epaccs.csv")["NHS Number"])


# ---------------------------------------------------------------------------------------
# Determinism and chunking


def test_same_seed_same_bytes_different_seed_different(tmp_path: Path):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        write_sample_files(tmp_path / name, deaths=1500, seed=seed, reporter=Reporter())
    first, again, other = (_inbox_bytes(tmp_path / n) for n in "abc")
    assert first == again
    assert first.keys() == other.keys()
    assert first["inbox/deaths/deaths_pcmd.csv"] != other["inbox/deaths/deaths_pcmd.csv"]
    assert first["inbox/register/register_epaccs.csv"] != other[
        "inbox/register/register_epaccs.csv"]


def test_small_chunks_give_the_same_files_as_one_chunk(tmp_path: Path):
    deaths = 2 * BLOCK + 1234  # three blocks, the last one partial
    reporter = RecordingReporter()
    write_sample_files(tmp_path / "one", deaths=deaths, seed=9, reporter=Reporter(),
                       chunk_deaths=10 * BLOCK)
    write_sample_files(tmp_path / "many", deaths=deaths, seed=9, reporter=reporter,
                       chunk_deaths=BLOCK)
    assert _inbox_bytes(tmp_path / "one") == _inbox_bytes(tmp_path / "many")
    assert _read(tmp_path / "many" / "inbox" / "deaths" / "deaths_pcmd.csv").height == deaths
    written = {f["file"]: f["rows"] for name, f in reporter.events
               if name == "sample_file_written"}
    assert written["deaths/deaths_pcmd.csv"] == deaths


def test_gzip_output_is_the_same_data(tmp_path: Path):
    write_sample_files(tmp_path / "plain", deaths=400, seed=2, reporter=Reporter())
    write_sample_files(tmp_path / "gz", deaths=400, seed=2, reporter=Reporter(), gzipped=True)
    plain = (tmp_path / "plain" / "inbox" / "deaths" / "deaths_pcmd.csv").read_bytes()
    packed = (tmp_path / "gz" / "inbox" / "deaths" / "deaths_pcmd.csv.gz").read_bytes()
    assert gzip.decompress(packed) == plain


# ---------------------------------------------------------------------------------------
# The mix (20,000 deaths)


def test_place_of_death_mix_matches_england(mix: pl.DataFrame):
    shares = dict(mix["pod"].value_counts(normalize=True).iter_rows())
    # England 2022 (REFERENCE.md): hospital 43.4, home 28.7, care home 20.5, hospice 4.7,
    # other 2.6 (religious establishments are part of "other").
    assert shares["hospital"] == pytest.approx(0.44, abs=0.02)
    assert shares["home"] == pytest.approx(0.29, abs=0.02)
    assert shares["care_home"] == pytest.approx(0.20, abs=0.02)
    assert shares["hospice"] == pytest.approx(0.05, abs=0.015)
    assert shares["other"] + shares.get("religious", 0) == pytest.approx(0.02, abs=0.01)
    assert "unknown" not in shares


def test_age_sex_and_cause_mix(mix: pl.DataFrame):
    assert 80 <= mix["age"].median() <= 85
    assert mix["DEC_SEX"].is_in(["1", "2"]).all()
    assert 0.45 <= (mix["DEC_SEX"] == "2").mean() <= 0.55
    assert 0.70 <= mix["need"].mean() <= 0.80
    external = mix["S_UNDERLYING_COD_ICD10"].str.to_uppercase().str.contains("^[V-Y]").mean()
    assert 0.01 <= external <= 0.08
    # Every death is in the reporting window, 2023-04-01 to 2026-10-31.
    assert str(mix["dod"].min()) >= "2023-04-01" and str(mix["dod"].max()) <= "2026-10-31"
    assert mix["DEC_LSOA"].str.contains(r"^E01\d{6}$").all()


def test_icd10_written_in_the_variants_real_extracts_hold(mix: pl.DataFrame):
    codes = mix["S_UNDERLYING_COD_ICD10"]
    assert codes.str.contains(r"^[A-Z]\d{2}\.\d$").any()  # C34.9
    assert codes.str.contains(r"^[A-Z]\d{3}$").any()  # C349
    assert codes.str.contains(r"^[a-z]\d{2}").any()  # c34.9 / c61
    assert codes.str.contains(r"^[A-Z]\d{2}X$").any()  # C61X
    assert all(normalise_icd10(c).value is not None for c in codes.head(2000))
    assert mix["S_COD_CODE_2"].is_not_null().mean() > 0.5  # contributory causes present


def test_deprivation_gradients(mix: pl.DataFrame):
    by_q = (mix.group_by("quintile").agg(
        hospital=(pl.col("pod") == "hospital").mean(),
        register_need=pl.col("on_register").filter(pl.col("need")).mean(),
        ea3=(pl.col("ea90") >= 3).mean(),
    ).sort("quintile"))
    rows = {r["quintile"]: r for r in by_q.iter_rows(named=True)}
    # Most deprived (1) against least deprived (5): more hospital deaths, fewer
    # identified on the register, more people with 3+ emergency admissions.
    assert rows[1]["hospital"] - rows[5]["hospital"] > 0.08
    assert rows[5]["register_need"] - rows[1]["register_need"] > 0.12
    assert rows[1]["ea3"] > rows[5]["ea3"]
    # ... and monotone enough for an SII: each quintile at least as close to the trend.
    hospital = by_q["hospital"].to_list()
    assert hospital == sorted(hospital, reverse=True)


def test_register_and_activity_in_the_last_year_of_life(mix: pl.DataFrame):
    assert 0.04 <= (mix["ea90"] >= 3).mean() <= 0.08  # England 2022: 6.2%
    assert 0.45 <= mix.filter(pl.col("need"))["on_register"].mean() <= 0.65
    days = (mix["dod"] - mix["added"]).dt.total_days().drop_nulls()
    assert (days.is_between(0, 30)).mean() > 0.1  # late identification
    assert (days < 0).sum() > 0  # entries added after death
    assert (days > 365).sum() > 0  # long before death


def test_register_holds_living_people_and_activity_links_to_deaths(tmp_path: Path):
    write_sample_files(tmp_path, deaths=1000, seed=4, reporter=Reporter())
    inbox = tmp_path / "inbox"
    died = set(_read(inbox / "deaths" / "deaths_pcmd.csv")["DEC_NHS_NUMBER"])
    register = {n.replace(" ", "") for n in
                _read(inbox / "register" / "register_epaccs.csv")["NHS Number"]}
    assert len(register - died) > 500  # on a register, not (yet) dead
    assert len(register & died) > 300
    for name, column in (("hes_apc_spells.csv", "PERSON_ID"),
                         ("ecds_ae_attendances.csv", "PERSON_ID"),
                         ("activity_community.csv", "person_id")):
        people = set(_read(inbox / "activity" / name)[column])
        assert people <= died and len(people) > 300


# ---------------------------------------------------------------------------------------
# The project write_sample makes, and ingesting it


def test_write_sample_makes_a_ready_project(session_env: Path, tmp_path: Path):
    root = tmp_path / "demo"
    write_sample(root, deaths=200, seed=1, reporter=Reporter())
    config = load_config(root)
    assert len(config.places) >= 5
    assert {p.code for p in config.places} == {p.code for p in PLACES}
    assert config.key_file is not None and config.key_file.is_file()
    assert root not in config.key_file.parents  # the key lives outside the project
    assert {d for d, _, _ in sample_files(root)} == {
        "areas", "practices", "population", "projections", "deaths", "register", "activity",
        "benchmarks"}
    order = [d for d, _, _ in sample_files(root)]
    assert order == sorted(order, key=["areas", "practices", "population", "projections",
                                       "deaths", "register", "activity",
                                       "benchmarks"].index)
    with pytest.raises(UsageError, match="already exists"):
        write_sample(root, deaths=200, seed=1, reporter=Reporter())


def test_every_generated_file_ingests_with_almost_no_rejects(sample_project):
    con = connect(sample_project.database_path)
    try:
        log = con.sql("SELECT dataset, file_name, mapping, rows_read, rows_loaded, "
                      "rows_rejected FROM ingest_log").pl()
        linked = con.execute("""
            SELECT avg((person_id IN (SELECT person_id FROM register))::INT),
                   avg((person_id IN (SELECT person_id FROM activity))::INT)
            FROM deaths""").fetchone()
    finally:
        con.close()
    assert set(log["dataset"]) == {"areas", "population", "projections", "deaths",
                                   "register", "activity", "practices", "benchmarks"}
    assert (log["rows_read"] == log["rows_loaded"] + log["rows_rejected"]).all()
    assert log["rows_rejected"].sum() == 0
    assert dict(zip(log["file_name"], log["mapping"], strict=True))[
        "hes_apc_spells.csv"] == "hes_apc"
    assert linked is not None and 0.3 < linked[0] < 0.6 and linked[1] > 0.9


# ---------------------------------------------------------------------------------------
# The bundled sample


def _bundled_files() -> dict[str, int]:
    root = Path(str(sample_data_dir()))
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_bundled_sample_is_small_and_has_the_messy_files():
    files = _bundled_files()
    assert sum(files.values()) < 10_000_000
    for name in ("eolneeds.toml", "inbox/README.txt", "inbox/deaths/deaths_pcmd.csv.gz",
                 "inbox/deaths/deaths_registrar_2026.csv", "inbox/register/register_hospice.xlsx",
                 "mappings/deaths_registrar.toml", "mappings/register_hospice.toml",
                 "__init__.py"):
        assert name in files, name
    root = Path(str(sample_data_dir()))
    raw = (root / "inbox" / "deaths" / "deaths_registrar_2026.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really cp1252, not UTF-8
    text = raw.decode("cp1252")
    assert "é" in text and "£" in text and "31/02/2026" in text and "Caravan park" in text
    sheet = load_workbook(root / "inbox" / "register" / "register_hospice.xlsx")["Register"]
    assert sheet["A4"].value == "NHS number"  # header below a title block
    assert sheet["A1"].value and sheet["A3"].value is None


def test_bundled_project_ingests_and_only_the_planted_faults_are_rejected(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("EOLNEEDS_KEY", raising=False)  # the throwaway key file is used
    config = bundled_project(tmp_path)
    assert config.key_file is not None and config.root not in config.key_file.parents
    con = connect(config.database_path)
    try:
        rejects = con.execute("SELECT file_name, row_number, column_name FROM rejects "
                          "ORDER BY file_name, row_number").fetchall()
        files = dict(con.execute("SELECT file_name, encoding FROM ingest_log").fetchall())
        actions = con.execute("SELECT file_name, row_number, column_name, action "
                              "FROM field_actions").fetchall()
        unknown = con.execute("SELECT count(*) FROM deaths WHERE place_of_death = 'unknown'"
                          ).fetchone()
        outside = con.execute("SELECT count(*) FROM deaths WHERE lsoa_code NOT IN "
                          "(SELECT lsoa_code FROM areas)").fetchone()
    finally:
        con.close()
    assert files["deaths_registrar_2026.csv"] == "cp1252"
    assert len(files) == 12  # the PCN lookup (practices/epcn.xlsx) and the Fingertips download
    # Registrar file: row 5 impossible date, row 54 the duplicate of deaths_pcmd row 2;
    # hospice workbook: the "Total" row under the table. Row 9's bad check digit only
    # leaves that death unlinked (field_actions).
    assert rejects == [
        ("deaths_registrar_2026.csv", 5, "date_of_death"),
        ("deaths_registrar_2026.csv", 54, "person_id"),
        ("register_hospice.xlsx", 245, None),
    ]
    assert ("deaths_registrar_2026.csv", 9, "person_id", "unlinked") in actions
    assert unknown == (1,) and outside == (1,)
