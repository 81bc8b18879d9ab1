"""Disclosure control across publications: a reader holds last month's publication too
(audit 5, findings 01-02: two consecutive `run --month` publications differenced gave
back 291 counts of 1-7 of the month in, and 570 cells of the month out)."""

from __future__ import annotations

from datetime import date

import polars as pl

from eolneeds.assess import EARLIER_PREFIX, LINKING_PREFIX, _shadow_periods
from eolneeds.bundle import INDICATOR_COLUMNS, INDICATOR_SCHEMA
from eolneeds.config import DisclosureConfig
from eolneeds.disclosure import apply_disclosure
from eolneeds.periods import Period, fy_to_date, rolling
from eolneeds.run import previous_publication, publication

FYTD_NOW = ("2026-27 to date", date(2026, 4, 1), date(2026, 10, 31))
FYTD_BEFORE = (EARLIER_PREFIX + "2026-27 to date", date(2026, 4, 1), date(2026, 9, 30))
WINDOW_NOW = ("2025-11 to 2026-10", date(2025, 11, 1), date(2026, 10, 31))
WINDOW_BEFORE = (EARLIER_PREFIX + "2025-10 to 2026-09", date(2025, 10, 1), date(2026, 9, 30))
SHARED = (LINKING_PREFIX + "2025-11 to 2026-09", date(2025, 11, 1), date(2026, 9, 30))


def _deaths(period: tuple[str, date, date], counts: dict[tuple[str, str], float]) -> list[dict]:
    label, start, end = period
    return [{"indicator_id": "deaths", "indicator_name": "Number of deaths",
             "area_type": "place", "area_code": "P1", "area_name": "Alpha", "period": label,
             "period_start": start, "period_end": end, "breakdown": b, "breakdown_value": v,
             "numerator": n, "denominator": None, "value": n, "lower_ci_95": None,
             "upper_ci_95": None, "lower_ci_99_8": None, "upper_ci_99_8": None,
             "unit": "count", "method": "C", "comparison": "not_compared",
             "suppressed": False, "note": None} for (b, v), n in counts.items()]


def _table(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=INDICATOR_SCHEMA).select(INDICATOR_COLUMNS)


def _shown(result: pl.DataFrame, period: str) -> dict[str, float]:
    return {r["breakdown_value"]: r["numerator"] for r in result.filter(
        (pl.col("period") == period) & ~pl.col("suppressed")).iter_rows(named=True)}


def test_a_year_to_date_less_last_months_gives_back_no_small_count_of_the_month():
    # Last month's year to date published 26 men and 24 women; this month 29 and 29: 3
    # men and 5 women died in October. Each figure is 8 or more on its own (the old
    # rules published them all), but the difference is the month's count.
    before = {("all", "all"): 50, ("sex", "male"): 26, ("sex", "female"): 24}
    now = {("all", "all"): 58, ("sex", "male"): 29, ("sex", "female"): 29}
    result = apply_disclosure(_table(_deaths(FYTD_BEFORE, before) + _deaths(FYTD_NOW, now)),
                              DisclosureConfig(min_count=8), earlier_periods=[FYTD_BEFORE[0]])
    # The earlier publication's counts are what readers hold: never hidden here.
    assert len(_shown(result, FYTD_BEFORE[0])) == 3
    shown = _shown(result, FYTD_NOW[0])
    names = {"all": ("all", "all"), "male": ("sex", "male"), "female": ("sex", "female")}
    for value, count in shown.items():
        assert not 0 < count - before[names[value]] < 8, (value, count)
    assert "all" in shown  # 8 deaths in the month: the total stays published


def test_the_month_that_leaves_a_rolling_window_is_protected_through_the_months_shared():
    # Last month: 12 months 60, year to date 30. This month: 12 months 65, year to date
    # 40. (60 - 30) - (65 - 40) = 5 deaths in October 2025, the month that left the
    # window. The two remainders (November to March) are the same months: one count.
    total = ("all", "all")
    rows = (_deaths(WINDOW_BEFORE, {total: 60}) + _deaths(FYTD_BEFORE, {total: 30})
            + _deaths(SHARED, {total: 55}) + _deaths(WINDOW_NOW, {total: 65})
            + _deaths(FYTD_NOW, {total: 40}))
    result = apply_disclosure(_table(rows), DisclosureConfig(min_count=8),
                              earlier_periods=[WINDOW_BEFORE[0], FYTD_BEFORE[0]],
                              linking_periods=[SHARED[0]])
    window, to_date = _shown(result, WINDOW_NOW[0]), _shown(result, FYTD_NOW[0])
    assert not (window and to_date), "both published: 60 - 30 - (65 - 40) = 5"
    assert not _shown(result, SHARED[0])  # counted to link, never published


def test_the_shared_months_of_two_windows_are_counted_and_never_an_earlier_span_again():
    now, before = rolling("2026-10", 12), rolling("2026-09", 12)
    earlier, linking = _shadow_periods([now], [before])
    assert [(p.label, p.start, p.end) for p in earlier] == [WINDOW_BEFORE]
    assert [(p.label, p.start, p.end) for p in linking] == [SHARED]
    # A period already published (same span) is not counted twice; nested ones need no
    # link (the year to date of September lies inside this window).
    earlier, linking = _shadow_periods([now], [rolling("2026-10", 12), fy_to_date("2026-09")])
    assert [p.label for p in earlier] == [FYTD_BEFORE[0]] and linking == []


def test_the_monthly_run_publishes_its_window_only_and_is_protected_against_last_month():
    assert publication("2026-10", 12) == [Period("2025-11 to 2026-10", date(2025, 11, 1),
                                                 date(2026, 10, 31), "rolling")]
    assert previous_publication("2026-01", 12) == [rolling("2025-12", 12)]
    assert previous_publication("1900-01", 12) == []
