"""Statistical process control series (XmR charts) that mean something at Place level.

A Place's monthly counts are small, and a chart drawn through only the months that
survived disclosure control would be a chart of the bigger months. So each series (an
indicator for one area) is published at the finest aggregation that supports it, by
this rule (applied in assess, before disclosure control, to the unsuppressed counts):

1. monthly, when every month of the series has its counts (the numerator, and the
   denominator of a percentage) of at least the disclosure threshold;
2. else by financial-year quarter (April-June = Q1), when every complete quarter passes
   the same test;
3. else the series is not published, and the report says why.

A published series is charted when it has at least SPC_MIN_POINTS months or
SPC_MIN_QUARTERS quarters (spc_series says so where it has fewer).

Quarters, not rolling 3-month windows: overlapping windows share months, so successive
points are correlated and XmR limits (which assume independent points) would be too
narrow. The series ends at the last complete month of data. Limits of a percentage are
kept within 0-100, and those of a count at or above 0.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from eolneeds import methods

#: Fewest points for a monthly chart (NHS Making Data Count asks for 15-20; with 12 the
#: limits are provisional, said in the report).
SPC_MIN_POINTS = 12
#: Fewest quarters for a quarterly chart (three years of data give 12).
SPC_MIN_QUARTERS = 8
MONTH_LABEL = re.compile(r"^\d{4}-\d{2}$")
QUARTER_LABEL = re.compile(r"^\d{4}-\d{2} Q[1-4]$")


def quarter_label(start_year: int, start_month: int) -> str:
    """The financial-year quarter a month starts: (2025, 4) -> '2025-26 Q1'."""
    fy = start_year if start_month >= 4 else start_year - 1
    q = ((start_month - 4) % 12) // 3 + 1
    return f"{fy}-{(fy + 1) % 100:02d} Q{q}"


def sub_period() -> pl.Expr:
    """True for the rows of an SPC series: a single month ('2024-12', told from the
    financial year '2024-25' by its dates) or a financial-year quarter ('2024-25 Q3')."""
    period = pl.col("period")
    month = period.str.contains(MONTH_LABEL.pattern) & (
        (pl.col("period_end") - pl.col("period_start")).dt.total_days() < 32)
    return month | period.str.contains(QUARTER_LABEL.pattern)


def choose_aggregation(counts: list[tuple[float | None, float | None]],
                       quarter_counts: list[tuple[float | None, float | None]],
                       min_count: int) -> str | None:
    """'month', 'quarter' or None for one series, from its (numerator, denominator)
    counts per month and per complete quarter (denominator None for a count)."""
    def small(pairs: list[tuple[float | None, float | None]]) -> bool:
        return any(v is not None and 0 < v < min_count for pair in pairs for v in pair)

    if not small(counts):
        return "month"
    if quarter_counts and not small(quarter_counts):
        return "quarter"
    return None


@dataclass(frozen=True)
class SpcSeries:
    aggregation: str | None  # 'month' | 'quarter' | None (no chart)
    labels: list[str]
    values: list[float]
    result: methods.XmRResult | None
    reason: str  # why there is no chart ('' when there is one)


def bounded(result: methods.XmRResult, unit: str) -> methods.XmRResult:
    """Process limits kept within what the measure can take: 0-100 for a percentage,
    0 or more for a count or a rate."""
    low = 0.0 if unit in ("%", "count", "per 100,000", "days", "per person", "£") else -np.inf
    high = 100.0 if unit == "%" else np.inf
    return dataclasses.replace(
        result,
        upper_limit=float(min(result.upper_limit, high)),
        lower_limit=float(max(result.lower_limit, low)),
        upper_two_sigma=float(min(result.upper_two_sigma, high)),
        lower_two_sigma=float(max(result.lower_two_sigma, low)),
    )


def spc_series(frame: pl.DataFrame, indicator_id: str, area_code: str) -> SpcSeries:
    """The published series of one indicator and area (monthly or quarterly rows of the
    indicator table), with its XmR chart, or the reason there is none. A series with a
    suppressed point is not charted at all: a chart must never skip hidden points."""
    rows = frame.filter(
        (pl.col("indicator_id") == indicator_id) & (pl.col("area_code") == area_code)
        & (pl.col("breakdown") == "all") & sub_period()
    ).sort("period_start")
    if rows.height == 0:
        return SpcSeries(None, [], [], None,
                         "no chart: monthly and quarterly counts are too small to publish")
    kinds = {"quarter" if QUARTER_LABEL.match(p) else "month" for p in rows["period"]}
    aggregation = "month" if kinds == {"month"} else "quarter"
    if kinds == {"month", "quarter"}:  # not produced by assess; prefer the months
        rows = rows.filter(~pl.col("period").str.contains(QUARTER_LABEL.pattern))
    labels = rows["period"].to_list()
    if bool(rows["suppressed"].any()) or rows["value"].null_count():
        return SpcSeries(aggregation, labels, [], None,
                         "no chart: a point of the series is suppressed")
    values = [float(v) for v in rows["value"].to_list()]
    needed = SPC_MIN_POINTS if aggregation == "month" else SPC_MIN_QUARTERS
    if len(values) < needed:
        return SpcSeries(aggregation, labels, values, None,
                         f"no chart: {len(values)} points, at least {needed} needed")
    unit = str(rows["unit"][0])
    return SpcSeries(aggregation, labels, values, bounded(methods.xmr(values), unit), "")
