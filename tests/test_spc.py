"""Place-level SPC (eolneeds.spc): the aggregation rule, limits within range, the latest
period, and no chart drawn through suppressed points."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from eolneeds import spc
from eolneeds.assess import last_complete_month
from eolneeds.catalogue import load_catalogue
from eolneeds.db import connect

SPC_IDS = [ind.id for ind in load_catalogue() if ind.spc]


def test_last_complete_month() -> None:
    assert last_complete_month(date(2026, 3, 31)) == "2026-03"
    assert last_complete_month(date(2026, 3, 15)) == "2026-02"
    assert last_complete_month(date(2026, 1, 1)) == "2025-12"


def test_quarter_labels_follow_the_financial_year() -> None:
    assert spc.quarter_label(2025, 4) == "2025-26 Q1"
    assert spc.quarter_label(2025, 12) == "2025-26 Q3"
    assert spc.quarter_label(2026, 2) == "2025-26 Q4"


def test_aggregation_rule() -> None:
    big = [(30.0, 60.0)] * 12
    small_month = [(30.0, 60.0)] * 11 + [(5.0, 60.0)]
    quarters = [(90.0, 180.0)] * 8
    assert spc.choose_aggregation(big, quarters, 8) == "month"
    assert spc.choose_aggregation(small_month, quarters, 8) == "quarter"
    assert spc.choose_aggregation(small_month, [(7.0, 30.0)] * 8, 8) is None
    assert spc.choose_aggregation(small_month, [], 8) is None
    assert spc.choose_aggregation(small_month, quarters, 0) == "month"  # control off


def test_percentage_limits_stay_within_0_and_100() -> None:
    from eolneeds import methods

    values = [99.0, 100.0, 95.0, 100.0, 98.0, 100.0, 93.0, 100.0, 99.0, 97.0, 100.0, 96.0]
    raw = methods.xmr(values)
    assert raw.upper_limit > 100  # the plain XmR limit goes past 100%
    limited = spc.bounded(raw, "%")
    assert 0 <= limited.lower_limit <= limited.upper_limit <= 100
    counts = spc.bounded(methods.xmr([1.0, 9.0, 0.0, 8.0, 1.0, 9.0, 0.0, 8.0]), "count")
    assert counts.lower_limit >= 0


@pytest.fixture(scope="module")
def table(assessed_sample) -> pl.DataFrame:
    return assessed_sample.indicators


def test_small_count_place_gets_a_quarterly_chart_with_the_right_latest_period(
        table, sample_project) -> None:
    con = connect(sample_project.database_path)
    try:
        data_max = con.execute("SELECT max(date_of_death) FROM deaths").fetchall()[0][0]
    finally:
        con.close()
    last = last_complete_month(data_max)
    last_end = (date(int(last[:4]), int(last[5:]), 28) + timedelta(days=4)).replace(day=1) \
        - timedelta(days=1)
    places = table.filter(pl.col("area_type") == "place")["area_code"].unique().to_list()
    quarterly = []
    for ind in SPC_IDS:
        for place in places:
            series = spc.spc_series(table, ind, place)
            if series.aggregation == "quarter" and series.result is not None:
                quarterly.append((ind, place, series))
    assert quarterly, "the 3,000-death sample's Places should need quarterly charts"
    for ind, place, series in quarterly:
        res = series.result
        if table.filter(pl.col("indicator_id") == ind)["unit"][0] == "%":
            assert 0 <= res.lower_limit <= res.upper_limit <= 100, (ind, place)
        rows = table.filter((pl.col("indicator_id") == ind) & (pl.col("area_code") == place)
                            & (pl.col("period") == series.labels[-1]))
        end = rows["period_end"].item()
        # The latest quarter is complete and the next one would not be.
        assert end <= last_end < end + timedelta(days=92), (ind, place, end, last_end)
    # The ICB's monthly series ends at the last complete month of data.
    icb = table.filter(pl.col("area_type") == "icb")["area_code"][0]
    icb_series = spc.spc_series(table, "deaths", icb)
    assert icb_series.aggregation == "month" and icb_series.labels[-1] == last


def test_no_chart_is_built_from_suppressed_points(table) -> None:
    areas = table["area_code"].unique().to_list()
    charted = 0
    for ind in SPC_IDS:
        for area in areas:
            series = spc.spc_series(table, ind, area)
            rows = table.filter((pl.col("indicator_id") == ind) & (pl.col("area_code") == area)
                                & spc.sub_period())
            kinds = {"quarter" if " Q" in p else "month" for p in rows["period"].to_list()}
            assert len(kinds) <= 1, (ind, area)  # months or quarters, never both
            if series.result is None:
                assert series.reason.startswith("no chart")
                continue
            charted += 1
            points = rows.filter(pl.col("period").is_in(series.labels))
            assert points.height == len(series.labels)
            assert not points["suppressed"].any()
            assert np.allclose(points.sort("period_start")["value"].to_numpy(),
                               series.values)
    assert charted
