"""`[disclosure] rounding = 5`: no exact count comes back from a published value or
interval (audit 5, finding 04: 26.436781...% beside a rounded 85 was 23 of 87)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from eolneeds import methods
from eolneeds.bundle import INDICATOR_COLUMNS, INDICATOR_SCHEMA
from eolneeds.config import DisclosureConfig
from eolneeds.disclosure import apply_disclosure


def _row(indicator: str, method: str, unit: str, num: float, den: float | None,
         value: float, low: float | None, high: float | None, **extra) -> dict:
    return {"indicator_id": indicator, "indicator_name": indicator, "area_type": "place",
            "area_code": "P1", "area_name": "Alpha", "period": "2024-25",
            "period_start": date(2024, 4, 1), "period_end": date(2025, 3, 31),
            "breakdown": "all", "breakdown_value": "all", "numerator": num,
            "denominator": den, "value": value, "lower_ci_95": low, "upper_ci_95": high,
            "lower_ci_99_8": None, "upper_ci_99_8": None, "unit": unit, "method": method,
            "comparison": "similar", "suppressed": False, "note": None, **extra}


def _published(rows: list[dict]) -> dict[str, dict]:
    out = apply_disclosure(pl.DataFrame(rows, schema=INDICATOR_SCHEMA).select(INDICATOR_COLUMNS),
                           DisclosureConfig(min_count=8, rounding=5))
    return {r["indicator_id"]: r for r in out.iter_rows(named=True)}


def _candidates(published_den: float, value: float) -> list[tuple[int, int]]:
    """Every (numerator, denominator) a reader would try: denominators that round to the
    published one, numerators whose percentage is the published value to 1e-9."""
    return [(x, n) for n in range(int(published_den) - 2, int(published_den) + 3)
            for x in range(n + 1) if abs(100 * x / n - value) < 1e-9]


def test_a_rounded_percentage_gives_back_only_its_rounded_counts():
    p, lo, hi = (float(v) for v in methods.wilson(23, 87))
    row = _published([_row("pod_home_pct", "P", "%", 23, 87, 100 * p, 100 * lo, 100 * hi)])[
        "pod_home_pct"]
    assert (row["numerator"], row["denominator"]) == (25.0, 85.0)
    assert (23, 87) not in _candidates(85, row["value"])  # the old code's value: 23 of 87
    value, low, high = (100 * float(v) for v in methods.wilson(25, 85))
    assert (row["value"], row["lower_ci_95"], row["upper_ci_95"]) == (value, low, high)


def test_a_rounded_rate_and_a_dsr_interval_follow_the_rounded_count():
    rate, rlo, rhi = (float(v) for v in methods.crude_rate(23, 50_000))
    # A DSR of 23 deaths: Dobson's interval is DSR + sqrt(var/O) (O_limit - O).
    dsr, k = 150.0, 30.0 / np.sqrt(23)
    o_lo, o_hi = (float(v) for v in methods.poisson_limits(23))
    rows = _published([
        _row("crude_death_rate", "R", "per 100,000", 23, 50_000, rate, rlo, rhi),
        _row("dsr_all_cause", "DSR", "per 100,000", 23, None, dsr, dsr + k * (o_lo - 23),
             dsr + k * (o_hi - 23)),
    ])
    crude, standard = rows["crude_death_rate"], rows["dsr_all_cause"]
    assert crude["numerator"] == 25.0
    assert abs(crude["value"] - 25 / 50_000 * 100_000) < 1e-9  # not 46.0, which is 23
    # The interval's shape is the rounded count's: (U - DSR) / (DSR - L) = (O_U - O) / (O - O_L).
    r_lo, r_hi = (float(v) for v in methods.poisson_limits(25))
    ratio = (standard["upper_ci_95"] - dsr) / (dsr - standard["lower_ci_95"])
    assert abs(ratio - (r_hi - 25) / (25 - r_lo)) < 1e-9
    assert abs(ratio - (o_hi - 23) / (23 - o_lo)) > 1e-3


def test_a_rounded_mean_does_not_publish_the_total_its_people_come_back_from():
    row = _published([_row("bed_days_last90_mean", "M", "days", 230.0, 23, 10.0, 8.0, 12.0)])[
        "bed_days_last90_mean"]
    assert row["denominator"] == 25.0 and row["numerator"] is None  # 230 / 10.0 = 23
