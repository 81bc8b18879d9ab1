"""Reporting periods: financial years, rolling windows, months, projection years.

The NHS reports by financial year (1 April - 31 March, label '2024-25'); monthly runs
report a rolling window ending with the latest month ('2024-11 to 2025-10'); the SPC
charts need single months ('2025-10'); projections are calendar years ('2030').

A month counts as covered by the data when the data reach into it (the latest date of
death falls in it or later): at small-area scale the last days of a month can genuinely
have no deaths, so demanding the month's last day would drop real months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from eolneeds.errors import UsageError

KINDS = ("financial_year", "rolling", "month", "projection_year")
_MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")  # ASCII: \d is any script's digits


@dataclass(frozen=True, order=True)
class Period:
    label: str
    start: date
    end: date  # inclusive
    kind: str  # financial_year | rolling | month | projection_year

    @property
    def months(self) -> int:
        """Whole months spanned (12 for a financial year); person-years = months / 12."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @property
    def population_year(self) -> int:
        """The mid-year population estimate that matches the period: the calendar year in
        which the period's midpoint falls (2024-25 -> mid-2024, the mid-year of the
        financial year's start)."""
        midpoint = self.start + (self.end - self.start) / 2
        return midpoint.year


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


MAX_MONTHS = 120  # the longest rolling period: --months and [periods] months


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def month_label(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def parse_month(text: str, *, option: str = "--period-end") -> tuple[int, int]:
    """'2025-10' -> (2025, 10); anything else is a usage error naming the option."""
    match = _MONTH_RE.match(str(text).strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise UsageError(
            f"{option} {text!r} is not a month — give it as YYYY-MM, e.g. {option} 2025-10"
        )
    return int(match.group(1)), int(match.group(2))


def fy_start_year(d: date) -> int:
    """The calendar year in which d's financial year (April-March) starts."""
    return d.year if d.month >= 4 else d.year - 1


def fy_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def financial_year(start_year: int) -> Period:
    return Period(fy_label(start_year), date(start_year, 4, 1), date(start_year + 1, 3, 31),
                  "financial_year")


def financial_years(data_min: date, data_max: date, n: int) -> list[Period]:
    """The last n complete financial years in the data, oldest first (may be fewer, or
    none when the data cover no whole year)."""
    first_covered = date(data_min.year, data_min.month, 1)
    last_covered = _month_end(data_max.year, data_max.month)
    years: list[Period] = []
    start_year = fy_start_year(data_max)
    while len(years) < n:
        period = financial_year(start_year)
        if period.start < first_covered:
            break
        if period.end <= last_covered:
            years.append(period)
        start_year -= 1
    return sorted(years)


def rolling(end_month: str, months: int, *, option: str = "--period-end") -> Period:
    """The `months` months ending with end_month ('YYYY-MM'), label '2024-11 to 2025-10'."""
    # The bounds of [periods] months: a longer window would run back past year 1.
    if not 1 <= months <= MAX_MONTHS:
        raise UsageError(
            f"--months {months}: give a number of months from 1 to {MAX_MONTHS}, e.g. "
            "--months 12"
        )
    year, month = parse_month(end_month, option=option)
    start_year, start_month = _add_months(year, month, -(months - 1))
    start = date(start_year, start_month, 1)
    end = _month_end(year, month)
    if months == 1:
        return Period(month_label(start), start, end, "rolling")
    return Period(f"{month_label(start)} to {month_label(end)}", start, end, "rolling")


def fy_to_date(month: str, *, option: str = "--period-end") -> Period:
    """The financial year so far, up to and including `month`: label '2026-27 to date'."""
    year, mon = parse_month(month, option=option)
    start_year = fy_start_year(date(year, mon, 1))
    return Period(f"{fy_label(start_year)} to date", date(start_year, 4, 1),
                  _month_end(year, mon), "rolling")


def months(end_month: str, n: int, *, not_before: date | None = None) -> list[Period]:
    """The n single months ending with end_month, oldest first, for the SPC series;
    months starting before `not_before` (the start of the data) are left out."""
    year, month = parse_month(end_month)
    out = []
    for back in range(n - 1, -1, -1):
        y, m = _add_months(year, month, -back)
        start = date(y, m, 1)
        if not_before is not None and start < date(not_before.year, not_before.month, 1):
            continue
        out.append(Period(month_label(start), start, _month_end(y, m), "month"))
    return out


def projection_years(first: int, last: int = 2040) -> list[Period]:
    return [
        Period(str(y), date(y, 1, 1), date(y, 12, 31), "projection_year")
        for y in range(first, last + 1)
    ]


def latest_month(data_max: date) -> str:
    """The latest month the data reach into, 'YYYY-MM'."""
    return month_label(data_max)


def preceding_windows(current: Period, count: int, data_min: date) -> list[Period]:
    """current plus up to count-1 earlier, non-overlapping windows of the same length
    that the data cover, oldest first (a trend for rolling reports)."""
    out = [current]
    length = current.months
    while len(out) < count:
        y, m = _add_months(out[-1].start.year, out[-1].start.month, -1)
        if (y, m) < (data_min.year, data_min.month):
            break  # it would end before the data start (or before 1900: not a month)
        earlier = rolling(f"{y:04d}-{m:02d}", length)
        if earlier.start < date(data_min.year, data_min.month, 1):
            break
        out.append(earlier)
    return sorted(out, key=lambda p: p.start)
