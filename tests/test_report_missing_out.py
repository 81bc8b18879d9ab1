"""The report's first-screen finding "Who is missing out?" reads as a commissioner needs:
which gradients are steepest (ranked fairly), by how much in words that need no sign
convention, and where (the Places whose own gradient is significant the same way).
Known answers on the hand-made bundle, with summary rows set here."""

from __future__ import annotations

import polars as pl
from report_fixtures import make_bundle

from eolneeds.findings import key_findings

PERIOD = "2024-25"


def _summary(frame: pl.DataFrame, ind: str, area: str, which: str, **values) -> pl.DataFrame:
    target = ((pl.col("indicator_id") == ind) & (pl.col("area_code") == area)
              & (pl.col("period") == PERIOD) & (pl.col("breakdown") == "imd_quintile")
              & (pl.col("breakdown_value") == which))
    assert frame.filter(target).height == 1, (ind, area, which)
    return frame.with_columns([
        pl.when(target).then(pl.lit(v, dtype=frame.schema[k])).otherwise(pl.col(k)).alias(k)
        for k, v in values.items()])


def _inequality(bundle):
    found = {f.key: f for f in key_findings(
        bundle.indicators, icb_code=bundle.config.icb_code, places=bundle.places,
        period=bundle.headline_period, place_name=bundle.config.place_name,
        england=bundle.england())}
    return found["inequality"]


def _flat(bundle) -> pl.DataFrame:
    """Every SII of the bundle made not significant (its interval across zero), so that
    only the gradients a test sets can be findings."""
    frame = bundle.indicators
    sii = (pl.col("breakdown") == "imd_quintile") & (pl.col("breakdown_value") == "SII")
    return frame.with_columns(
        pl.when(sii).then(pl.lit(-1.0)).otherwise(pl.col("lower_ci_95")).alias("lower_ci_95"),
        pl.when(sii).then(pl.lit(1.0)).otherwise(pl.col("upper_ci_95")).alias("upper_ci_95"))


def test_steepness_is_judged_on_the_ratio_scale_so_half_is_as_steep_as_double():
    """RII 0.5 (the least deprived end half the most deprived) is a steeper gradient
    than RII 1.6: |log 0.5| = 0.69 > |log 1.6| = 0.47 (|RII - 1| put 1.6 first)."""
    bundle = make_bundle()
    icb = bundle.config.icb_code
    frame = _flat(bundle)
    frame = _summary(frame, "diupr_pct", icb, "SII", value=20.0, lower_ci_95=10.0,
                     upper_ci_95=30.0, suppressed=False)
    frame = _summary(frame, "diupr_pct", icb, "RII", value=1.6, suppressed=False)
    frame = _summary(frame, "pod_hospital_pct", icb, "SII", value=-15.0, lower_ci_95=-25.0,
                     upper_ci_95=-5.0, suppressed=False)
    frame = _summary(frame, "pod_hospital_pct", icb, "RII", value=0.5, suppressed=False)
    bundle.indicators = frame
    detail = _inequality(bundle).detail
    first, second = detail.split("; ")[:2]
    assert first.startswith("Deaths in hospital higher in more deprived areas (worse)"), detail
    assert second.startswith("Deaths in usual place of residence lower in more deprived")


def test_the_gap_is_said_without_a_sign_and_the_places_are_named():
    bundle = make_bundle()
    icb = bundle.config.icb_code
    hartside, middleford, redcar = bundle.places
    frame = _flat(bundle)
    # ICB: SII -30.0 (quintile 1, most deprived, at the left): higher in more deprived
    # areas by a modelled 30.0 percentage points; said as a gap, without the sign.
    frame = _summary(frame, "diupr_pct", icb, "SII", value=-30.0, lower_ci_95=-40.0,
                     upper_ci_95=-20.0, suppressed=False)
    frame = _summary(frame, "diupr_pct", icb, "RII", value=0.3, suppressed=False)
    # Hartside's own gradient is significant the same way; Middleford's interval crosses
    # zero; Redcar Vale's is significant the other way: only Hartside is named.
    frame = _summary(frame, "diupr_pct", hartside, "SII", value=-25.0, lower_ci_95=-35.0,
                     upper_ci_95=-15.0, suppressed=False)
    frame = _summary(frame, "diupr_pct", middleford, "SII", value=-10.0, lower_ci_95=-30.0,
                     upper_ci_95=5.0, suppressed=False)
    frame = _summary(frame, "diupr_pct", redcar, "SII", value=5.0, lower_ci_95=1.0,
                     upper_ci_95=9.0, suppressed=False)
    bundle.indicators = frame
    detail = _inequality(bundle).detail
    part = next(p for p in detail.split("; ")
                if p.startswith("Deaths in usual place of residence"))
    assert ("a modelled gap of 30.0 percentage points between the most and the least "
            "deprived, significant in Hartside") in part, part
    assert "Middleford" not in part and "Redcar Vale" not in part

    # A suppressed Place SII names nothing; with none significant, the finding says so.
    bundle.indicators = _summary(frame, "diupr_pct", hartside, "SII", value=None,
                                 lower_ci_95=None, upper_ci_95=None, suppressed=True)
    detail = _inequality(bundle).detail
    part = next(p for p in detail.split("; ")
                if p.startswith("Deaths in usual place of residence"))
    assert "not significant in any Place on its own" in part


def _headline(frame: pl.DataFrame, ind: str, area: str, **values) -> pl.DataFrame:
    target = ((pl.col("indicator_id") == ind) & (pl.col("area_code") == area)
              & (pl.col("period") == PERIOD) & (pl.col("breakdown") == "all"))
    assert frame.filter(target).height == 1, (ind, area)
    return frame.with_columns([
        pl.when(target).then(pl.lit(v, dtype=frame.schema[k])).otherwise(pl.col(k)).alias(k)
        for k, v in values.items()])


def test_who_is_missing_from_the_register_says_how_many_and_where():
    """The lowest share is named with the number of people it misses; where another
    Place misses more people (a larger Place with a better share), it is named too."""
    bundle = make_bundle()
    hartside, middleford, redcar = bundle.places
    frame = bundle.indicators
    frame = _headline(frame, "on_register_need_pct", hartside, value=30.0, lower_ci_95=27.0,
                      upper_ci_95=33.0, comparison="lower", suppressed=False)
    frame = _headline(frame, "on_register_need_pct", middleford, value=45.0,
                      lower_ci_95=43.0, upper_ci_95=47.0, suppressed=False)
    frame = _headline(frame, "on_register_need_pct", redcar, value=46.0, lower_ci_95=44.0,
                      upper_ci_95=48.0, suppressed=False)
    frame = _headline(frame, "unidentified_need", hartside, value=412.0, numerator=412.0,
                      suppressed=False)
    frame = _headline(frame, "unidentified_need", middleford, value=650.0, numerator=650.0,
                      suppressed=False)
    frame = _headline(frame, "unidentified_need", redcar, value=1210.0, numerator=1210.0,
                      suppressed=False)
    bundle.indicators = frame
    found = {f.key: f for f in key_findings(
        bundle.indicators, icb_code=bundle.config.icb_code, places=bundle.places,
        period=bundle.headline_period, place_name=bundle.config.place_name,
        england=bundle.england())}["register_gap"]
    assert ("Lowest: Hartside, 30.0% (95% CI 27.0 to 33.0), significantly lower than the "
            "ICB (worse); 412 people with needs there were not on a register.") in found.detail
    assert "Most people not identified: Redcar Vale, 1,210." in found.detail

    # Hartside's count suppressed: its share is still named, its count is not.
    bundle.indicators = _headline(frame, "unidentified_need", hartside, value=None,
                                  numerator=None, suppressed=True)
    found = {f.key: f for f in key_findings(
        bundle.indicators, icb_code=bundle.config.icb_code, places=bundle.places,
        period=bundle.headline_period, place_name=bundle.config.place_name,
        england=bundle.england())}["register_gap"]
    assert "Lowest: Hartside, 30.0%" in found.detail
    assert "people with needs there" not in found.detail
