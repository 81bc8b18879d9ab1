"""What every comparison in the report says about its comparator.

* England: a national value is shown with its period, and says when that period is not
  the report's ("2023, not 2024-25") or unknown ("period not stated"), in the key
  findings, the England section, the theme tables and the SPC text.
* The ICB: a Place (or a Place's group) is never judged against an ICB value that
  disclosure control hid: "similar", "higher" or "lower" would bound the hidden value
  by the Place's interval. Fixed where the comparison is made (assess), so the HTML, the
  packs and the CLI summary, which all read the table's `comparison`, agree.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import polars as pl
from report_fixtures import HEADLINE_PERIOD, make_bundle

from eolneeds.assess import _withhold_comparisons_with_hidden_icb
from eolneeds.bundle import BenchmarkValue
from eolneeds.findings import benchmark_period, key_findings
from eolneeds.formatting import humanise
from eolneeds.report_html import build_context, render_html


def _england(value: float, period: str) -> BenchmarkValue:
    return BenchmarkValue(indicator_id="pod_hospital_pct", area_type="england",
                          area_code="E92000001", area_name="England", value=value,
                          period=period, source="OHID Fingertips download, test.csv")


def _findings(bundle):
    return {f.key: f for f in key_findings(
        bundle.indicators, icb_code=bundle.config.icb_code, places=bundle.places,
        period=bundle.headline_period, place_name=bundle.config.place_name,
        england=bundle.england())}


def test_the_benchmark_period_is_said_beside_the_value() -> None:
    assert HEADLINE_PERIOD == "2024-25"
    assert benchmark_period(_england(43.0, "2023"), "2024-25") == "2023, not 2024-25"
    # The same financial year written the Fingertips way is the same period.
    assert benchmark_period(_england(43.0, "2024/25"), "2024-25") == "2024/25"
    assert benchmark_period(_england(43.0, ""), "2024-25") == "period not stated"


def test_key_findings_say_which_england_they_compare_with() -> None:
    bundle = make_bundle()  # [benchmarks] typed in: no period
    found = _findings(bundle)
    assert "England 43.4% (period not stated)" in found["hospital_deaths"].detail
    assert "England values: period not stated." in found["versus_england"].detail

    # A download's 2023 value against the report's 2024-25: said on the card.
    bundle.benchmarks = [_england(43.0, "2023")]
    found = _findings(bundle)
    assert "England 43.0% (2023, not 2024-25)" in found["hospital_deaths"].detail
    assert ("England values: 2023, not 2024-25 (1 measure); period not stated "
            "(1 measure).") in found["versus_england"].detail
    # An ICB that differs is listed with the national value's period beside it.
    bundle.indicators = bundle.indicators.with_columns(
        pl.when((pl.col("indicator_id") == "pod_hospital_pct")
                & (pl.col("area_type") == "icb") & (pl.col("breakdown") == "all")
                & (pl.col("period") == HEADLINE_PERIOD))
        .then(pl.lit(60.0)).otherwise(pl.col(c)).alias(c)
        for c in ("lower_ci_95",))
    bundle.indicators = bundle.indicators.with_columns(
        pl.when((pl.col("indicator_id") == "pod_hospital_pct")
                & (pl.col("area_type") == "icb") & (pl.col("breakdown") == "all")
                & (pl.col("period") == HEADLINE_PERIOD))
        .then(pl.lit(70.0)).otherwise(pl.col(c)).alias(c)
        for c in ("value", "upper_ci_95"))
    found = _findings(bundle)["versus_england"]
    assert "deaths in hospital 70.0% against 43.0% (higher, worse)." in found.detail, \
        found.detail
    assert found.headline == "The ICB is worse than England on 1 of 2 measures"


def test_every_england_value_in_the_report_carries_its_period() -> None:
    bundle = make_bundle()
    bundle.benchmarks = [_england(43.0, "2023")]
    context = build_context(bundle)
    # England section: the period column and the verdict say which England.
    table = context.england_table
    assert table is not None
    period_col = table.columns.index("England")
    cmp_col = table.columns.index("ICB compared with England")
    rows = {r[0].text: r for r in table.rows}
    hospital = rows["Deaths in hospital"]
    assert hospital[period_col].text == "43.0%"
    assert hospital[period_col].detail == "2023, not 2024-25"
    # The verdict sits beside England's value and the period under it.
    assert cmp_col == period_col + 1
    typed = [r for name, r in rows.items() if name != "Deaths in hospital"]
    assert typed and all(r[period_col].detail == "period not stated" for r in typed)
    # The overview and each Place's theme tables: the period under England's value.
    england_cells = [c for t in [context.overview_table] + [
        q.table for p in context.places for q in p.questions if q.table is not None]
        if t is not None and "England" in t.columns
        for c in (row[t.columns.index("England")] for row in t.rows) if c.text != "–"]
    assert england_cells
    assert all(c.detail in ("2023, not 2024-25", "period not stated")
               for c in england_cells), {c.detail for c in england_cells}
    assert "2023, not 2024-25" in render_html(bundle)
    # SPC: where England's value is the target, its period is said with it.
    targets = [b.meaning for b in context.spc_blocks if "England value" in b.meaning]
    assert targets and all("England value (2023, not 2024-25)" in m or
               "England value (period not stated)" in m for m in targets), targets


def _row(area_type: str, area: str, value: float | None, *, lo: float | None = None,
         hi: float | None = None, suppressed: bool = False, comparison: str = "similar",
         breakdown_value: str = "black") -> dict:
    return {"indicator_id": "pod_home_pct", "area_type": area_type, "area_code": area,
            "period": "2025-26", "period_start": date(2025, 4, 1),
            "period_end": date(2026, 3, 31), "breakdown": "ethnic_group",
            "breakdown_value": breakdown_value, "value": value, "lower_ci_95": lo,
            "upper_ci_95": hi, "suppressed": suppressed, "comparison": comparison}


def test_a_place_is_not_compared_with_a_hidden_icb_value() -> None:
    """Known answer: the ICB's Black group is suppressed, so Place A's 'similar' (and
    Place B's 'higher') would say where the hidden value lies: both become
    'not_compared'. The White group's ICB value is published: verdicts kept."""
    frame = pl.DataFrame([
        _row("icb", "QXX", None, suppressed=True, comparison="not_compared"),
        _row("place", "A", 30.0, lo=20.0, hi=40.0, comparison="similar"),
        _row("place", "B", 50.0, lo=45.0, hi=55.0, comparison="higher"),
        _row("icb", "QXX", 28.0, lo=27.0, hi=29.0, comparison="not_compared",
             breakdown_value="white"),
        _row("place", "A", 35.0, lo=31.0, hi=39.0, comparison="higher",
             breakdown_value="white"),
        _row("place", "B", 28.0, lo=25.0, hi=31.0, comparison="similar",
             breakdown_value="white"),
    ])
    out = _withhold_comparisons_with_hidden_icb(frame)
    assert out.columns == frame.columns and out.height == frame.height
    assert out["comparison"].to_list() == ["not_compared", "not_compared", "not_compared",
                                           "not_compared", "higher", "similar"]
    # An ICB row with no value (nothing published to compare with) counts as hidden.
    empty = frame.with_columns(pl.lit(False).alias("suppressed"))
    assert _withhold_comparisons_with_hidden_icb(empty)["comparison"].to_list()[:3] == [
        "not_compared"] * 3


def test_no_published_verdict_rests_on_a_hidden_icb_value(assessed_sample) -> None:
    """In the assessed sample's table (which the report, the packs and the CLI summary
    read), every Place row whose ICB comparator is hidden says not_compared; and the
    sample has such rows, so the check is not empty."""
    frame = assessed_sample.indicators
    key = ["indicator_id", "period", "breakdown", "breakdown_value"]
    icb = frame.filter(pl.col("area_type") == "icb").select(
        *key, pl.col("suppressed").alias("icb_hidden"), pl.col("value").alias("icb_value"))
    places = frame.filter(pl.col("area_type") == "place").join(icb, on=key,
                                                                nulls_equal=True)
    against_hidden = places.filter(pl.col("icb_hidden") | pl.col("icb_value").is_null())
    published = against_hidden.filter(~pl.col("suppressed") & pl.col("value").is_not_null()
                                      & pl.col("method").is_in(["P", "R", "DSR", "M"]))
    assert published.height > 0  # Place values published beside a hidden ICB value
    assert set(against_hidden["comparison"].to_list()) == {"not_compared"}


def test_the_report_shows_not_compared_against_a_hidden_icb_value() -> None:
    """The HTML reads the table's comparison: a breakdown table row whose ICB value is
    suppressed says 'Not compared', never 'Similar'."""
    bundle = make_bundle()
    frame = bundle.indicators
    target = ((pl.col("indicator_id") == "ea_last90_3plus_pct")
              & (pl.col("breakdown") == "age_group") & (pl.col("period") == HEADLINE_PERIOD))
    rows = frame.filter(target)
    assert rows.height > 0
    value = rows["breakdown_value"][0]
    hidden_icb = target & (pl.col("breakdown_value") == value) & (pl.col("area_type") == "icb")
    frame = frame.with_columns(
        pl.when(hidden_icb).then(pl.lit(True)).otherwise(pl.col("suppressed"))
        .alias("suppressed"),
        *(pl.when(hidden_icb).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("value", "numerator", "lower_ci_95", "upper_ci_95")),
        pl.when(target & (pl.col("area_type") == "place")).then(pl.lit("similar"))
        .otherwise(pl.col("comparison")).alias("comparison"))
    frame = _withhold_comparisons_with_hidden_icb(frame)
    bundle = dataclasses.replace(bundle, indicators=frame)
    context = build_context(bundle)
    tables = [t for p in context.places for q in p.questions for t in q.extra_tables
              if t.caption.startswith("Three or more emergency admissions")
              and "age group" in t.caption.lower()]
    assert tables
    for table in tables:
        row = next(r for r in table.rows if r[0].text == humanise(value))
        assert row[2].text == "Not compared", [c.text for c in row]


def test_a_diupr_compared_with_england_says_which_deaths_each_counts() -> None:
    # England's published DiUPR leaves out external causes; this assessment counts them
    # by default (README, "Deaths in usual place of residence (DiUPR)"). Wherever the
    # two stand side by side, the words under England's value say so.
    bundle = make_bundle()
    diupr = dataclasses.replace(_england(44.0, "2023"), indicator_id="diupr_pct")
    bundle.benchmarks = [_england(43.0, "2023"), diupr]
    counted = "2023, not 2024-25; England leaves out external causes; counted here"
    assert benchmark_period(bundle.england()["diupr_pct"], "2024-25") == counted
    # Other indicators share the definition: the period alone.
    assert benchmark_period(bundle.england()["pod_hospital_pct"], "2024-25") \
        == "2023, not 2024-25"
    context = build_context(bundle)
    table = context.england_table
    assert table is not None
    rows = {r[0].text: r for r in table.rows}
    cell = rows["Deaths in usual place of residence"][table.columns.index("England")]
    # In a table the cell says England's period; the definition, once, under the table
    # (not on every row: it made the rows wordy).
    assert cell.text == "44.0%" and cell.detail == "2023, not 2024-25"
    said = ("Deaths in usual place of residence: England leaves out external causes; "
            "counted here.")
    assert table.note.count(said) == 1 and table.note.count("external causes") == 1
    assert said in render_html(bundle)
    assert ("Deaths in usual place of residence count deaths from external causes here; "
            "England's figure leaves them out.") in _findings(bundle)["versus_england"].detail
    # With the national definition configured, both leave them out.
    bundle.config = dataclasses.replace(bundle.config, methods=dataclasses.replace(
        bundle.config.methods, diupr_exclude_external_causes=True))
    assert benchmark_period(bundle.england()["diupr_pct"], "2024-25") \
        == "2023, not 2024-25; both leave out external causes"


def test_care_homes_and_other_places_beside_england_say_where_religious_deaths_are() -> None:
    # Religious establishments are published within care homes (place_of_death.sql);
    # England's care-home value leaves them out and its 'other places' value holds them.
    bundle = make_bundle()
    care, other = (dataclasses.replace(_england(v, "2023"), indicator_id=i)
                   for i, v in (("pod_care_home_pct", 20.5), ("pod_other_pct", 2.6)))
    bundle.benchmarks = [_england(43.0, "2023"), care, other]
    england = bundle.england()
    assert benchmark_period(england["pod_care_home_pct"], "2024-25") == (
        "2023, not 2024-25; England leaves out religious establishments; counted here")
    assert benchmark_period(england["pod_other_pct"], "2024-25") == (
        "2023, not 2024-25; England includes religious establishments; here with care homes")
    table = build_context(bundle).england_table
    assert table is not None
    rows = {r[0].text: r for r in table.rows}
    cell = rows["Deaths in a care home or religious establishment"][table.columns.index("England")]
    assert cell.text == "20.5%" and cell.detail == "2023, not 2024-25"
    assert table.note.count("religious establishments") == 2  # once for each measure
    assert ("Deaths in a care home or religious establishment: England leaves out "
            "religious establishments; counted here.") in table.note


def test_the_england_card_says_each_definition_difference_once_and_groups_periods() -> None:
    """Care homes, other places and DiUPR each differ from England's definition; the key
    findings' England card groups its values by period alone (not period and
    definition, which split it into fragments) and says the religious-establishment
    difference once, though two measures carry it."""
    bundle = make_bundle()
    extra = [dataclasses.replace(_england(v, "2023"), indicator_id=i)
             for i, v in (("pod_care_home_pct", 20.5), ("pod_other_pct", 2.6),
                          ("diupr_pct", 48.0))]
    bundle.benchmarks = [_england(43.0, "2023"), *extra]
    found = _findings(bundle)["versus_england"]
    # Four Fingertips values of 2023 and one typed into [benchmarks] (fixture).
    assert ("England values: 2023, not 2024-25 (4 measures); period not stated "
            "(1 measure).") in found.detail, found.detail
    religious = ("Deaths in religious establishments are counted here with care homes; "
                 "England's figures have them in other places.")
    assert found.detail.count(religious) == 1
    assert "; here with care homes" not in found.detail  # nor its per-value words
    assert found.detail.count("external causes") == 1
    assert "; counted here" not in found.detail  # the per-value words stay in the tables
    # The national DiUPR definition configured: no difference left to say.
    bundle.config = dataclasses.replace(bundle.config, methods=dataclasses.replace(
        bundle.config.methods, diupr_exclude_external_causes=True))
    assert "external causes" not in _findings(bundle)["versus_england"].detail


def test_the_england_card_headline_says_plainly_how_the_icb_compares() -> None:
    """Known answers from intervals set here against England's 43.4% (deaths in
    hospital, lower is better) and 6.2% (3+ emergency admissions, lower is better)."""
    bundle = make_bundle()
    icb = bundle.config.icb_code

    def icb_interval(ind: str, value: float, low: float, high: float) -> None:
        target = ((pl.col("indicator_id") == ind) & (pl.col("area_code") == icb)
                  & (pl.col("period") == HEADLINE_PERIOD) & (pl.col("breakdown") == "all"))
        bundle.indicators = bundle.indicators.with_columns(
            pl.when(target).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
            for c, v in (("value", value), ("lower_ci_95", low), ("upper_ci_95", high)))

    england = bundle.england()
    assert (england["pod_hospital_pct"].value, england["ea_last90_3plus_pct"].value) \
        == (43.4, 6.2)
    icb_interval("pod_hospital_pct", 50.0, 48.0, 52.0)   # above England: worse
    icb_interval("ea_last90_3plus_pct", 4.0, 3.5, 4.5)   # below England: better
    found = _findings(bundle)["versus_england"]
    assert found.headline == "The ICB is worse than England on 1 of 2 measures and better on 1"
    assert found.detail.startswith(
        "ICB against England: deaths in hospital 50.0% against 43.4% (higher, worse); "
        "three or more emergency admissions in the last 90 days of life 4.0% against "
        "6.2% (lower, better).")
    icb_interval("pod_hospital_pct", 43.0, 41.0, 45.0)   # holds England's value
    assert _findings(bundle)["versus_england"].headline == \
        "The ICB is better than England on 1 of 2 measures"
    icb_interval("ea_last90_3plus_pct", 6.0, 5.0, 7.0)
    found = _findings(bundle)["versus_england"]
    assert found.headline == "The ICB is similar to England on all 2 measures compared"
    assert found.detail.startswith("The ICB does not differ significantly from England")


def test_the_place_of_death_chart_table_and_pack_name_religious_establishments() -> None:
    """Care homes hold religious establishments as published: the report's chart (its
    text alternative and table) and the pack's place-of-death table, whose row labels the
    pack's chart series read, name them alike."""
    from eolneeds import report_excel

    bundle = make_bundle()
    context = build_context(bundle)
    pod = next(c for c in context.overview_charts if c.id.startswith("chart-pod"))
    assert "in a care home or religious establishment," in pod.summary
    assert pod.table is not None
    assert "Care home or religious establishment" in pod.table.columns
    assert "Care home" not in pod.table.columns
    assert "Care home or religious establishment" in pod.svg
    wb = report_excel.build_workbook(bundle, place=bundle.places[0])
    labels = {c.value for c in wb["Place_of_death"]["A"] if isinstance(c.value, str)}
    assert "Deaths in a care home or religious establishment" in labels
    assert "Deaths in a care home" not in labels


def test_the_england_table_names_each_source_indicator_and_the_file_once() -> None:
    bundle = make_bundle()
    bundle.benchmarks = [dataclasses.replace(
        _england(43.0, "2023"),
        source_indicator="90001 Percentage of deaths that occur in hospital")]
    context = build_context(bundle)
    table = context.england_table
    assert table is not None
    rows = {r[0].text: r for r in table.rows}
    source = rows["Deaths in hospital"][table.columns.index("Source")].text
    assert source == "Indicator 90001 Percentage of deaths that occur in hospital"
    # The file, once, in the line under the table (and typed-in values as such).
    assert context.england_sources[0] == "OHID Fingertips download, test.csv"
    typed = rows["Three or more emergency admissions in the last 90 days of life"]
    assert typed[table.columns.index("Source")].text.startswith("eolneeds.toml [benchmarks]")
