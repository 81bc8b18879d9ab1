from __future__ import annotations

from datetime import date

import pytest

from eolneeds.errors import UsageError
from eolneeds.periods import (
    financial_year,
    financial_years,
    fy_to_date,
    months,
    preceding_windows,
    projection_years,
    rolling,
)


def test_financial_years_are_the_last_complete_ones_oldest_first():
    # Data 3 April 2021 .. 28 March 2025: April 2021 and March 2025 are reached, so
    # 2021-22 .. 2024-25 are covered; the last three are asked for.
    years = financial_years(date(2021, 4, 3), date(2025, 3, 28), 3)
    assert [p.label for p in years] == ["2022-23", "2023-24", "2024-25"]
    assert years[-1].start == date(2024, 4, 1) and years[-1].end == date(2025, 3, 31)
    assert all(p.kind == "financial_year" for p in years)


def test_incomplete_financial_years_are_left_out():
    # Data from May 2022 to February 2025: 2022-23 starts before the data, 2024-25 ends after.
    assert [p.label for p in financial_years(date(2022, 5, 1), date(2025, 2, 10), 5)] == [
        "2023-24"]
    assert financial_years(date(2024, 6, 1), date(2025, 1, 1), 3) == []


def test_fy_label_across_a_century():
    assert financial_year(2099).label == "2099-00"


def test_rolling_window_label_and_bounds():
    period = rolling("2025-10", 12)
    assert period.label == "2024-11 to 2025-10"
    assert (period.start, period.end) == (date(2024, 11, 1), date(2025, 10, 31))
    assert period.months == 12
    # February of a leap year ends on the 29th.
    assert rolling("2024-02", 3).end == date(2024, 2, 29)


def test_population_year_is_the_year_of_the_midpoint():
    assert financial_year(2024).population_year == 2024  # mid-2024 for 2024-25
    assert rolling("2025-10", 12).population_year == 2025  # midpoint late April 2025


def test_fy_to_date_and_months():
    assert fy_to_date("2026-10").label == "2026-27 to date"
    assert fy_to_date("2027-02").start == date(2026, 4, 1)
    series = months("2025-02", 3)
    assert [p.label for p in series] == ["2024-12", "2025-01", "2025-02"]
    assert series[0].kind == "month"
    # Months before the data start are left out.
    assert [p.label for p in months("2025-02", 3, not_before=date(2025, 1, 15))] == [
        "2025-01", "2025-02"]


def test_preceding_windows_stay_within_the_data():
    windows = preceding_windows(rolling("2025-10", 12), 3, date(2023, 3, 1))
    # 2023-11..2024-10 is covered, 2022-11..2023-10 starts before the data.
    assert [p.label for p in windows] == ["2023-11 to 2024-10", "2024-11 to 2025-10"]


def test_projection_years():
    years = projection_years(2038)
    assert [p.label for p in years] == ["2038", "2039", "2040"]
    assert years[0].kind == "projection_year"


@pytest.mark.parametrize("bad", ["2025-13", "2025/10", "Oct 2025", "25-10", ""])
def test_bad_period_end_is_a_usage_error_naming_the_option(bad):
    with pytest.raises(UsageError) as err:
        rolling(bad, 12)
    assert "--period-end" in str(err.value) and "YYYY-MM" in str(err.value)


def test_zero_months_is_a_usage_error():
    with pytest.raises(UsageError, match="--months"):
        rolling("2025-10", 0)
