"""Number formatting filters (eolneeds.formatting): the house rules for every number."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest

from eolneeds.formatting import (
    MISSING,
    SUPPRESSED,
    fmt_cell,
    fmt_comparison,
    fmt_count,
    fmt_interval,
    fmt_money_rounded,
    fmt_number,
    fmt_percent,
    fmt_signed,
    fmt_value,
    humanise,
    plural,
)

MINUS = "\u2212"


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (1234567, 0, "1,234,567"),
        (1234.5, 0, "1,235"),  # half away from zero, not banker's rounding (1,234)
        (2.5, 0, "3"),
        (0.25, 1, "0.3"),
        (2.675, 2, "2.68"),  # binary float 2.67499999... still reads as 2.675
        (999.95, 1, "1,000.0"),
        (-1234.5, 1, f"{MINUS}1,234.5"),
        (-0.04, 1, "0.0"),  # no negative zero
        (0, 0, "0"),
    ],
)
def test_fmt_number_separators_and_rounding(value: float, decimals: int, expected: str) -> None:
    assert fmt_number(value, decimals) == expected


@pytest.mark.parametrize("gap", [None, float("nan"), math.nan])
def test_missing_values_show_a_dash(gap: object) -> None:
    assert fmt_number(gap) == MISSING == "\u2013"
    assert fmt_value(gap, "%") == MISSING
    assert fmt_interval(gap, 3.0, "%") == MISSING


def test_suppressed_values_show_a_star_even_when_a_value_is_present() -> None:
    assert fmt_number(5, suppressed=True) == SUPPRESSED == "*"
    assert fmt_value(None, "%", suppressed=True) == "*"
    assert fmt_count(3, suppressed=True) == "*"
    assert fmt_interval(1, 2, "%", suppressed=True) == "*"


@pytest.mark.parametrize(
    ("value", "unit", "method", "expected"),
    [
        (43.4123, "%", "P", "43.4%"),
        (1010.04, "per 100,000", "R", "1,010.0"),
        (12345.0, "count", "C", "12,345"),
        (3947230.4, "£", "C", "£3,947,230"),
        (-120.0, "£", "C", f"{MINUS}£120"),
        (11.44, "days", "M", "11.4"),
        (62.6, "days", "Q", "63"),  # medians are whole days
        (0.4812, "index", "RII", "0.48"),
        (1.25, "per person", "M", "1.3"),
    ],
)
def test_fmt_value_by_unit(value: float, unit: str, method: str, expected: str) -> None:
    assert fmt_value(value, unit, method=method) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (21_433_216, "£21.4 million"),     # 21.433 m to one decimal
    (4_750_000, "£4.8 million"),       # half away from zero
    (999_600, "£1.0 million"),         # rounds to a million, so it reads as one
    (951_234, "£951,000"),             # three significant figures
    (95_150, "£95,200"),
    (12_345, "£12,300"),
    (3_092.4, "£3,092"),               # small sums stay exact to the pound
    (-2_500_000, "\u2212£2.5 million"),
    (None, MISSING),
])
def test_money_in_a_sentence_is_rounded_as_govuk_writes_it(value: object, expected: str) -> None:
    assert fmt_money_rounded(value) == expected


def test_percent_and_count_shortcuts() -> None:
    assert fmt_percent(7.06) == "7.1%"
    assert fmt_count(1999.6) == "2,000"


def test_interval_uses_to_not_a_dash_so_negative_bounds_read_clearly() -> None:
    assert fmt_interval(-20.14, -8.26, "%") == f"{MINUS}20.1 to {MINUS}8.3"
    assert fmt_interval(41.25, 45.649, "%") == "41.3 to 45.6"


def test_comparison_words() -> None:
    assert fmt_comparison("higher") == "Higher"
    assert fmt_comparison("similar") == "Similar"
    assert fmt_comparison("not_compared") == "Not compared"
    assert fmt_comparison(None) == MISSING


def test_signed() -> None:
    assert fmt_signed(3.21) == "+3.2"
    assert fmt_signed(-1.0) == f"{MINUS}1.0"
    assert fmt_signed(0.0) == "0.0"
    assert fmt_signed(None) == MISSING


def test_generic_cells() -> None:
    assert fmt_cell(9120) == "9,120"
    assert fmt_cell(99.64) == "99.6"
    assert fmt_cell(100.0) == "100"
    assert fmt_cell(True) == "Yes"
    assert fmt_cell("E01099999") == "E01099999"
    assert fmt_cell(None) == MISSING
    assert fmt_cell(datetime(2026, 11, 23, 12, 55, 48, 856936)) == "2026-11-23 12:55"
    assert fmt_cell(date(2025, 3, 31)) == "2025-03-31"


def test_humanise_codes() -> None:
    assert humanise("care_home") == "Care home"
    assert humanise("75_plus") == "75 and over"
    assert humanise("dementia_frailty") == "Dementia and frailty"
    assert humanise("complete_pct") == "Complete (%)"
    assert humanise("hiv") == "HIV"


@pytest.mark.parametrize(("count", "expected"), [(0, "0 rows"), (1, "1 row"), (2, "2 rows"),
                                                  (1_500, "1500 rows")])
def test_plural_fits_the_noun_to_the_count(count: int, expected: str) -> None:
    assert f"{count} {plural(count, 'row')}" == expected


def test_plural_takes_an_irregular_plural_or_a_verb() -> None:
    assert plural(1, "entry", "entries") == "entry"
    assert plural(3, "entry", "entries") == "entries"
    assert plural(1, "death has", "deaths have") == "death has"
    assert plural(2, "death has", "deaths have") == "deaths have"
