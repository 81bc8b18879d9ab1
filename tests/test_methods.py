"""Known-answer tests for eolneeds.methods.

Expected values are worked out independently of the code under test: by hand, or from
the published formula re-evaluated here with the standard library (statistics.NormalDist,
math) rather than numpy/scipy, and pinned to the precision PHEindicatormethods prints.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import polars as pl
import pytest

from eolneeds import methods
from eolneeds.methods import (
    METHOD_DESCRIPTIONS,
    compare,
    crude_rate,
    dsr_frame,
    esp2013,
    expected_frame,
    funnel_limits_proportion,
    funnel_limits_rate,
    funnel_limits_ratio,
    indirectly_standardised_ratio,
    mean_ci,
    poisson_limits,
    sii_frame,
    sii_rii,
    variation_icon,
    wilson,
    xmr,
)

Z95 = NormalDist().inv_cdf(0.975)  # 1.959964
Z998 = NormalDist().inv_cdf(0.999)  # 3.090232
ESP_WEIGHTS = [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000,
               5500, 5000, 4000, 2500, 1500, 1000]
BANDS = [f"{lo}-{lo + 4}" for lo in range(0, 90, 5)] + ["90+"]


def byar_by_hand(o: float, z: float) -> tuple[float, float]:
    """Byar's formula (Breslow & Day 1987), written out independently."""
    lower = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1))) ** 3
    return lower, upper


def poisson_cdf(k: int, mean: float) -> float:
    return sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k + 1))


# ---------------------------------------------------------------------------- Wilson


def test_wilson_known_answer_812_of_2910() -> None:
    # 812 / 2910 = 27.90%; Wilson 95%: (2x + z² ∓ z√(z² + 4x(1 − p))) / 2(n + z²)
    # = 26.30% to 29.56% (the brief's published figure).
    p, lower, upper = wilson(812, 2910)
    assert round(float(p) * 100, 2) == 27.90
    assert round(float(lower) * 100, 2) == 26.30
    assert round(float(upper) * 100, 2) == 29.56
    assert float(lower) == pytest.approx(0.26304093317319316, rel=1e-12)
    assert float(upper) == pytest.approx(0.29561727861555764, rel=1e-12)


def test_wilson_998_is_wider_with_hand_values() -> None:
    # Same formula with z = Φ⁻¹(0.999) = 3.090232: 25.41% to 30.54%.
    _, lower, upper = wilson(812, 2910, confidence=0.998)
    assert float(lower) == pytest.approx(0.2540983802147081, rel=1e-12)
    assert float(upper) == pytest.approx(0.30542270881898587, rel=1e-12)
    # Percent-style confidence is accepted, as in the R package.
    assert wilson(812, 2910, confidence=99.8)[1] == pytest.approx(lower)


def test_wilson_edges() -> None:
    p, lower, upper = wilson([0, 7, 0], [7, 7, 0])
    # x = 0: lower exactly 0, upper = z² / (n + z²) = 3.8415 / 10.8415 = 0.35434.
    assert p[0] == 0 and lower[0] == 0
    assert upper[0] == pytest.approx(Z95**2 / (7 + Z95**2), rel=1e-12)
    # x = n: upper exactly 1, lower = n / (n + z²) by symmetry.
    assert p[1] == 1 and upper[1] == 1
    assert lower[1] == pytest.approx(7 / (7 + Z95**2), rel=1e-12)
    # n = 0: undefined, not an error.
    assert np.isnan(p[2]) and np.isnan(lower[2]) and np.isnan(upper[2])


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="exceed"):
        wilson(5, 4)
    with pytest.raises(ValueError, match="negative"):
        wilson(-1, 4)


# ---------------------------------------------------------------------------- Poisson


def test_poisson_limits_byar_from_ten_events() -> None:
    # 65 events (the PHEindicatormethods byars_lower(65) example): Byar's formula
    # gives 50.1632 to 82.8491 at 95% and 42.8803 to 94.0003 at 99.8%.
    lower, upper = poisson_limits([65, 10, 1045])
    for o, lo, hi in zip([65, 10, 1045], lower, upper, strict=True):
        exp_lo, exp_hi = byar_by_hand(o, Z95)
        assert lo == pytest.approx(exp_lo, rel=1e-12)
        assert hi == pytest.approx(exp_hi, rel=1e-12)
    assert round(float(lower[0]), 4) == 50.1632 and round(float(upper[0]), 4) == 82.8491
    lower, upper = poisson_limits(65, 0.998)
    assert round(float(lower), 4) == 42.8803 and round(float(upper), 4) == 94.0003


def test_poisson_limits_exact_below_ten_events() -> None:
    # 0 events: lower 0; upper solves P(X = 0 | μ) = e^−μ = 0.025, μ = −ln 0.025 = 3.6889.
    lower, upper = poisson_limits(0)
    assert float(lower) == 0
    assert float(upper) == pytest.approx(-math.log(0.025), rel=1e-9)
    # 1 event: lower solves P(X ≥ 1 | μ) = 1 − e^−μ = 0.025, μ = −ln 0.975 = 0.025318.
    assert float(poisson_limits(1)[0]) == pytest.approx(-math.log(0.975), rel=1e-9)
    # 9 events: the exact limits are where the Poisson tails equal 2.5%.
    lower, upper = poisson_limits(9)
    assert 1 - poisson_cdf(8, float(lower)) == pytest.approx(0.025, abs=1e-10)
    assert poisson_cdf(9, float(upper)) == pytest.approx(0.025, abs=1e-10)
    # ... and they differ from Byar's, proving which method ran.
    assert float(lower) != pytest.approx(byar_by_hand(9, Z95)[0], rel=1e-4)


def test_crude_rate_per_100000() -> None:
    # 65 deaths in 100,000 people: 65.0 (50.2 to 82.8) per 100,000.
    value, lower, upper = crude_rate(65, 100_000)
    assert float(value) == 65.0
    assert float(lower) == pytest.approx(50.163187710459454, rel=1e-12)
    assert float(upper) == pytest.approx(82.84913854593984, rel=1e-12)
    # Per 1,000, and a zero denominator gives NaN rather than an error.
    value, lower, upper = crude_rate([65, 3], [1000, 0], multiplier=1000)
    assert value[0] == 65.0 and np.isnan(value[1]) and np.isnan(upper[1])


def test_mean_ci_t_based() -> None:
    # n = 10, mean 5, sd 2: t(0.975, 9) = 2.262157 (statistical tables);
    # 5 ± 2.262157 × 2 / √10 = 5 ± 1.430714 -> 3.5693 to 6.4307.
    lower, upper = mean_ci(10, 5.0, 2.0)
    assert float(lower) == pytest.approx(5 - 2.2621571627 * 2 / math.sqrt(10), rel=1e-9)
    assert round(float(lower), 4) == 3.5693 and round(float(upper), 4) == 6.4307
    # One value has no spread to estimate: NaN.
    lower, upper = mean_ci([1], [4.0], [0.0])
    assert np.isnan(lower[0]) and np.isnan(upper[0])


# ---------------------------------------------------------------------------- ISR


def test_indirectly_standardised_ratio() -> None:
    # 65 observed, 50 expected: 130.0, limits Byar(65) / 50 × 100 = 100.33 to 165.70.
    value, lower, upper = indirectly_standardised_ratio(65, 50.0)
    exp_lo, exp_hi = byar_by_hand(65, Z95)
    assert float(value) == 130.0
    assert float(lower) == pytest.approx(exp_lo / 50 * 100, rel=1e-12)
    assert float(upper) == pytest.approx(exp_hi / 50 * 100, rel=1e-12)
    assert round(float(lower), 2) == 100.33 and round(float(upper), 2) == 165.70


def test_expected_frame_from_reference_rates() -> None:
    # Reference rates: 1% in band 0-4, 10% in band 90+. Area A has 200 and 50 people:
    # expected = 200 × 0.01 + 50 × 0.10 = 7; observed 3 + 4 = 7.
    frame = pl.DataFrame({"area": ["A", "A", "B"], "age_band": ["0-4", "90+", "90+"],
                          "count": [3, 4, 1], "population": [200, 50, 30]})
    reference = pl.DataFrame({"age_band": ["0-4", "90+"], "reference_count": [10, 100],
                              "reference_population": [1000, 1000]})
    result = expected_frame(frame, reference, ["area"])
    assert result.to_dicts() == [
        {"area": "A", "observed": 7.0, "expected": pytest.approx(7.0)},
        {"area": "B", "observed": 1.0, "expected": pytest.approx(3.0)},
    ]


# ---------------------------------------------------------------------------- DSR


def hand_dsr_frame() -> pl.DataFrame:
    # Group A: 1,000 people in every band; events only from 45-49 upwards.
    counts = [0] * 9 + [1, 2, 3, 4, 5, 6, 8, 10, 12, 15]
    return pl.DataFrame({"area": ["A"] * 19, "age_band": BANDS, "count": counts,
                         "population": [1000] * 19})


def test_esp2013_reference_table() -> None:
    assert [band for band, _ in esp2013()] == BANDS
    assert [weight for _, weight in esp2013()] == ESP_WEIGHTS


def test_dsr_known_answer_dobson() -> None:
    # DSR = Σ wᵢ Oᵢ / nᵢ / Σ w × 100,000. With nᵢ = 1000 and Σ w = 100,000:
    # Σ wᵢ Oᵢ = 7000×1 + 7000×2 + 6500×3 + 6000×4 + 5500×5 + 5000×6 + 4000×8
    #          + 2500×10 + 1500×12 + 1000×15 = 212,000 -> DSR = 212,000 / 1000 = 212.0.
    # Dobson: DSR + √(var/O) × (O_limit − O) × 100,000, var = Σ Oᵢ (wᵢ/nᵢ)² / (Σ w)²,
    # O = 66 with Byar's limits -> 155.21 to 280.23 (95%), 127.29 to 322.83 (99.8%).
    counts = [0] * 9 + [1, 2, 3, 4, 5, 6, 8, 10, 12, 15]
    o = sum(counts)
    variance = sum(c * (w / 1000) ** 2 for c, w in zip(counts, ESP_WEIGHTS, strict=True)) / 1e10
    result = dsr_frame(hand_dsr_frame(), ["area"]).row(0, named=True)
    assert result["numerator"] == 66 and result["denominator"] == 19_000
    assert result["value"] == pytest.approx(212.0, rel=1e-12)
    for suffix, z, printed in (("95", Z95, (155.21, 280.23)), ("99_8", Z998, (127.29, 322.83))):
        lo, hi = byar_by_hand(o, z)
        expected_lo = 212.0 + math.sqrt(variance / o) * (lo - o) * 1e5
        expected_hi = 212.0 + math.sqrt(variance / o) * (hi - o) * 1e5
        assert result[f"lower_ci_{suffix}"] == pytest.approx(expected_lo, rel=1e-12)
        assert result[f"upper_ci_{suffix}"] == pytest.approx(expected_hi, rel=1e-12)
        assert (round(result[f"lower_ci_{suffix}"], 2), round(result[f"upper_ci_{suffix}"], 2)) \
            == printed
    assert result["reliable"] is True


def test_dsr_missing_band_is_zero_filled() -> None:
    # Group B lacks its 90+ row; group C has an explicit zero row. Same rate, and not
    # the rate you get by dropping 90+'s weight from Σ w (which would be 250 / 0.99).
    rows = {"age_band": ["80-84", "85-89"], "count": [10, 15], "population": [1000, 1000]}
    missing = pl.DataFrame({"area": ["B", "B"], **rows})
    explicit = pl.DataFrame({"area": ["C"] * 3, "age_band": [*rows["age_band"], "90+"],
                             "count": [10, 15, 0], "population": [1000, 1000, 0]})
    result = dsr_frame(pl.concat([missing, explicit]), ["area"])
    b, c = result.row(0, named=True), result.row(1, named=True)
    # 2500 × 10/1000 + 1500 × 15/1000 = 47.5 per 100,000 people of standard population.
    assert b["value"] == pytest.approx(47.5, rel=1e-12)
    for column in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8"):
        assert b[column] == pytest.approx(c[column], rel=1e-12)


def test_dsr_zero_population_band() -> None:
    base = hand_dsr_frame()
    # Band 0-4 with nobody and no deaths contributes 0: the rate is unchanged.
    no_people = base.with_columns(
        pl.when(pl.col("age_band") == "0-4").then(0).otherwise(pl.col("population"))
        .alias("population"))
    assert dsr_frame(no_people, ["area"])["value"][0] == pytest.approx(212.0)
    # Deaths with no population: undefined, NaN with the band counted for the caller.
    impossible = no_people.with_columns(
        pl.when(pl.col("age_band") == "0-4").then(2).otherwise(pl.col("count")).alias("count"))
    row = dsr_frame(impossible, ["area"]).row(0, named=True)
    assert math.isnan(row["value"]) and math.isnan(row["lower_ci_95"])
    assert row["zero_population_bands_with_events"] == 1


def test_dsr_below_ten_events_computed_and_flagged() -> None:
    # 4 deaths, all at 90+ among 1000 people: DSR = 1000 × 4 / 1000 = 4.0. Still
    # computed (Dobson with exact Poisson limits for O = 4), flagged unreliable.
    frame = pl.DataFrame({"area": ["D"], "age_band": ["90+"], "count": [4],
                          "population": [1000]})
    row = dsr_frame(frame, ["area"]).row(0, named=True)
    assert row["value"] == pytest.approx(4.0)
    assert row["reliable"] is False
    # With a single band, √(var/O) × 100,000 = w/n = 1, so the limits are the exact
    # Poisson limits of 4 themselves: lower solves P(X ≥ 4 | μ) = 0.025.
    assert 1 - poisson_cdf(3, row["lower_ci_95"]) == pytest.approx(0.025, abs=1e-10)
    assert poisson_cdf(4, row["upper_ci_95"]) == pytest.approx(0.025, abs=1e-10)


def test_dsr_zero_events_and_no_grouping() -> None:
    frame = pl.DataFrame({"age_band": ["50-54"], "count": [0], "population": [500]})
    row = dsr_frame(frame, []).row(0, named=True)
    assert row["value"] == 0.0 and math.isnan(row["upper_ci_95"]) and row["reliable"] is False
    assert "_all" not in dsr_frame(frame, []).columns


def test_dsr_rejects_unknown_band() -> None:
    frame = pl.DataFrame({"area": ["A"], "age_band": ["85+"], "count": [1], "population": [9]})
    with pytest.raises(ValueError, match="85\\+"):
        dsr_frame(frame, ["area"])


def test_dsr_vectorised_over_many_groups() -> None:
    # 10,000 groups in one call; every group's answer equals the one-group computation.
    rng = np.random.default_rng(7)
    groups = 10_000
    frame = pl.DataFrame({
        "g": np.repeat(np.arange(groups), 19), "age_band": BANDS * groups,
        "count": rng.poisson(5, groups * 19), "population": rng.integers(100, 900, groups * 19),
    })
    result = dsr_frame(frame, ["g"])
    assert result.height == groups and result["g"].to_list() == list(range(groups))
    one = dsr_frame(frame.filter(pl.col("g") == 1234), ["g"])
    assert result.row(1234) == one.row(0)


# ---------------------------------------------------------------------------- SII / RII


def test_sii_exact_linear_gradient_unequal_populations() -> None:
    # Populations 10, 20, 30, 20, 20: shares .1 .2 .3 .2 .2, cumulative .1 .3 .6 .8 1,
    # midpoints b = .05 .2 .45 .7 .9. Values on the line y = 10 + 20b fit exactly:
    # SII = 20 (least minus most deprived), RII = y(1) / y(0) = 30 / 10 = 3.
    b = np.array([0.05, 0.2, 0.45, 0.7, 0.9])
    y = 10 + 20 * b
    result = sii_rii([1, 2, 3, 4, 5], y, [10, 20, 30, 20, 20], y - 1, y + 1,
                     value_type="other", reps=2000)
    assert result.sii == pytest.approx(20.0, rel=1e-9)
    assert result.rii == pytest.approx(3.0, rel=1e-9)


def test_sii_known_gradient_sign_and_rii_by_hand() -> None:
    # Equal quintile populations: b = .1 .3 .5 .7 .9, ordinary least squares.
    # Values 90 80 80 60 50 (most deprived highest): mean b .5, mean y 72,
    # Σ(b − .5)(y − 72) = −7.2 − 1.6 + 0 − 2.4 − 8.8 = −20, Σ(b − .5)² = 0.4,
    # slope = −50 -> SII = −50 (negative: higher in deprived areas);
    # intercept = 72 + 50 × .5 = 97 -> RII = (97 − 50) / 97 = 0.484536.
    values = np.array([90, 80, 80, 60, 50.0])
    result = sii_rii([1, 2, 3, 4, 5], values, [20] * 5, values - 5, values + 5,
                     value_type="other")
    assert result.sii == pytest.approx(-50.0, rel=1e-9)
    assert result.rii == pytest.approx(47 / 97, rel=1e-9)
    assert result.sii_lower < result.sii < result.sii_upper
    assert result.rii_lower < result.rii < result.rii_upper
    # For 'other' values the simulated SII is exactly normal. With equal shares the fit
    # is ordinary least squares, whose slope weights yᵢ by (bᵢ − .5) / Σ(b − .5)², so its
    # sd is se × √(1 / Σ(b − .5)²) = se × √(1 / 0.4), with se = 10 / (2 × 1.96) from the
    # ±5 intervals: limits −50 ∓ 1.96 × 4.034 = −57.91 and −42.09 (to simulation error).
    se = 10 / (2 * Z95)
    sd = se * math.sqrt(1 / 0.4)
    assert result.sii_lower == pytest.approx(-50 - Z95 * sd, rel=0.02)
    assert result.sii_upper == pytest.approx(-50 + Z95 * sd, rel=0.02)


def test_sii_quantiles_as_text_are_ordered_numerically() -> None:
    # '1'..'10' given shuffled as text: text order would put '10' second.
    rates = np.linspace(100, 50, 10)  # 1 = most deprived has the highest rate
    order = [3, 9, 0, 7, 1, 5, 2, 8, 4, 6]
    as_text = sii_rii([str(i + 1) for i in order], rates[order], np.full(10, 100.0)[order],
                      (rates * 0.9)[order], (rates * 1.1)[order], value_type="rate", reps=5000)
    as_numbers = sii_rii(list(range(1, 11)), rates, np.full(10, 100.0), rates * 0.9,
                         rates * 1.1, value_type="rate", reps=5000)
    assert as_text == as_numbers
    # Equal deciles, b = .05 .. .95, slope −50 / 0.9 = −55.56 per unit b.
    assert as_numbers.sii == pytest.approx(-50 / 0.9, rel=1e-9)


def test_sii_same_seed_same_output_and_seed_matters() -> None:
    args = ([1, 2, 3, 4, 5], [0.6, 0.55, 0.5, 0.45, 0.4], [100, 120, 110, 90, 80],
            [0.5, 0.46, 0.41, 0.35, 0.29], [0.69, 0.63, 0.59, 0.55, 0.51])
    first = sii_rii(*args, value_type="proportion", reps=20_000)
    again = sii_rii(*args, value_type="proportion", reps=20_000)
    other = sii_rii(*args, value_type="proportion", reps=20_000, seed=1)
    assert first == again
    assert first.sii == other.sii and first.sii_lower != other.sii_lower
    # Percentages give the same SII, in percentage points.
    scaled = sii_rii(args[0], np.array(args[1]) * 100, args[2], np.array(args[3]) * 100,
                     np.array(args[4]) * 100, value_type="proportion", value_scale=100,
                     reps=20_000)
    assert scaled.sii == pytest.approx(first.sii * 100, rel=1e-9)
    assert scaled.sii_lower == pytest.approx(first.sii_lower * 100, rel=1e-9)


def test_sii_quantile_with_no_deaths_is_not_calculated() -> None:
    # Quintile 3 has no deaths, so its proportion has no population: as phe_sii, no SII.
    result = sii_rii([1, 2, 3, 4, 5], [0.5, 0.4, np.nan, 0.3, 0.2], [10, 12, 0, 9, 11],
                     [0.2, 0.2, np.nan, 0.1, 0.05], [0.8, 0.7, np.nan, 0.6, 0.5],
                     value_type="proportion")
    assert math.isnan(result.sii) and math.isnan(result.rii_upper)
    assert "quantile 3" in result.note
    # A rate of 0 (no deaths, people present) cannot go on the log scale either.
    result = sii_rii([1, 2, 3, 4, 5], [10, 8, 0, 6, 5], [100] * 5, [5, 4, 0, 3, 2],
                     [15, 12, 3.7, 9, 8], value_type="rate")
    assert math.isnan(result.sii) and "quantile 3" in result.note
    # Too few quantiles.
    assert "at least 5" in sii_rii([1, 2], [1, 2], [1, 1], [0, 1], [2, 3],
                                   value_type="other").note


def test_sii_frame_per_group() -> None:
    b = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    frame = pl.DataFrame({
        "place": ["P2"] * 5 + ["P1"] * 5,
        "quantile": ["5", "4", "3", "2", "1"] + ["1", "2", "3", "4", "5"],
        "value": list((100 - 50 * b)[::-1]) + list(10 + 20 * b),
        "population": [20.0] * 10,
    }).with_columns(lower_ci_95=pl.col("value") - 2, upper_ci_95=pl.col("value") + 2)
    result = sii_frame(frame, ["place"], value_type="rate", reps=2000)
    assert result["place"].to_list() == ["P1", "P2"]
    assert result["sii"].to_list() == pytest.approx([20.0, -50.0], rel=1e-9)
    assert result["rii"].to_list() == pytest.approx([3.0, 0.5], rel=1e-9)
    assert result["note"].to_list() == ["", ""]


# ---------------------------------------------------------------------------- funnels


def test_funnel_proportion_matches_phe_sigma_adjustment() -> None:
    # PHEindicatormethods' closed form (sigma_adjustment), re-derived from the Fingertips
    # guidance, evaluated by hand here for p0 = 0.3 and n = 10, 100, 1000 at 95%.
    def sigma_adjustment(q: float, n: float, p0: float, side: str) -> float:
        z = NormalDist().inv_cdf(q)
        first = p0 * (n / z**2 + 1)
        adj = math.sqrt((-8 * p0 * (n / z**2 + 1)) ** 2 - 64 * (1 / z**2 + 1 / n) * p0
                        * (n * (p0 * (n / z**2 + 2) - 1) + z**2 * (p0 - 1)))
        last = 1 / z**2 + 1 / n
        return ((first - adj / 8) if side == "low" else (first + adj / 8)) / last / n

    for confidence, q in ((0.95, 0.975), (0.998, 0.999)):
        lower, upper = funnel_limits_proportion(0.3, [10, 100, 1000], confidence)
        for n, lo, hi in zip([10, 100, 1000], lower, upper, strict=True):
            assert lo == pytest.approx(max(0.0, sigma_adjustment(q, n, 0.3, "low")), rel=1e-9)
            assert hi == pytest.approx(sigma_adjustment(q, n, 0.3, "high"), rel=1e-9)
            # Defining property: at each limit the Wilson interval just reaches p0 (the
            # lower limit is clipped at 0 when even 0 events would be consistent with p0).
            assert float(wilson(hi * n, n, confidence)[1]) == pytest.approx(0.3, rel=1e-9)
            if lo > 0:
                assert float(wilson(lo * n, n, confidence)[2]) == pytest.approx(0.3, rel=1e-9)


def test_funnel_ratio_and_rate_are_exact_poisson() -> None:
    # PHE's poisson_funnel: for 20 observed events, the lower 95% limit sits where the
    # expected count is the exact upper limit of 20 (P(X ≤ 20 | E) = 0.025); the
    # ratio there is 20 / E. Likewise the upper limit where P(X ≥ 20 | E) = 0.025.
    e_high = 30.8883779026746  # exact U(20): P(X ≤ 20 | E) = 0.025
    assert poisson_cdf(20, e_high) == pytest.approx(0.025, abs=1e-9)
    lower, _ = funnel_limits_ratio(e_high, 0.95, multiplier=100)
    assert float(lower) == pytest.approx(20 / e_high * 100, rel=1e-7)
    e_low = 12.216519585403944  # exact L(20): P(X ≥ 20 | E) = 0.025
    assert 1 - poisson_cdf(19, e_low) == pytest.approx(0.025, abs=1e-9)
    _, upper = funnel_limits_ratio(e_low, 0.95, multiplier=1)
    assert float(upper) == pytest.approx(20 / e_low, rel=1e-7)
    # The rate funnel is the same curve: benchmark 100 per 100,000, population such that
    # the expected count is U(20).
    population = e_high / 100 * 100_000
    lower, _ = funnel_limits_rate(100.0, population, 0.95)
    assert float(lower) == pytest.approx(20 / population * 100_000, rel=1e-7)
    # Small expected counts: the lower limit is 0, not negative.
    assert float(funnel_limits_ratio(2.0)[0]) == 0.0


def test_compare() -> None:
    result = compare([10, 1, 1, 1, np.nan, 1], [12, 3, 3, 3, 3, 3], [9, 4, 2, 3, 2, np.nan])
    assert result.tolist() == ["higher", "lower", "similar", "similar", "not_compared",
                               "not_compared"]


# ---------------------------------------------------------------------------- XmR


def test_xmr_limits_by_hand() -> None:
    # 10 12 11 13 12: mean 11.6; moving ranges 2 1 2 1 -> mR̄ 1.5; limits 11.6 ± 3.99,
    # two-sigma lines 11.6 ± 2.66.
    result = xmr([10, 12, 11, 13, 12])
    assert result.mean == pytest.approx(11.6)
    assert result.mr_bar == pytest.approx(1.5)
    assert result.upper_limit == pytest.approx(15.59)
    assert result.lower_limit == pytest.approx(7.61)
    assert result.upper_two_sigma == pytest.approx(14.26)
    assert not result.special_cause.any()


QUIET = [10, 12, 10, 12, 11, 10, 12, 11, 10, 12, 11, 12]


def test_xmr_quiet_series_triggers_nothing() -> None:
    # Mean 11.083; no 7-run on one side, no 6-point trend, no point near the limits.
    result = xmr(QUIET)
    assert not result.special_cause.any()
    assert variation_icon(result, "higher_is_better") == "common_cause"


def test_xmr_point_beyond_limits() -> None:
    # Eleven quiet points then 30: mean 151 / 12 = 12.58; moving ranges sum to 15 within
    # the quiet points plus |30 − 11| = 19, so mR̄ = 34 / 11 = 3.09 and the upper limit
    # is 12.58 + 2.66 × 3.09 = 20.81 < 30, while every quiet point is inside.
    result = xmr([*QUIET[:11], 30])
    assert result.beyond_limits.tolist() == [False] * 11 + [True]
    assert result.direction[-1] == 1
    assert variation_icon(result, "higher_is_better") == "special_cause_improving"
    assert variation_icon(result, "lower_is_better") == "special_cause_concerning"
    assert variation_icon(result, "neutral") == "special_cause_neither"


def test_xmr_shift_of_seven_flags_every_point() -> None:
    # Mean = (5×4 + 6×3 + 7×4 + 8×3) / 14 = 90/14 = 6.43: the first seven points are
    # all below, the last seven all above. mR̄ = 14/13; limits 6.43 ± 2.86 and 2σ lines
    # at 4.52 and 8.34, so nothing else fires.
    series = [5, 6, 5, 6, 5, 6, 5, 7, 8, 7, 8, 7, 8, 7]
    result = xmr(series)
    assert result.shift.all()
    assert result.direction.tolist() == [-1] * 7 + [1] * 7
    assert not (result.beyond_limits | result.trend | result.two_of_three).any()


def test_xmr_six_in_a_row_is_not_a_shift_and_mean_breaks_a_run() -> None:
    # 6 below then 6 above: no shift.
    assert not xmr([5, 6, 5, 6, 5, 6, 7, 8, 7, 8, 7, 8]).shift.any()
    # Seven points from index 5, but the fourth sits exactly on the mean (84 / 14 = 6):
    # the run is broken. With an 8 there instead (mean 86 / 14 = 6.14) it is a shift.
    series = [4, 4, 4, 4, 4, 8, 8, 8, 6, 8, 8, 8, 4, 6]
    assert sum(series) / len(series) == 6
    assert not xmr(series).shift.any()
    unbroken = xmr([4, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 4, 6])
    assert unbroken.shift.tolist() == [False] * 5 + [True] * 7 + [False] * 2


def test_xmr_trend_of_six() -> None:
    # Points 3..8 rise strictly (10.0 < 10.4 < ... < 12.0): six points, five rises.
    series = [11, 10, 11, 10.0, 10.4, 10.8, 11.2, 11.6, 12.0, 10, 11, 10, 11]
    result = xmr(series)
    expected = [False] * 3 + [True] * 6 + [False] * 4
    assert result.trend.tolist() == expected
    assert (result.direction[3:9] == 1).all()
    # Five rising points are not a trend; a repeated value breaks a trend.
    assert not xmr([11, 10, 11, 10.0, 10.4, 10.8, 11.2, 11.6, 10, 11, 10, 11]).trend.any()
    assert not xmr([11, 10, 11, 10.0, 10.4, 10.8, 10.8, 11.6, 12.0, 10, 11, 10]).trend.any()
    # Falling works the same way.
    falling = xmr([10, 11, 10, 12.0, 11.6, 11.2, 10.8, 10.4, 10.0, 11, 10, 11])
    assert falling.trend[3:9].all() and (falling.direction[3:9] == -1).all()


def test_xmr_two_of_three_near_the_limit() -> None:
    # Eight 10s, eight 11s and two 13.5s: mean 195 / 18 = 10.833; moving ranges 12 × 1
    # + 3.5 + 2.5 + 2.5 + 3.5 + 1 = 25 over 17 -> mR̄ 1.4706. Upper 2σ line
    # 10.833 + (2/3)(2.66)(1.4706) = 13.441, upper limit 10.833 + 2.66 × 1.4706 = 14.745:
    # the two 13.5s (two of three consecutive points) are near the limit, not beyond it.
    series = [10, 11] * 6 + [10, 13.5, 11, 13.5, 10, 11]
    result = xmr(series)
    assert result.mean == pytest.approx(195 / 18)
    assert result.mr_bar == pytest.approx(25 / 17)
    assert result.upper_two_sigma < 13.5 < result.upper_limit
    assert result.two_of_three.tolist() == [False] * 13 + [True, False, True, False, False]
    assert not (result.beyond_limits | result.shift | result.trend).any()
    # One point near each limit does not count: the two must be on the same side.
    mixed = xmr([10, 11] * 6 + [10, 13.5, 11, 8.0, 10, 11])
    assert mixed.values[13] > mixed.upper_two_sigma and mixed.values[15] < mixed.lower_two_sigma
    assert not mixed.two_of_three.any()
    # A single near point is not a signal either.
    assert not xmr([10, 11] * 6 + [10, 13.5, 11, 10, 10, 11]).two_of_three.any()


def test_assurance_icon() -> None:
    result = xmr([10, 12, 11, 13, 12])  # limits 7.61 to 15.59
    assert methods.assurance_icon(result, 5, "higher_is_better") == "pass"
    assert methods.assurance_icon(result, 20, "higher_is_better") == "fail"
    assert methods.assurance_icon(result, 20, "lower_is_better") == "pass"
    assert methods.assurance_icon(result, 12, "lower_is_better") == "hit_and_miss"
    assert methods.assurance_icon(result, None, "lower_is_better") is None
    assert methods.assurance_icon(result, 12, "neutral") is None
    for icon in ("pass", "fail", "hit_and_miss"):
        assert methods.ASSURANCE_DESCRIPTIONS[icon]
    for icon in ("common_cause", "special_cause_improving", "special_cause_concerning",
                 "special_cause_neither"):
        assert methods.VARIATION_DESCRIPTIONS[icon]


def test_method_descriptions_cover_every_method() -> None:
    assert set(METHOD_DESCRIPTIONS) == {"P", "R", "DSR", "M", "Q", "C", "ISR", "SII", "RII",
                                        "funnel", "SPC"}
    assert all(len(text) > 40 for text in METHOD_DESCRIPTIONS.values())


def test_dsr_group_with_null_key_keeps_its_events() -> None:
    # A null grouping value (e.g. sex not known) is a group like any other.
    frame = pl.DataFrame({"sex": [None, "female"], "age_band": ["90+", "90+"],
                          "count": [12, 12], "population": [1000, 1000]})
    result = dsr_frame(frame, ["sex"])
    assert result["numerator"].to_list() == [12.0, 12.0]
    assert result["value"].to_list() == pytest.approx([12.0, 12.0])


def test_quantiles_are_scipy_stats_own_to_the_bit():
    """methods computes its quantiles with the scipy.special functions scipy.stats' ppf
    calls (to skip importing scipy.stats): the same floats over the ranges the methods
    use (probabilities 1e-12 to 1 - 1e-12; degrees of freedom from 1e-300, as the exact
    Poisson lower limit passes, to 1e9), and NaN where scipy.stats gives NaN."""
    from scipy import stats

    rng = np.random.default_rng(20261202)
    p = np.concatenate([rng.uniform(0, 1, 5000), [1e-12, 0.0005, 0.025, 0.5, 0.975,
                                                  0.9995, 1 - 1e-12]])
    df = np.concatenate([rng.uniform(1e-300, 1e-3, 1000), rng.uniform(0, 60, 3000),
                         rng.uniform(60, 1e9, 1007)])
    assert np.array_equal(methods.normal_quantile(p), stats.norm.ppf(p))
    assert np.array_equal(methods.chi2_quantile(p, df), stats.chi2.ppf(p, df))
    assert np.array_equal(methods.t_quantile(p, df), stats.t.ppf(p, df))
    for bad in (0.0, -1.0, -8.0, math.nan, math.inf):
        assert math.isnan(methods.chi2_quantile(0.5, bad))
    for bad in (0.0, -1.0, math.nan):
        assert math.isnan(methods.t_quantile(0.5, bad))
    # Printed tables: t(0.975, 10) = 2.228139; chi2(0.975, 1) = 5.023886; the exact Poisson
    # upper limit for 0 events at 95% is chi2(0.975, 2) / 2 = -ln(0.025) = 3.688879.
    assert float(methods.t_quantile(0.975, 10)) == pytest.approx(2.228139, abs=1e-6)
    assert float(methods.chi2_quantile(0.975, 1)) == pytest.approx(5.023886, abs=1e-6)
    assert float(methods.chi2_quantile(0.975, 2)) / 2 == pytest.approx(-math.log(0.025),
                                                                        rel=1e-14)


def test_the_methods_import_no_scipy_stats():
    """scipy.stats costs 1-1.5 s to import, in every assess and monthly run."""
    import subprocess
    import sys

    code = ("import sys, eolneeds.methods, eolneeds.scenarios, eolneeds.assess\n"
            "print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, encoding="utf-8")
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
