"""A Place pack's Summary lets a commissioner read, for every headline indicator, the
Place's value and interval, the ICB's value, the difference from the ICB and whether it
is significant, and the same against England, with the direction (higher is better or
worse) spelt out: the lead's note "pack Summary lacks a 'difference from ICB' column".

Known answers: rows of the hand-made bundle set to figures worked out here by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

from eolneeds import report_excel

sys.path.insert(0, str(Path(__file__).parent))
from report_fixtures import make_bundle  # noqa: E402

PERIOD = "2024-25"


def _set(bundle, ind_id: str, area: str, **values) -> None:
    """Overwrite one headline row (breakdown 'all') of the bundle."""
    hit = ((pl.col("indicator_id") == ind_id) & (pl.col("area_code") == area)
           & (pl.col("period") == PERIOD) & (pl.col("breakdown") == "all"))
    assert bundle.indicators.filter(hit).height == 1, (ind_id, area)
    bundle.indicators = bundle.indicators.with_columns(
        *[pl.when(hit).then(pl.lit(v, dtype=bundle.indicators.schema[c]))
          .otherwise(pl.col(c)).alias(c) for c, v in values.items()])


@pytest.fixture(scope="module")
def bundle():
    built = make_bundle()
    place, icb = built.places[0], built.config.icb_code
    # Deaths in hospital (lower is better; England 43.4 in [benchmarks]):
    # Place 50.04 (47.31-52.77) against ICB 44.36: shown 50.0 and 44.4, difference +5.6
    # percentage points; the ICB lies below the Place's interval: 'Higher (worse)'; so
    # does England's 43.4: 'Higher (worse)'.
    _set(built, "pod_hospital_pct", place, value=50.04, lower_ci_95=47.31, upper_ci_95=52.77,
         numerator=643.0, denominator=1285.0, comparison="higher", suppressed=False, note=None)
    _set(built, "pod_hospital_pct", icb, value=44.36, lower_ci_95=43.5, upper_ci_95=45.2,
         suppressed=False)
    # Three or more emergency admissions (lower is better; England 6.2): the Place's
    # count is suppressed, so it has no difference and is compared with nothing.
    _set(built, "ea_last90_3plus_pct", place, value=None, lower_ci_95=None, upper_ci_95=None,
         numerator=None, comparison="not_compared", suppressed=True,
         note="suppressed: a count of 1-7")
    # Deaths in usual place of residence (higher is better): Place 45.0 (42.6-47.4)
    # against ICB 48.75, shown 48.8: difference -3.8, 'Lower (worse)'; no England value.
    _set(built, "diupr_pct", place, value=45.0, lower_ci_95=42.6, upper_ci_95=47.4,
         comparison="lower", suppressed=False, note=None)
    _set(built, "diupr_pct", icb, value=48.75, lower_ci_95=48.0, upper_ci_95=49.5,
         suppressed=False)
    return built


@pytest.fixture(scope="module")
def summary(tmp_path_factory, bundle):
    path = tmp_path_factory.mktemp("summary") / "pack.xlsx"
    report_excel.write_excel_pack(bundle, path, place=bundle.places[0])
    ws = load_workbook(path)["Summary"]
    (_, ref), = ws.tables.items()
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
    rows = {ws.cell(r, 1).value: {h: ws.cell(r, c) for h, c in
                                  zip(headers, range(min_col, max_col + 1), strict=True)}
            for r in range(min_row + 1, max_row + 1)}
    lines = " ".join(str(ws.cell(r, 1).value) for r in range(1, min_row))
    return headers, rows, lines


def test_summary_has_value_interval_icb_difference_and_both_comparisons(summary, bundle):
    headers, _, _ = summary
    name = bundle.config.place_name(bundle.places[0])
    for header in (name, f"{name} lower 95% CI", f"{name} upper 95% CI", "ICB",
                   "Difference from ICB", "Compared with ICB", "England", "England period",
                   "Compared with England", "Polarity", "Unit"):
        assert header in headers, header
    # Read left to right: the Place, the ICB, how far apart, and whether that matters.
    order = [headers.index(h) for h in (name, "ICB", "Difference from ICB",
                                        "Compared with ICB")]
    assert order == sorted(order)


def test_difference_and_verdicts_known_answer(summary, bundle):
    _, rows, _ = summary
    name = bundle.config.place_name(bundle.places[0])
    row = rows["Deaths in hospital"]
    assert row[name].value == 50.0 and row["ICB"].value == 44.4
    assert row["Difference from ICB"].value == pytest.approx(5.6)
    # The sign is shown: '+5.6', in the unit's decimals, padded like every figure.
    assert row["Difference from ICB"].number_format == "+0.0_0;-0.0_0;0.0_0"
    assert row["Compared with ICB"].value == "Higher (worse)"
    assert row["England"].value == 43.4
    assert row["Compared with England"].value == "Higher (worse)"
    assert row["Polarity"].value == "Lower is better"

    row = rows["Deaths in usual place of residence"]
    assert row["Difference from ICB"].value == pytest.approx(45.0 - 48.8)
    assert row["Compared with ICB"].value == "Lower (worse)"
    assert row["Compared with England"].value == "[x]"  # no England value for it


def test_a_suppressed_value_has_no_difference_and_no_comparison(summary, bundle):
    _, rows, _ = summary
    name = bundle.config.place_name(bundle.places[0])
    row = rows["Three or more emergency admissions in the last 90 days of life"]
    assert row[name].value == "[c]"
    assert row["Difference from ICB"].value == "[c]"
    assert row["Compared with ICB"].value == "Not compared"
    # England's value is shown, but nothing is said of the Place against it.
    assert row["England"].value == 6.2
    assert row["Compared with England"].value == "Not compared"


def test_a_count_has_no_difference(summary):
    _, rows, _ = summary
    row = rows["Number of deaths"]
    assert row["Difference from ICB"].value == "[z]"
    assert row["Compared with ICB"].value == "Not compared"


def test_the_lines_above_say_how_to_read_the_difference_and_the_verdicts(summary):
    _, _, lines = summary
    for words in ("Difference from ICB = Hartside minus the ICB", "percentage points",
                  "'Higher' or 'Lower' = significantly different at 95%",
                  "the ICB or England lies outside the 95% confidence interval",
                  "'Similar' = not", "Polarity column (whether higher is better)",
                  "a suppressed value [c] has no difference and is not compared"):
        assert words in lines, words


def test_icb_pack_summary_compares_the_icb_with_england(tmp_path, bundle):
    path = tmp_path / "icb.xlsx"
    report_excel.write_excel_pack(bundle, path)
    ws = load_workbook(path)["Summary"]
    (_, ref), = ws.tables.items()
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
    col = headers.index("ICB compared with England") + min_col
    words = {ws.cell(r, 1).value: ws.cell(r, col).value for r in range(min_row + 1, max_row + 1)}
    # ICB 44.4 (43.5-45.2) against England 43.4: England below the interval.
    assert words["Deaths in hospital"] == "Higher (worse)"
    assert words["Number of deaths"] == "[x]"


def test_the_comparison_note_defines_the_difference_and_the_england_test(tmp_path, bundle):
    path = tmp_path / "place.xlsx"
    report_excel.write_excel_pack(bundle, path, place=bundle.places[0])
    notes = load_workbook(path)["Notes"]
    text = {row[1]: row[2] for row in notes.iter_rows(min_row=4, values_only=True)}
    note = text["Comparison with the ICB"]
    assert "'Compared with England' applies the same test to England's value" in note
    assert "'Difference from ICB' (Place packs) is the Place's value minus the ICB's" in note
    assert "percentage points for a percentage" in note
