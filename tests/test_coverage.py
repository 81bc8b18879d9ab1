"""No silent undercount from incomplete data (eolneeds.coverage; the newcomer's findings
2, 3 and 4).

* An APC extract that stops three months before the deaths do: the last year's
  emergency-admission indicators are not available [x] with the reason, not a number
  a quarter short; A&E and community indicators of the same year still publish.
* No register or activity loaded: their indicators are not available, never 0%.
* `run --month` after the deaths end: refused (exit 3), nothing published.

Known answers: the notes and warnings are worked out from the dates the test writes;
the covered/not covered split by hand from the periods (FY 2025-26 ends 2026-03-31).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sample_settings import primary_suppression_only
from small_project import stand_in_assessment

from eolneeds import coverage
from eolneeds.catalogue import load_catalogue
from eolneeds.config import load_config
from eolneeds.db import connect
from eolneeds.errors import InputDataError
from eolneeds.periods import financial_year
from eolneeds.reporting import RecordingReporter, Reporter

FY24, FY25 = financial_year(2024), financial_year(2025)  # 2024-25, 2025-26
APC = "hospital admitted patient care (APC) data"
EA_IDS = ["bed_days_last90_mean", "ea_last90_3plus_pct", "ea_last90_any_pct",
          "hospital_cost_last90"]


def spans(**kw: tuple[date, date]) -> dict[str, coverage.Span]:
    return {k: coverage.Span(*v) for k, v in kw.items()}


def test_gaps_by_hand():
    catalogue = load_catalogue()
    full = (date(2022, 1, 5), date(2026, 3, 20))
    have = spans(deaths=full, ae=full, community=full, palliative=full, population=full,
                 register=(date(2020, 1, 1), date(2026, 2, 3)),  # one month's grace
                 admitted=(date(2022, 1, 5), date(2025, 12, 30)))
    gaps = coverage.indicator_gaps(catalogue, [FY24, FY25], have)
    why = f"not available: {APC} end 2025-12-30, before the end of 2025-26 (2026-03-31)"
    assert gaps == {(i, "2025-26"): why for i in EA_IDS}
    # The register one whole month short; palliative data from April 2024 only: the
    # year before each death of 2024-25 reaches back to 2023-04-03 (364 days before
    # 2024-04-01, a leap year between).
    have = spans(**{**{k: (v.first_date, v.last_date) for k, v in have.items()},
                    "register": (date(2020, 1, 1), date(2026, 1, 31)),
                    "palliative": (date(2024, 4, 1), date(2026, 3, 31))})
    gaps = coverage.indicator_gaps(catalogue, [FY24, FY25], have)
    assert gaps[("on_register_pct", "2025-26")] == (
        "not available: palliative care register data end 2026-01-31, before the end of "
        "2025-26 (2026-03-31)")
    assert ("on_register_pct", "2024-25") not in gaps
    assert gaps[("spc_last_year_pct", "2024-25")] == (
        "not available: specialist palliative care and hospice data begin 2024-04-01; the "
        "deaths of 2024-25 need them from 2023-04-03 (365 days before death)")
    assert ("spc_last_year_pct", "2025-26") not in gaps
    # Nothing but deaths: every indicator of another source, never the deaths' own.
    gaps = coverage.indicator_gaps(catalogue, [FY25], spans(deaths=full))
    assert gaps[("on_register_pct", "2025-26")] == (
        "not available: no palliative care register data loaded")
    assert gaps[("hospital_cost_last90", "2025-26")] == (
        f"not available: no {APC} loaded; no A&E attendance (ECDS) data loaded")
    assert gaps[("crude_death_rate", "2025-26")] == "not available: no population data loaded"
    assert not {i for i, _ in gaps} & {"deaths", "pod_home_pct", "pc_need_pct", "diupr_pct"}


@pytest.fixture(scope="module")
def apc_short(session_env, tmp_path_factory) -> Path:
    """A generated project whose APC extract stops on 2025-12-31, three months before
    the end of 2025-26, while deaths, A&E and community data run to October 2026."""
    from eolneeds.sample import ingest_sample, write_sample

    root = tmp_path_factory.mktemp("coverage") / "project"
    write_sample(root, deaths=1500, seed=4, reporter=Reporter())
    primary_suppression_only(root)
    apc = root / "inbox" / "activity" / "hes_apc_spells.csv"
    rows = pl.read_csv(apc, infer_schema=False)
    rows.filter(pl.col("ADMIDATE").str.to_date() <= date(2025, 12, 31)).write_csv(apc)
    ingest_sample(load_config(root), reporter=Reporter())
    return root


def _assess(root: Path, out: Path, reporter: Reporter | None = None) -> pl.DataFrame:
    from eolneeds.assess import AssessOptions, assess_project

    assess_project(load_config(root), AssessOptions(formats=["csv", "html"], out=out),
                   reporter=reporter or Reporter())
    return pl.read_csv(out / "indicators.csv", infer_schema=False)


def test_apc_three_months_short_is_not_published(apc_short, tmp_path):
    reporter = RecordingReporter()
    table = _assess(apc_short, tmp_path / "out", reporter)
    con = connect(apc_short / "eolneeds.duckdb", read_only=True)
    try:
        last = con.execute("SELECT max(start_date) FROM activity a JOIN ingest_log l "
                           "ON l.file_id = a.source_file_id "
                           "WHERE l.file_name = 'hes_apc_spells.csv'").fetchall()[0][0]
    finally:
        con.close()
    assert date(2025, 12, 1) <= last <= date(2025, 12, 31)
    why = f"not available: {APC} end {last}, before the end of 2025-26 (2026-03-31)"
    for ind in EA_IDS:
        rows = table.filter(pl.col("indicator_id") == ind)
        short = rows.filter((pl.col("period") == "2025-26")
                            & ~pl.col("note").fill_null("").str.starts_with("no residents"))
        assert short.height > 10
        assert short["value"].null_count() == short.height, ind
        assert short["numerator"].null_count() == short.height
        assert set(short["note"]) == {why}
        assert set(short["suppressed"]) == {"false"}
        assert set(short["comparison"]) == {"not_compared"}
        whole = rows.filter(pl.col("period") == "2024-25")
        assert not whole["note"].fill_null("").str.starts_with("not available").any(), ind
        icb = whole.filter((pl.col("area_type") == "icb") & (pl.col("breakdown") == "all"))
        assert icb["value"].null_count() == 0, ind
    # A&E and community data run on: their indicators publish for 2025-26.
    for ind in ("ae_last90_mean", "community_last90_pct", "spc_last_year_pct"):
        icb = table.filter((pl.col("indicator_id") == ind) & (pl.col("period") == "2025-26")
                           & (pl.col("area_type") == "icb") & (pl.col("breakdown") == "all"))
        assert icb["value"].null_count() == 0, ind
    warned = [f["text"] for n, f in reporter.events if n == "message"
              and f.get("level") == "warning"]
    assert (f"{APC} end {last}, before the end of 2025-26 (2026-03-31): "
            f"{', '.join(EA_IDS)} not available (published as [x], not as a number) — "
            "load data covering the period, or report an earlier one") in warned
    # The report says why where the number would have been.
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f"{APC} end {last}" in html
    # ... in the data-quality section's table of what is not available and why (the
    # packs render the same table as a sheet).
    assert "Indicators not available, and why" in html

    # validate: the same warning, and the date coverage of each kind of data per file.
    from eolneeds.validate import validate_project

    report = validate_project(load_config(apc_short), reporter=Reporter())
    assert any(w.startswith(f"{APC} end {last}, before the end of 2025-26") and
               "ea_last90_3plus_pct" in w for w in report.warnings)
    kinds = {(r["data"], r["file_name"]): r["last_date"]
             for r in report.table("source_coverage").frame.iter_rows(named=True)}
    assert kinds[(APC, "hes_apc_spells.csv")] == str(last)
    assert kinds[("A&E attendance (ECDS) data", "ecds_ae_attendances.csv")] > "2026-09-01"


def test_no_register_or_activity_is_not_available_never_zero(apc_short, tmp_path):
    import shutil

    root = tmp_path / "project"
    shutil.copytree(apc_short, root)
    con = connect(root / "eolneeds.duckdb")
    try:
        con.execute("DELETE FROM register")
        con.execute("DELETE FROM activity")
    finally:
        con.close()
    table = _assess(root, tmp_path / "out")
    for ind, why in (("on_register_pct", "no palliative care register data loaded"),
                     ("unidentified_need", "no palliative care register data loaded"),
                     ("ea_last90_3plus_pct", f"no {APC} loaded"),
                     ("spc_last_year_pct", "no specialist palliative care and hospice data "
                                           "loaded")):
        rows = table.filter((pl.col("indicator_id") == ind)
                            # a group with nobody in it says so whatever the data cover
                            & ~pl.col("note").fill_null("").str.starts_with("no residents"))
        assert rows.height > 0
        assert set(rows["note"]) == {f"not available: {why}"}, ind
        assert rows["value"].null_count() == rows.height, ind
        assert set(rows["comparison"]) == {"not_compared"}
    # Deaths and place of death are still there, and no finding is built on a 0.
    assert table.filter((pl.col("indicator_id") == "pod_hospital_pct")
                        & (pl.col("area_type") == "icb") & (pl.col("breakdown") == "all")
                        )["value"].null_count() == 0
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"0\.0% of [^.<]* (were|was) on a", html)


# ---------------------------------------------------------------------------------------
# run --month after the deaths end

def test_run_month_after_the_deaths_end_is_refused(tmp_path, monkeypatch):
    from eolneeds import run as run_mod

    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    (root / "inbox" / "deaths").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(
        '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n',
        encoding="utf-8")
    (root / "inbox" / "deaths" / "deaths.csv").write_text(
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death\n"
        + "".join(f"{m},2025-0{m}-1{m},8{m},F,E01000001,C34.9,home\n" for m in (1, 2, 3)),
        encoding="utf-8")
    monkeypatch.setattr(run_mod, "_validate", lambda config, *, reporter: [])
    monkeypatch.setattr(run_mod, "_assess", stand_in_assessment)
    with pytest.raises(InputDataError) as refused:
        run_mod.run_month(load_config(root), "2025-06", reporter=Reporter())
    assert str(refused.value) == (
        "--month 2025-06: the deaths loaded end 2025-03-13, before the end of 2025-06: the "
        "12 months to 2025-06 would count the deaths of only part of them as the whole — put "
        f"the deaths extract to 2025-06-30 in {root / 'inbox' / 'deaths'} and run again, or "
        "run --month 2025-03; nothing was published")
    assert refused.value.exit_code == 3
    assert not (root / "output" / "2025-06").exists()
    # The month the deaths reach is run.
    run_mod.run_month(load_config(root), "2025-03", reporter=Reporter())
    assert (root / "output" / "2025-03" / "indicators.csv").is_file()


def test_assess_period_end_after_the_deaths_is_refused(apc_short, tmp_path):
    from eolneeds.assess import AssessOptions, assess_project

    with pytest.raises(InputDataError) as refused:
        assess_project(load_config(apc_short), AssessOptions(
            period_end="2027-01", formats=["csv"], out=tmp_path / "out"), reporter=Reporter())
    assert str(refused.value).startswith(
        "the deaths loaded end 2026-10-")
    assert "before the end of 2026-02 to 2027-01 (2027-01-31)" in str(refused.value)
    assert str(refused.value).endswith("or report a period ending by 2026-10; nothing was "
                                       "published")
    assert not (tmp_path / "out" / "indicators.csv").exists()


# ---------------------------------------------------------------------------------------
# Deaths of unknown age and the age-standardised rate (the newcomer's finding 6)

def test_two_deaths_of_unknown_age_name_why_the_rate_is_withheld(apc_short, tmp_path):
    import shutil

    from eolneeds.assess import UNKNOWN_AGE_WARNING
    from eolneeds.validate import validate_project

    root = tmp_path / "project"
    shutil.copytree(apc_short, root)
    # The difference of two published counts is secondary suppression's to protect.
    toml = root / "eolneeds.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "secondary = false", "secondary = true"), encoding="utf-8")
    config = load_config(root)
    place = config.places[0].code
    con = connect(root / "eolneeds.duckdb")
    try:
        unknown = con.execute("SELECT count(*) FROM deaths WHERE age IS NULL").fetchall()[0][0]
        # Two of the Place's deaths of 2024-25 lose their age (DEC_AGEC 999 is blanked).
        con.execute("""
            UPDATE deaths SET age = NULL, date_of_birth = NULL WHERE rowid IN (
                SELECT d.rowid FROM deaths d JOIN assessment_areas a USING (lsoa_code)
                WHERE a.place = $place AND d.age IS NOT NULL
                  AND d.date_of_death BETWEEN DATE '2024-04-01' AND DATE '2025-03-31'
                ORDER BY d.rowid LIMIT 2)""", {"place": place})
    finally:
        con.close()
    reporter = RecordingReporter()
    table = _assess(root, tmp_path / "out", reporter)
    row = table.filter((pl.col("indicator_id") == "dsr_all_cause") & (pl.col("area_code") == place)
                       & (pl.col("period") == "2024-25") & (pl.col("breakdown") == "all"))
    assert row.height == 1
    assert row["suppressed"][0] == "true" and row["value"][0] is None
    # The published note is the one every withheld count has: saying 'deaths of unknown
    # age' there would tell that 1-7 of them exist in this area and period.
    generic = table.filter((pl.col("suppressed") == "true")
                           & (pl.col("indicator_id") != "dsr_all_cause"))["note"]
    assert row["note"][0] in set(generic.to_list()), row["note"][0]
    assert not table["note"].fill_null("").str.contains("unknown age").any()
    # The analyst is told where and why.
    said = [f["text"] for name, f in reporter.events
            if name == "message" and f.get("level") == "warning"
            and f["text"].startswith("dsr_all_cause is withheld for")]
    name = config.places[0].name
    assert said and f"{name} 2024-25" in said[0], said
    assert said[0].endswith(UNKNOWN_AGE_WARNING.split("{where}")[1])
    # The year before is untouched: published, no such note.
    before = table.filter((pl.col("indicator_id") == "dsr_all_cause")
                          & (pl.col("area_code") == place) & (pl.col("period") == "2023-24")
                          & (pl.col("breakdown") == "all"))
    assert before["value"][0] is not None and "unknown age" not in (before["note"][0] or "")
    report = validate_project(load_config(root), reporter=Reporter())
    assert any(w.startswith(f"{unknown + 2} deaths of unknown age") for w in report.warnings)


# ---------------------------------------------------------------------------------------
# A source no death links to (the second newcomer's finding 10)

def test_spells_keyed_by_another_systems_pseudonym_are_not_available_never_zero(
        apc_short, tmp_path):
    """Deaths keyed by NHS number, hospital spells from NCDR keyed by its own pseudonym
    (`Der_Pseudo_NHS_Number`): no death can link, so every admitted-care indicator is not
    available with the reason (it read 0.0%), validate warns with the fix, and the
    indicators of the sources that do link still publish."""
    import hashlib
    import shutil

    from eolneeds.ingest import ingest_files
    from eolneeds.validate import validate_project

    root = tmp_path / "project"
    shutil.copytree(apc_short, root)
    con = connect(root / "eolneeds.duckdb")
    try:  # the APC extract goes; another system's extract of the same spells comes in
        con.execute("DELETE FROM activity WHERE source_file_id IN (SELECT file_id FROM "
                    "ingest_log WHERE file_name = 'hes_apc_spells.csv')")
    finally:
        con.close()
    spells = pl.read_csv(root / "inbox" / "activity" / "hes_apc_spells.csv",
                         infer_schema=False)
    ncdr = spells.with_columns(pl.col("PERSON_ID").map_elements(
        lambda v: hashlib.sha256(f"ncdr-{v}".encode()).hexdigest().upper(),
        return_dtype=pl.String)).rename({"PERSON_ID": "Der_Pseudo_NHS_Number"})
    path = tmp_path / "NCDR_APC_Spells.csv"
    ncdr.write_csv(path)
    (root / "mappings" / "ncdr_apc.toml").write_text(
        'dataset = "activity"\npreset = "hes_apc"\n', encoding="utf-8")
    [loaded] = ingest_files(load_config(root), "activity", [path], mapping="ncdr_apc",
                            reporter=Reporter())
    assert loaded.rows_loaded == spells.height

    reporter = RecordingReporter()
    table = _assess(root, tmp_path / "out", reporter)
    why = f"not available: no death links to the {APC} (no person_id of it is a death's)"
    for ind in ("bed_days_last90_mean", "ea_last90_3plus_pct", "ea_last90_any_pct"):
        rows = table.filter((pl.col("indicator_id") == ind)
                            & ~pl.col("note").fill_null("").str.starts_with("no residents"))
        assert rows.height > 10
        assert set(rows["note"]) == {why}, ind
        assert rows["value"].null_count() == rows["numerator"].null_count() == rows.height
    # A&E and community data link as before: published.
    for ind in ("ae_last90_mean", "community_last90_pct", "on_register_pct"):
        icb = table.filter((pl.col("indicator_id") == ind) & (pl.col("period") == "2024-25")
                           & (pl.col("area_type") == "icb") & (pl.col("breakdown") == "all"))
        assert icb["value"].null_count() == 0 and float(icb["value"][0]) > 0, ind
    warned = [f["text"] for n, f in reporter.events if n == "message"
              and f.get("level") == "warning"]
    assert any(w.startswith(f"no death links to the {APC}") and "ea_last90_any_pct" in w
               and "Der_Pseudo_NHS_Number" in w for w in warned), warned
    report = validate_project(load_config(root), reporter=Reporter())
    assert any(w.startswith(f"no death links to the {APC}") for w in report.warnings)


def test_a_source_linking_to_no_death_is_not_available_only_past_chance():
    """Known answers by hand: 0 linked of 30 deaths that could link is not chance (the
    source is not available); of 29 it may be, and the source's dates decide alone."""
    full = (date(2022, 1, 5), date(2026, 3, 20))
    catalogue = load_catalogue()

    def gaps(linkable: int, linked: int) -> dict[tuple[str, str], str]:
        have = spans(deaths=full, population=full, ae=full, community=full,
                     palliative=full, register=full)
        have["admitted"] = coverage.Span(*full, linkable=linkable, linked=linked)
        return coverage.indicator_gaps(catalogue, [FY25], have)

    assert set(gaps(30, 0)) == {(i, "2025-26") for i in EA_IDS}
    assert gaps(29, 0) == {} and gaps(30, 1) == {} and gaps(5000, 3) == {}
