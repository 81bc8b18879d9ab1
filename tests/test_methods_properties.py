"""Property tests for eolneeds.methods: what must hold for every input, not one example."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from eolneeds.methods import (
    crude_rate,
    dsr_frame,
    esp2013,
    funnel_limits_proportion,
    mean_ci,
    poisson_limits,
    wilson,
    xmr,
)

LEVELS = st.sampled_from([0.9, 0.95, 0.99, 0.998])
TOL = 1e-9


@st.composite
def counts_and_totals(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(min_value=1, max_value=1_000_000))
    return draw(st.integers(min_value=0, max_value=n)), n


@given(counts_and_totals(), LEVELS)
def test_wilson_contains_estimate_within_unit_interval(xn: tuple[int, int], level: float) -> None:
    x, n = xn
    p, lower, upper = wilson(x, n, level)
    assert 0.0 <= lower <= p + TOL
    assert p - TOL <= upper <= 1.0


@given(counts_and_totals(), LEVELS)
def test_wilson_symmetric_under_complement(xn: tuple[int, int], level: float) -> None:
    # The interval for n − x successes is the mirror image of that for x.
    x, n = xn
    _, lower, upper = wilson(x, n, level)
    _, mirror_lower, mirror_upper = wilson(n - x, n, level)
    assert abs(float(lower) - (1 - float(mirror_upper))) < 1e-9
    assert abs(float(upper) - (1 - float(mirror_lower))) < 1e-9


@given(counts_and_totals())
def test_wilson_wider_at_998_than_95(xn: tuple[int, int]) -> None:
    x, n = xn
    _, lo95, hi95 = wilson(x, n, 0.95)
    _, lo998, hi998 = wilson(x, n, 0.998)
    assert lo998 <= lo95 and hi998 >= hi95
    assert hi998 - lo998 > hi95 - lo95


@given(st.integers(min_value=2, max_value=5000), LEVELS)
def test_wilson_monotonic_in_x(n: int, level: float) -> None:
    _, lower, upper = wilson(np.arange(n + 1), n, level)
    assert np.all(np.diff(lower) > 0)
    assert np.all(np.diff(upper) > 0)


@given(st.integers(min_value=0, max_value=100_000), LEVELS)
def test_poisson_limits_contain_count_and_are_non_negative(count: int, level: float) -> None:
    lower, upper = poisson_limits(count, level)
    assert 0.0 <= lower <= count <= upper


@given(st.integers(min_value=0, max_value=50_000))
def test_poisson_limits_wider_at_998(count: int) -> None:
    lo95, hi95 = poisson_limits(count, 0.95)
    lo998, hi998 = poisson_limits(count, 0.998)
    assert lo998 <= lo95 and hi998 > hi95


def test_poisson_limits_monotonic_in_count_across_the_method_switch() -> None:
    counts = np.arange(0, 200)
    for level in (0.95, 0.998):
        lower, upper = poisson_limits(counts, level)
        assert np.all(np.diff(lower) > 0) and np.all(np.diff(upper) > 0)


@given(st.integers(min_value=0, max_value=10_000), st.floats(min_value=1, max_value=1e7), LEVELS)
def test_crude_rate_interval_contains_rate(count: int, population: float, level: float) -> None:
    value, lower, upper = crude_rate(count, population, level)
    assert 0.0 <= lower <= value * (1 + TOL) and value <= upper * (1 + TOL)


@given(st.integers(min_value=2, max_value=10_000), st.floats(-1e6, 1e6), st.floats(0, 1e4))
def test_mean_interval_symmetric_and_contains_mean(n: int, mean: float, sd: float) -> None:
    lower, upper = mean_ci(n, mean, sd)
    assert lower <= mean <= upper
    assert abs((mean - lower) - (upper - mean)) <= 1e-9 * max(1.0, abs(upper - lower))


band_rows = st.lists(
    st.tuples(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=50_000)),
    min_size=19, max_size=19,
)


@settings(max_examples=50, deadline=None)
@given(band_rows)
def test_dsr_interval_contains_rate_and_is_non_negative(rows: list[tuple[int, int]]) -> None:
    frame = pl.DataFrame({
        "area": ["A"] * 19,
        "age_band": [band for band, _ in esp2013()],
        "count": [count for count, _ in rows],
        "population": [population for _, population in rows],
    })
    row = dsr_frame(frame, ["area"]).row(0, named=True)
    if row["numerator"] == 0:
        assert row["value"] == 0
        return
    assert row["lower_ci_99_8"] <= row["lower_ci_95"] <= row["value"]
    assert row["value"] <= row["upper_ci_95"] <= row["upper_ci_99_8"]
    assert row["lower_ci_99_8"] >= 0
    assert row["reliable"] == (row["numerator"] >= 10)


@given(st.floats(min_value=0.01, max_value=0.99), st.integers(min_value=1, max_value=100_000))
def test_funnel_proportion_brackets_benchmark(p0: float, n: int) -> None:
    lo95, hi95 = funnel_limits_proportion(p0, n, 0.95)
    lo998, hi998 = funnel_limits_proportion(p0, n, 0.998)
    assert 0.0 <= lo998 <= lo95 <= p0 <= hi95 <= hi998 <= 1.0


@given(st.lists(st.floats(min_value=-1e4, max_value=1e4), min_size=2, max_size=60))
def test_xmr_limits_ordered_and_flags_consistent(values: list[float]) -> None:
    result = xmr(values)
    assert result.lower_limit <= result.lower_two_sigma <= result.mean
    assert result.mean <= result.upper_two_sigma <= result.upper_limit
    # A point flagged beyond the limits is really outside them.
    outside = (result.values > result.upper_limit) | (result.values < result.lower_limit)
    assert np.array_equal(result.beyond_limits, outside)
    # Every signalled point has a direction and every unsignalled one has none.
    assert np.array_equal(result.special_cause, result.direction != 0)
