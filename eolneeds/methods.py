"""Statistical methods: the standard English public-health ones, vectorised.

Every formula follows the R package PHEindicatormethods (the reference used by OHID
Fingertips) so that our numbers agree with it to floating-point precision:

* proportions: Wilson score interval (``wilson``);
* counts and crude rates: exact Poisson (chi-squared) limits below 10 events, Byar's
  approximation from 10 (``poisson_limits``, ``crude_rate``);
* means: Student's t interval (``mean_ci``);
* directly standardised rates on the 2013 European Standard Population with Dobson
  intervals (``dsr_frame``);
* indirectly standardised ratios (``indirectly_standardised_ratio``, ``expected_frame``);
* slope and relative index of inequality with simulated intervals (``sii_rii``,
  ``sii_frame``);
* funnel-plot control limits (``funnel_limits_*``), comparison with a benchmark
  (``compare``);
* NHS England "Making Data Count" XmR charts (``xmr``, ``variation_icon``,
  ``assurance_icon``).

Functions take numpy arrays or scalars and return float arrays (0-d for scalars); any
confidence level in (0, 1) works (or 90-100 written as a percentage, as the R package
accepts). Invalid arguments are programming errors of the caller and raise ValueError;
impossible statistics (a proportion of 0 people) come back as NaN, never as an error.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaincinv, ndtri, pdtrik, stdtrit

from eolneeds.resources import reference_file

FloatArray = NDArray[np.float64]

#: The seed of the SII simulation: fixed so that reruns give identical intervals.
SII_SEED = 20_130_101

#: The number of simulated samples PHEindicatormethods uses for SII intervals.
SII_REPS = 100_000

#: Byar's approximation is used from this many events; exact limits below it.
BYAR_THRESHOLD = 10

# ----------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------


def _level(confidence: float) -> float:
    """Confidence as a fraction; 95 and 0.95 both mean 95%, as in the R package."""
    level = float(confidence)
    if 1 < level <= 100:
        level /= 100
    if not 0 < level < 1:
        raise ValueError(f"confidence must be between 0 and 1 (or 0 and 100), got {confidence}")
    return level


# Distribution quantiles from scipy.special: the very functions scipy.stats' ppf calls
# (norm: ndtri; chi2: 2 * gammaincinv(df / 2, p); t: stdtrit), so the values are the same
# to the bit, without importing scipy.stats (1-1.5 s of every assess and run's start-up,
# against 0.3 for scipy.special). As scipy.stats does, a degrees of freedom <= 0 (or NaN)
# gives NaN; the callers pass probabilities strictly between 0 and 1.
def normal_quantile(p: ArrayLike) -> FloatArray:
    """The standard normal distribution's quantile (scipy.stats.norm.ppf)."""
    return np.asarray(ndtri(_as_float(p)), dtype=np.float64)


def chi2_quantile(p: ArrayLike, df: ArrayLike) -> FloatArray:
    """The chi-squared distribution's quantile (scipy.stats.chi2.ppf)."""
    p_arr, df_arr = np.broadcast_arrays(_as_float(p), _as_float(df))
    with np.errstate(invalid="ignore"):
        return np.where(df_arr > 0, 2 * gammaincinv(df_arr / 2, p_arr), np.nan)


def t_quantile(p: ArrayLike, df: ArrayLike) -> FloatArray:
    """Student's t distribution's quantile (scipy.stats.t.ppf)."""
    p_arr, df_arr = np.broadcast_arrays(_as_float(p), _as_float(df))
    with np.errstate(invalid="ignore"):
        return np.where(df_arr > 0, stdtrit(df_arr, p_arr), np.nan)


def _z(confidence: float) -> float:
    """Two-sided normal quantile, e.g. 1.959964 for 95%."""
    return float(normal_quantile(1 - (1 - _level(confidence)) / 2))


def _as_float(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def confidence_suffix(confidence: float) -> str:
    """Column suffix for a level: 0.95 -> '95', 0.998 -> '99_8'."""
    text = f"{_level(confidence) * 100:.10g}"
    return text.replace(".", "_")


# ----------------------------------------------------------------------------------
# Proportions, counts, rates, means
# ----------------------------------------------------------------------------------


def wilson(
    x: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Proportion x/n with its Wilson score interval, all on the 0-1 scale.

    Wilson EB (1927); Newcombe & Altman in Statistics with Confidence (2000). n = 0
    gives NaN throughout; x = 0 gives a lower limit of exactly 0, x = n an upper of 1.
    """
    x_arr, n_arr = np.broadcast_arrays(_as_float(x), _as_float(n))
    if np.any(x_arr < 0) or np.any(n_arr < 0):
        raise ValueError("wilson: counts must not be negative")
    if np.any(x_arr > n_arr):
        raise ValueError("wilson: the numerator must not exceed the denominator")
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n_arr > 0, x_arr / n_arr, np.nan)
        centre = 2 * x_arr + z**2
        spread = z * np.sqrt(z**2 + 4 * x_arr * (1 - p))
        denominator = 2 * (n_arr + z**2)
        lower = (centre - spread) / denominator
        upper = (centre + spread) / denominator
    # The formula meets 0 and 1 only up to rounding; pin the exact edges.
    lower = np.where(x_arr == 0, 0.0, np.clip(lower, 0.0, 1.0))
    upper = np.where(x_arr == n_arr, 1.0, np.clip(upper, 0.0, 1.0))
    invalid = ~(n_arr > 0)
    lower = np.where(invalid, np.nan, lower)
    upper = np.where(invalid, np.nan, upper)
    return p, lower, upper


def byars_limits(count: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Byar's approximation to the Poisson limits of an observed count (Breslow & Day 1987)."""
    o = _as_float(count)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
        upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
    return lower, upper


def exact_poisson_limits(
    count: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Exact Poisson limits from the chi-squared distribution (Armitage & Berry 2002)."""
    o = _as_float(count)
    alpha = 1 - _level(confidence)
    with np.errstate(invalid="ignore"):
        lower = np.where(o > 0, chi2_quantile(alpha / 2, 2 * np.maximum(o, 1e-300)) / 2, 0.0)
        upper = chi2_quantile(1 - alpha / 2, 2 * o + 2) / 2
    return lower, upper


def poisson_limits(count: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Confidence limits for an observed count: exact below 10 events, Byar's from 10.

    The switch at 10 is PHEindicatormethods' (phe_rate, phe_isr): Byar's method is
    within 0.2% of the exact value from 10 events at 95%.
    """
    o = _as_float(count)
    if np.any(o < 0):
        raise ValueError("poisson_limits: counts must not be negative")
    exact_lo, exact_hi = exact_poisson_limits(o, confidence)
    byar_lo, byar_hi = byars_limits(o, confidence)
    small = o < BYAR_THRESHOLD
    lower = np.where(small, exact_lo, byar_lo)
    upper = np.where(small, exact_hi, byar_hi)
    nan = np.isnan(o)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)


def _scaled_poisson(
    count: ArrayLike, base: ArrayLike, confidence: float, multiplier: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """count / base × multiplier with the count's exact/Byar's limits scaled alike: a crude
    rate (base = population) and an indirectly standardised ratio (base = expected) are
    the same calculation. A base of 0 gives NaN."""
    o, b = np.broadcast_arrays(_as_float(count), _as_float(base))
    lower, upper = poisson_limits(o, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(b > 0, multiplier / b, np.nan)
    return o * scale, lower * scale, upper * scale


def crude_rate(
    count: ArrayLike,
    denominator: ArrayLike,
    confidence: float = 0.95,
    multiplier: float = 100_000,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Rate per `multiplier` with exact/Byar's Poisson limits; denominator 0 gives NaN."""
    return _scaled_poisson(count, denominator, confidence, multiplier)


def mean_ci(
    n: ArrayLike, mean: ArrayLike, sd: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Student's t interval for a mean: mean ± t(n-1) × sd / √n. Fewer than 2 values: NaN."""
    n_arr, mean_arr, sd_arr = np.broadcast_arrays(_as_float(n), _as_float(mean), _as_float(sd))
    alpha = 1 - _level(confidence)
    ok = n_arr >= 2
    safe_n = np.where(ok, n_arr, 2.0)
    half = t_quantile(1 - alpha / 2, safe_n - 1) * sd_arr / np.sqrt(safe_n)
    lower = np.where(ok, mean_arr - half, np.nan)
    upper = np.where(ok, mean_arr + half, np.nan)
    return lower, upper


def indirectly_standardised_ratio(
    observed: ArrayLike,
    expected: ArrayLike,
    confidence: float = 0.95,
    multiplier: float = 100,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Observed / expected × multiplier (100 = SMR style), exact/Byar's limits on observed."""
    return _scaled_poisson(observed, expected, confidence, multiplier)


def expected_frame(
    frame: pl.DataFrame,
    reference: pl.DataFrame,
    by: list[str],
    *,
    count: str = "count",
    population: str = "population",
    age_band: str = "age_band",
    reference_count: str = "reference_count",
    reference_population: str = "reference_population",
) -> pl.DataFrame:
    """Observed and expected counts per group for an indirectly standardised ratio.

    Expected = Σ over bands of the group's population × the reference rate
    (reference_count / reference_population) in that band; a band missing from the
    group contributes nothing. Returns by..., observed, expected.
    """
    rates = reference.select(
        pl.col(age_band),
        (pl.col(reference_count).cast(pl.Float64) / pl.col(reference_population).cast(pl.Float64))
        .fill_nan(0.0)
        .alias("_reference_rate"),
    )
    keys = by or []
    joined = frame.join(rates, on=age_band, how="left")
    if joined.select(pl.col("_reference_rate").is_null().any()).item():
        missing = joined.filter(pl.col("_reference_rate").is_null())[age_band].unique().to_list()
        raise ValueError(f"expected_frame: no reference rate for age band(s) {sorted(missing)}")
    aggregations = [
        pl.col(count).cast(pl.Float64).fill_null(0.0).sum().alias("observed"),
        (pl.col(population).cast(pl.Float64).fill_null(0.0) * pl.col("_reference_rate"))
        .sum()
        .alias("expected"),
    ]
    if keys:
        return joined.group_by(keys).agg(aggregations).sort(keys)
    return joined.select(aggregations)


# ----------------------------------------------------------------------------------
# Directly standardised rates (ESP2013, Dobson)
# ----------------------------------------------------------------------------------


@cache
def esp2013() -> tuple[tuple[str, float], ...]:
    """The 2013 European Standard Population: 19 (age band, weight) pairs, total 100,000."""
    text = reference_file("esp2013.csv").read_text(encoding="utf-8")
    rows = [(row["age_band"], float(row["weight"])) for row in csv.DictReader(io.StringIO(text))]
    if len(rows) != 19 or sum(w for _, w in rows) != 100_000:
        raise RuntimeError("esp2013.csv is damaged: expected 19 bands totalling 100,000")
    return tuple(rows)


def dsr_frame(
    frame: pl.DataFrame,
    by: list[str],
    *,
    count: str = "count",
    population: str = "population",
    age_band: str = "age_band",
    multiplier: float = 100_000,
) -> pl.DataFrame:
    """Directly standardised rates per group on ESP2013, with Dobson 95% and 99.8% limits.

    Each group is given all 19 bands before summing: a band absent from `frame` counts
    as 0 events in a population of 0, which is exactly what an explicit zero row means
    (a silently missing band would otherwise drop its weight from the total and change
    the rate). Rows repeating a band are added together.

    A band with population 0 and no events contributes 0. A band with events but no
    population makes the rate undefined: the group's value and limits are NaN and
    `zero_population_bands_with_events` counts the offending bands, so the caller can
    say why. A group with 0 events has value 0 and NaN limits (Dobson's interval needs
    at least one event). DSRs are computed whatever the count; `reliable` is False below
    10 events, where ONS and Fingertips do not publish them: suppressing them is the
    caller's job.

    Dobson et al. (1991): limits = DSR + √(var(DSR)/O) × (O_limit − O), with O the total
    count, var(DSR) = Σ wᵢ² Oᵢ / nᵢ² / (Σ wᵢ)², and O_limit Byar's limits (exact
    Poisson limits below 10 events, where PHEindicatormethods gives no value at all).

    Returns by..., numerator, denominator, value, lower_ci_95, upper_ci_95,
    lower_ci_99_8, upper_ci_99_8, reliable, zero_population_bands_with_events; sorted by
    the `by` columns.
    """
    for column in (count, population, age_band, *by):
        if column not in frame.columns:
            raise ValueError(f"dsr_frame: column {column!r} is missing (have {frame.columns})")
    standard = esp2013()
    bands = [band for band, _ in standard]
    weights = pl.DataFrame(
        {age_band: bands, "_weight": [w for _, w in standard]},
        schema={age_band: pl.String, "_weight": pl.Float64},
    )
    total_weight = float(sum(w for _, w in standard))

    data = frame.select(
        *by,
        pl.col(age_band).cast(pl.String),
        pl.col(count).cast(pl.Float64).fill_null(0.0).alias("_count"),
        pl.col(population).cast(pl.Float64).fill_null(0.0).alias("_population"),
    )
    unknown = set(data[age_band].unique().to_list()) - set(bands)
    if unknown:
        raise ValueError(
            f"dsr_frame: age band(s) {sorted(map(str, unknown))} are not ESP2013 bands "
            f"({bands[0]} ... {bands[-1]})"
        )
    if data.height and (
        data.select((pl.col("_count") < 0).any() | (pl.col("_population") < 0).any()).item()
    ):
        raise ValueError("dsr_frame: counts and populations must not be negative")

    group_keys = list(by)
    if not group_keys:
        # One overall rate: a constant key lets the same code path run.
        data = data.with_columns(pl.lit(0).alias("_all"))
        group_keys = ["_all"]

    summed = data.group_by([*group_keys, age_band]).agg(
        pl.col("_count").sum(), pl.col("_population").sum()
    )
    groups = data.select(group_keys).unique()
    complete = (
        groups.join(weights, how="cross")
        # nulls_equal: a group whose key is null (e.g. unknown sex) keeps its own counts.
        .join(summed, on=[*group_keys, age_band], how="left", nulls_equal=True)
        .with_columns(pl.col("_count").fill_null(0.0), pl.col("_population").fill_null(0.0))
    )
    has_population = pl.col("_population") > 0
    ratio = pl.when(has_population).then(pl.col("_weight") / pl.col("_population")).otherwise(0.0)
    per_group = (
        complete.with_columns(
            (pl.col("_count") * ratio).alias("_weighted"),
            (pl.col("_count") * ratio * ratio).alias("_squared"),
            ((pl.col("_count") > 0) & ~has_population).alias("_undefined"),
        )
        .group_by(group_keys)
        .agg(
            pl.col("_count").sum().alias("numerator"),
            pl.col("_population").sum().alias("denominator"),
            pl.col("_weighted").sum().alias("_weighted"),
            pl.col("_squared").sum().alias("_squared"),
            pl.col("_undefined").sum().cast(pl.Int64).alias("zero_population_bands_with_events"),
        )
        .sort(group_keys)
    )

    events = per_group["numerator"].to_numpy()
    undefined = per_group["zero_population_bands_with_events"].to_numpy() > 0
    value = per_group["_weighted"].to_numpy() / total_weight * multiplier
    variance = per_group["_squared"].to_numpy() / total_weight**2
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.sqrt(variance / events) * multiplier
    columns: dict[str, Any] = {"value": np.where(undefined, np.nan, value)}
    for level in (0.95, 0.998):
        lo_count, hi_count = poisson_limits(events, level)
        suffix = confidence_suffix(level)
        lower = value + spread * (lo_count - events)
        upper = value + spread * (hi_count - events)
        bad = undefined | (events <= 0)
        columns[f"lower_ci_{suffix}"] = np.where(bad, np.nan, lower)
        columns[f"upper_ci_{suffix}"] = np.where(bad, np.nan, upper)

    result = per_group.select(*group_keys, "numerator", "denominator").with_columns(
        *(pl.Series(name, values, dtype=pl.Float64) for name, values in columns.items()),
        (pl.col("numerator") >= BYAR_THRESHOLD).alias("reliable"),
        per_group["zero_population_bands_with_events"],
    )
    if not by:
        result = result.drop("_all")
    return result


# ----------------------------------------------------------------------------------
# Slope and relative index of inequality
# ----------------------------------------------------------------------------------

VALUE_TYPES = ("rate", "proportion", "other")


@dataclass(frozen=True)
class SIIResult:
    """SII and RII with simulated limits; NaN (and a `note`) when not calculable.

    sii: modelled value for the least deprived end of the scale minus the most
    deprived end (quantile 1 = most deprived sits at the left, x = 0), in the units
    of the value. rii: the modelled least-deprived value divided by the modelled
    most-deprived value, as PHEindicatormethods' phe_sii defines it.
    """

    sii: float
    sii_lower: float
    sii_upper: float
    rii: float
    rii_lower: float
    rii_upper: float
    quantiles: int = 0
    note: str = ""


_NAN_SII = dict(sii=np.nan, sii_lower=np.nan, sii_upper=np.nan,
                rii=np.nan, rii_lower=np.nan, rii_upper=np.nan)


def _quantile_order(quantile: ArrayLike) -> FloatArray:
    """Quantile labels as numbers, so '10' sorts after '9' (text order would not)."""
    labels = np.asarray(quantile).ravel()
    try:
        return np.array([float(label) for label in labels], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sii_rii: quantile labels must be numbers such as 1..10: {exc}") from None


def _transform(values: FloatArray, value_type: str, scale: float) -> FloatArray:
    """PHEindicatormethods' variance-stabilising scale: log for rates, logit for proportions."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if value_type == "rate":
            return np.log(values)
        if value_type == "proportion":
            p = values / scale
            return np.log(p / (1 - p))
    return values


def _untransform(values: FloatArray, value_type: str, scale: float) -> FloatArray:
    if value_type == "rate":
        return np.exp(values)
    if value_type == "proportion":
        return scale / (1 + np.exp(-values))
    return values


def cumulative_midpoints(population: ArrayLike) -> FloatArray:
    """Relative rank of each quantile: the midpoint of its share of the cumulative population."""
    pop = _as_float(population)
    share = pop / pop.sum()
    return np.cumsum(share) - share / 2


def sii_rii(
    quantile: ArrayLike,
    value: ArrayLike,
    population: ArrayLike,
    lower95: ArrayLike,
    upper95: ArrayLike,
    *,
    value_type: str,
    confidence: float = 0.95,
    reps: int = SII_REPS,
    seed: int = SII_SEED,
    value_scale: float = 1.0,
    min_quantiles: int = 5,
) -> SIIResult:
    """Slope and relative index of inequality as PHEindicatormethods' phe_sii computes them.

    Quantiles are ordered numerically (1 = most deprived at the left). Each quantile's
    relative rank b is the midpoint of its cumulative population share; with a its
    population share, the model y·√a = β₀·√a + β₁·b·√a (no intercept) is fitted by least
    squares (the √a weighting allows for unequal quantile sizes). SII = β₁ (the fitted
    value at b = 1 minus that at b = 0); RII = (β₀ + β₁) / β₀.

    Intervals: `reps` normal draws of each quantile's value, on the log (rate) or logit
    (proportion) scale, with standard error (T(upper95) − T(lower95)) / (2 × 1.96); each
    draw is transformed back and refitted, and the limits are the draws at positions
    round(reps × α/2) and round(reps × (1 − α/2)) of the sorted results. The generator is
    seeded with `seed`, so the same data give the same limits on every run.

    `value_type` is 'rate', 'proportion' or 'other'; for proportions `value_scale` is the
    unit (1 for 0-1, 100 for percentages). As in phe_sii, the SII is not calculated when
    a quantile is unusable — population 0 (e.g. no deaths in that quintile for a
    percentage of deaths), missing value or limits, or a value the transformation cannot
    take (a rate of 0, a proportion of 0 or 100%) — or when there are fewer than
    `min_quantiles` (phe_sii's minimum is 5): the result is NaN with a `note`.
    """
    if value_type not in VALUE_TYPES:
        raise ValueError(f"sii_rii: value_type must be one of {VALUE_TYPES}, got {value_type!r}")
    if reps < 10:
        raise ValueError("sii_rii: reps must be at least 10")
    order = _quantile_order(quantile)
    arrays = [_as_float(a).ravel() for a in (value, population, lower95, upper95)]
    if any(a.shape != order.shape for a in arrays):
        raise ValueError("sii_rii: quantile, value, population and limits must be the same length")
    if len(np.unique(order)) != len(order):
        raise ValueError("sii_rii: each quantile must appear once")
    sort = np.argsort(order, kind="stable")
    values, pops, lows, highs = (a[sort] for a in arrays)
    k = len(order)

    if k < min_quantiles:
        return SIIResult(**_NAN_SII, quantiles=k,
                         note=f"not calculated: {k} quantiles, at least {min_quantiles} needed")
    labels = [f"{q:g}" for q in order[sort]]
    empty = [lab for lab, p in zip(labels, pops, strict=True) if not (p > 0)]
    if empty:
        return SIIResult(**_NAN_SII, quantiles=k,
                         note=f"not calculated: no population in quantile {', '.join(empty)}")
    t_value = _transform(values, value_type, value_scale)
    t_low = _transform(lows, value_type, value_scale)
    t_high = _transform(highs, value_type, value_scale)
    unusable = [
        lab
        for lab, v, lo, hi in zip(labels, t_value, t_low, t_high, strict=True)
        if not (np.isfinite(v) and np.isfinite(lo) and np.isfinite(hi))
    ]
    if unusable:
        return SIIResult(
            **_NAN_SII, quantiles=k,
            note=f"not calculated: quantile {', '.join(unusable)} has a value or limit "
            f"that cannot be used (missing, or 0 / 100% for a {value_type})",
        )

    share = pops / pops.sum()
    root_share = np.sqrt(share)
    design = np.column_stack([root_share, cumulative_midpoints(pops) * root_share])
    # Least-squares solution matrix (XᵀX)⁻¹Xᵀ, shared by the fit and every simulated draw.
    solve = np.linalg.solve(design.T @ design, design.T)
    intercept, slope = solve @ (values * root_share)

    standard_error = (t_high - t_low) / (2 * float(normal_quantile(0.975)))
    rng = np.random.default_rng(seed)
    draws = rng.normal(t_value, standard_error, size=(reps, k))
    fitted = (_untransform(draws, value_type, value_scale) * root_share) @ solve.T
    sim_intercept, sim_slope = fitted[:, 0], fitted[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        sim_rii = (sim_intercept + sim_slope) / sim_intercept
        rii = (intercept + slope) / intercept

    level = _level(confidence)
    upper_point = level + (1 - level) / 2
    # 1-based positions as in the R package, whose round() also rounds half to even.
    low_pos = max(int(round(reps * (1 - upper_point))), 1) - 1
    high_pos = min(int(round(reps * upper_point)), reps) - 1
    # Only two order statistics are needed: partitioning finds them without a full sort.
    sii_sorted = np.partition(sim_slope, (low_pos, high_pos))
    rii_sorted = np.partition(sim_rii, (low_pos, high_pos))
    return SIIResult(
        sii=float(slope),
        sii_lower=float(sii_sorted[low_pos]),
        sii_upper=float(sii_sorted[high_pos]),
        rii=float(rii),
        rii_lower=float(rii_sorted[low_pos]),
        rii_upper=float(rii_sorted[high_pos]),
        quantiles=k,
    )


def sii_frame(
    frame: pl.DataFrame,
    by: list[str],
    *,
    value_type: str,
    quantile: str = "quantile",
    value: str = "value",
    population: str = "population",
    lower95: str = "lower_ci_95",
    upper95: str = "upper_ci_95",
    confidence: float = 0.95,
    reps: int = SII_REPS,
    seed: int = SII_SEED,
    value_scale: float = 1.0,
    min_quantiles: int = 5,
) -> pl.DataFrame:
    """`sii_rii` for each group of `frame`: by..., sii, sii_lower, sii_upper, rii,
    rii_lower, rii_upper, quantiles, note (sorted by `by`).

    Every group uses the same seed, so a group's result does not depend on which other
    groups are in the frame or their order.
    """
    rows: list[dict[str, Any]] = []
    keys = list(by)
    parts = (
        frame.sort(keys).partition_by(keys, as_dict=True, maintain_order=True)
        if keys
        else {(): frame}
    )
    for key, part in parts.items():
        result = sii_rii(
            part[quantile].to_numpy(),
            part[value].to_numpy(),
            part[population].to_numpy(),
            part[lower95].to_numpy(),
            part[upper95].to_numpy(),
            value_type=value_type,
            confidence=confidence,
            reps=reps,
            seed=seed,
            value_scale=value_scale,
            min_quantiles=min_quantiles,
        )
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row.update(
            sii=result.sii, sii_lower=result.sii_lower, sii_upper=result.sii_upper,
            rii=result.rii, rii_lower=result.rii_lower, rii_upper=result.rii_upper,
            quantiles=result.quantiles, note=result.note,
        )
        rows.append(row)
    schema: dict[str, Any] = {k: frame.schema[k] for k in keys}
    schema.update(
        {name: pl.Float64 for name in ("sii", "sii_lower", "sii_upper", "rii", "rii_lower",
                                       "rii_upper")}
    )
    schema.update(quantiles=pl.Int64, note=pl.String)
    return pl.DataFrame(rows, schema=schema, orient="row")


# ----------------------------------------------------------------------------------
# Funnel plots and comparison
# ----------------------------------------------------------------------------------


def funnel_limits_proportion(
    p0: float, n: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Control limits around a benchmark proportion p0 (0-1) for samples of size n.

    The limit is the observed proportion whose Wilson interval just reaches p0 (the
    lower limit has p0 as its upper Wilson bound and vice versa) — the same curve as
    PHEindicatormethods' sigma_adjustment (phe_funnels, Fingertips guidance).
    Squaring Wilson's equation gives a quadratic in the observed proportion q:
    (1 + z²/n) q² − (2c + z²/n) q + c² − z⁴/(4n²) = 0 with c = p0(1 + z²/n) − z²/(2n);
    its smaller root is the lower limit, its larger the upper.
    """
    n_arr = _as_float(n)
    z2 = _z(confidence) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        k = z2 / n_arr
        c = p0 * (1 + k) - k / 2
        a = 1 + k
        b = 2 * c + k
        disc = np.sqrt(np.maximum(b**2 - 4 * a * (c**2 - k**2 / 4), 0.0))
        lower = (b - disc) / (2 * a)
        upper = (b + disc) / (2 * a)
    valid = n_arr > 0
    lower = np.where(valid, np.clip(lower, 0.0, 1.0), np.nan)
    upper = np.where(valid, np.clip(upper, 0.0, 1.0), np.nan)
    return lower, upper


def _poisson_funnel_counts(
    expected: FloatArray, confidence: float
) -> tuple[FloatArray, FloatArray]:
    """Observed counts (continuous) at the exact Poisson control limits for an expected count.

    The lower limit o solves P(X ≤ o | expected) = α/2 and the upper P(X ≥ o | expected) =
    α/2, with the Poisson tail made continuous in o through the incomplete gamma
    function. At whole counts these are exactly the points of PHEindicatormethods'
    poisson_funnel: expected = the exact upper (lower) limit of the observed count.
    """
    alpha = 1 - _level(confidence)
    e = np.where(expected > 0, expected, np.nan)
    lower = np.maximum(pdtrik(alpha / 2, e), 0.0)
    upper = pdtrik(1 - alpha / 2, e) + 1
    return lower, upper


def funnel_limits_rate(
    rate0: float,
    denominator: ArrayLike,
    confidence: float = 0.95,
    multiplier: float = 100_000,
) -> tuple[FloatArray, FloatArray]:
    """Exact Poisson control limits around a benchmark rate (per `multiplier`) by population."""
    d = _as_float(denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = rate0 * d / multiplier
        lo_count, hi_count = _poisson_funnel_counts(expected, confidence)
        scale = np.where(d > 0, multiplier / d, np.nan)
    return lo_count * scale, hi_count * scale


def funnel_limits_ratio(
    expected: ArrayLike, confidence: float = 0.95, multiplier: float = 100
) -> tuple[FloatArray, FloatArray]:
    """Exact Poisson control limits of an observed/expected ratio (× multiplier) around 1."""
    e = _as_float(expected)
    lo_count, hi_count = _poisson_funnel_counts(e, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(e > 0, multiplier / e, np.nan)
    return lo_count * scale, hi_count * scale


def compare(lower: ArrayLike, upper: ArrayLike, comparator: ArrayLike) -> NDArray[np.str_]:
    """'higher' (interval wholly above the comparator), 'lower' (wholly below), 'similar'
    (the comparator inside or on the interval), 'not_compared' where any input is NaN."""
    lo, hi, comp = np.broadcast_arrays(_as_float(lower), _as_float(upper), _as_float(comparator))
    missing = np.isnan(lo) | np.isnan(hi) | np.isnan(comp)
    with np.errstate(invalid="ignore"):
        result = np.select(
            [missing, lo > comp, hi < comp],
            ["not_compared", "higher", "lower"],
            default="similar",
        )
    return result.astype(np.str_)


# ----------------------------------------------------------------------------------
# XmR charts (NHS England "Making Data Count")
# ----------------------------------------------------------------------------------

#: Points in a run on one side of the mean that signal a shift.
SHIFT_LENGTH = 7
#: Consecutive rising (or falling) points that signal a trend.
TREND_LENGTH = 6
#: 3 / d2 for moving ranges of two points (d2 = 1.128): limits are mean ± 2.66 mR̄.
XMR_LIMIT_FACTOR = 2.66

POLARITIES = ("higher_is_better", "lower_is_better", "neutral")


@dataclass(frozen=True)
class XmRResult:
    """An XmR chart: centre line, limits and per-point special-cause flags.

    `direction` is +1 where a point's signal is high (above a limit, in a run above the
    mean, in a rising trend, near the upper limit), −1 where low, 0 for common cause;
    where a point takes part in several signals, the first of beyond-limits, trend,
    two-of-three, shift decides (the order NHSRplotthedots uses).
    """

    values: FloatArray
    mean: float
    mr_bar: float
    upper_limit: float
    lower_limit: float
    upper_two_sigma: float
    lower_two_sigma: float
    beyond_limits: NDArray[np.bool_]
    shift: NDArray[np.bool_]
    trend: NDArray[np.bool_]
    two_of_three: NDArray[np.bool_]
    direction: NDArray[np.int8] = field(repr=False)

    @property
    def special_cause(self) -> NDArray[np.bool_]:
        return self.beyond_limits | self.shift | self.trend | self.two_of_three


def _runs(mask: NDArray[np.bool_], min_length: int) -> NDArray[np.bool_]:
    """Mark every element of each run of True at least `min_length` long."""
    flagged = np.zeros(mask.shape, dtype=bool)
    start = None
    for i, on in enumerate([*mask.tolist(), False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            if i - start >= min_length:
                flagged[start:i] = True
            start = None
    return flagged


def _trend_points(steps: NDArray[np.bool_], points: int) -> NDArray[np.bool_]:
    """Points of every run of `points` values joined by `steps` (one step fewer than points)."""
    step_runs = _runs(steps, points - 1)
    flagged = np.zeros(len(steps) + 1, dtype=bool)
    flagged[:-1] |= step_runs
    flagged[1:] |= step_runs
    return flagged


def _two_of_three(beyond: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Points beyond a 2-sigma line that, with another within three in a row, signal."""
    flagged = np.zeros(beyond.shape, dtype=bool)
    for start in range(max(len(beyond) - 2, 0)):
        window = beyond[start : start + 3]
        if window.sum() >= 2:
            flagged[start : start + 3] |= window
    return flagged


def xmr(values: ArrayLike) -> XmRResult:
    """XmR (individuals) chart with the four Making Data Count rules.

    Centre = mean; mR̄ = mean absolute difference of consecutive points; process limits =
    mean ± 2.66 mR̄; the two-sigma lines sit two-thirds of the way out (σ = mR̄ / 1.128).
    Rules: (1) a point outside the process limits; (2) a shift — 7 or more consecutive
    points all above, or all below, the mean (a point on the mean breaks the run); (3) a
    trend — 6 or more consecutive points each higher than the last (or each lower): a
    repeated value breaks the trend, the conservative reading; (4) two of any three
    consecutive points beyond the same two-sigma line. All points of a signal are flagged.
    """
    y = _as_float(values).ravel()
    if np.any(~np.isfinite(y)):
        raise ValueError("xmr: values must be finite numbers (fill or drop gaps first)")
    count = len(y)
    mean = float(y.mean()) if count else float("nan")
    mr_bar = float(np.abs(np.diff(y)).mean()) if count >= 2 else float("nan")
    half_width = XMR_LIMIT_FACTOR * mr_bar
    upper, lower = mean + half_width, mean - half_width
    upper_two, lower_two = mean + half_width * 2 / 3, mean - half_width * 2 / 3

    if count >= 2:
        above_limit, below_limit = y > upper, y < lower
        shift_up = _runs(y > mean, SHIFT_LENGTH)
        shift_down = _runs(y < mean, SHIFT_LENGTH)
        steps = np.diff(y)
        trend_up = _trend_points(steps > 0, TREND_LENGTH)
        trend_down = _trend_points(steps < 0, TREND_LENGTH)
        near_up = _two_of_three(y > upper_two)
        near_down = _two_of_three(y < lower_two)
    else:
        above_limit = below_limit = shift_up = shift_down = np.zeros(count, dtype=bool)
        trend_up = trend_down = near_up = near_down = np.zeros(count, dtype=bool)

    direction = np.zeros(count, dtype=np.int8)
    # Lowest priority first, so that later assignments (higher priority) win.
    for high, low in (
        (shift_up, shift_down),
        (near_up, near_down),
        (trend_up, trend_down),
        (above_limit, below_limit),
    ):
        direction[high] = 1
        direction[low] = -1
    return XmRResult(
        values=y,
        mean=mean,
        mr_bar=mr_bar,
        upper_limit=upper,
        lower_limit=lower,
        upper_two_sigma=upper_two,
        lower_two_sigma=lower_two,
        beyond_limits=above_limit | below_limit,
        shift=shift_up | shift_down,
        trend=trend_up | trend_down,
        two_of_three=near_up | near_down,
        direction=direction,
    )


VARIATION_DESCRIPTIONS: dict[str, str] = {
    "common_cause": "Common cause variation: the latest value is within the range the "
    "process normally produces, so no significant change is shown.",
    "special_cause_improving": "Special cause variation, improving: the latest value is "
    "part of an unusual pattern (beyond a limit, a run, a trend or two of three points near "
    "a limit) in the direction of better performance.",
    "special_cause_concerning": "Special cause variation, concerning: the latest value is "
    "part of an unusual pattern (beyond a limit, a run, a trend or two of three points near "
    "a limit) in the direction of worse performance.",
    "special_cause_neither": "Special cause variation: the latest value is part of an "
    "unusual pattern, but for this measure neither higher nor lower is better.",
}

ASSURANCE_DESCRIPTIONS: dict[str, str] = {
    "pass": "The process limits are wholly on the right side of the target: if nothing "
    "changes, the target will be met consistently.",
    "fail": "The process limits are wholly on the wrong side of the target: if nothing "
    "changes, the target will consistently not be met.",
    "hit_and_miss": "The target lies between the process limits: if nothing changes, it "
    "will sometimes be met and sometimes missed, by chance alone.",
}


def _check_polarity(polarity: str) -> None:
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")


def variation_icon(result: XmRResult, polarity: str) -> str:
    """The Making Data Count variation icon for the latest point of the chart."""
    _check_polarity(polarity)
    if len(result.values) == 0 or result.direction[-1] == 0:
        return "common_cause"
    if polarity == "neutral":
        return "special_cause_neither"
    improving = (result.direction[-1] > 0) == (polarity == "higher_is_better")
    return "special_cause_improving" if improving else "special_cause_concerning"


def assurance_icon(result: XmRResult, target: float | None, polarity: str) -> str | None:
    """Whether the process will meet `target`: 'pass', 'fail' or 'hit_and_miss'.

    None when there is no target, the measure has no better direction, or the limits
    cannot be computed. A target exactly on a limit counts as hit and miss.
    """
    _check_polarity(polarity)
    if target is None or polarity == "neutral" or not np.isfinite(result.upper_limit):
        return None
    if target < result.lower_limit:
        return "pass" if polarity == "higher_is_better" else "fail"
    if target > result.upper_limit:
        return "fail" if polarity == "higher_is_better" else "pass"
    return "hit_and_miss"


# ----------------------------------------------------------------------------------
# Words for the report's definitions page
# ----------------------------------------------------------------------------------

METHOD_DESCRIPTIONS: dict[str, str] = {
    "P": "Proportion (shown as a percentage): the numerator divided by the denominator. "
    "95% and 99.8% confidence intervals use the Wilson score method (Wilson 1927; "
    "Newcombe and Altman, Statistics with Confidence, 2000), which stays within 0-100% "
    "and behaves well for small numbers.",
    "R": "Crude rate per 100,000: events divided by the resident population. Confidence "
    "intervals treat the count as Poisson: exact limits from the chi-squared distribution "
    "below 10 events (Armitage and Berry 2002), Byar's approximation from 10 (Breslow and "
    "Day 1987), as in PHEindicatormethods and OHID Fingertips.",
    "DSR": "Directly standardised rate per 100,000: age-specific rates in the 19 five-year "
    "bands (0-4 to 90+) weighted by the 2013 European Standard Population, so areas with "
    "different age structures can be compared. Every band is included (a band with no "
    "people or deaths counts as zero). Confidence intervals by Dobson's method (Dobson et "
    "al. 1991, Statistics in Medicine 10:457-62) with Byar's limits for the total count. "
    "Not published for fewer than 10 deaths (ONS practice).",
    "M": "Mean per person, with a confidence interval from Student's t distribution "
    "(mean ± t with n−1 degrees of freedom × standard deviation / √n).",
    "Q": "Median: the middle value when values are sorted. No confidence interval is shown.",
    "C": "Count of people or events. No confidence interval is shown.",
    "ISR": "Indirectly standardised ratio: observed events divided by the events expected "
    "if the reference population's age-specific rates applied locally, × 100 (100 = as "
    "expected). Confidence intervals are those of the observed count (exact below 10, "
    "Byar's from 10), divided by the expected count.",
    "SII": "Slope index of inequality: the modelled gap between the least and the most "
    "deprived ends of the deprivation scale, in the indicator's own units, from a "
    "population-weighted regression of the value in each deprivation quintile on the "
    "midpoint of its cumulative population share (Low and Low 2004, Journal of Public "
    "Health 26:388-95). Quintile 1, the most deprived, is at the left, so a negative SII "
    "means higher values in more deprived areas; the SII of a percentage is in percentage "
    "points. 95% intervals by simulation (10,000 draws from each quintile's interval, on "
    "the log scale for rates and the logit scale for proportions; fixed seed), as in "
    "PHEindicatormethods' phe_sii (whose default is ten times as many, which moves the "
    "limits by well under 1% of the interval's width). Computed from the quintiles whose value "
    "is published and that have residents, at least 3 of 5; where fewer are published, "
    "over at least 3 groups of adjacent quintiles pooled (the note names them, e.g. 1+2), "
    "where the pooled groups give no suppressed count away; not calculated with fewer.",
    "RII": "Relative index of inequality: the modelled value at the least deprived end "
    "of the scale divided by that at the most deprived end (PHEindicatormethods phe_sii). "
    "1 means no gradient; below 1, higher values in more deprived areas. Intervals by the "
    "same simulation as the SII.",
    "funnel": "Funnel plot: each area's value against its size, with control limits "
    "around the benchmark at 95% (about 2 standard deviations) and 99.8% (about 3). "
    "Limits for proportions invert the Wilson score interval; for rates and ratios they "
    "are exact Poisson limits, as in the Fingertips technical guidance and "
    "PHEindicatormethods.",
    "SPC": "Statistical process control (XmR) chart, NHS England 'Making Data Count': the "
    "mean and process limits at mean ± 2.66 × the average moving range. Special cause "
    "variation is a point beyond a limit, 7 or more points in a row above or below the "
    "mean, 6 or more points in a row each rising (or each falling), or two of three "
    "points in a row near a limit (beyond two-thirds of the way to it). Icons say whether "
    "the latest point shows improvement, concern or only common cause variation, and "
    "whether a target will consistently be met, missed, or sometimes both.",
}
