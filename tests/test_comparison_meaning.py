"""Comparisons coloured by meaning: formatting.judge and the funnel plot's data.

Known answers worked out by hand: at a benchmark of 50% and a denominator of 100, the
99.8% funnel limits are about 50 ± 3.09 x 5 = 34.5% to 65.5%, so 90/100 lies above them,
10/100 below, and 52/100 within."""

from __future__ import annotations

import re

import pytest

from eolneeds import charts
from eolneeds.formatting import judge

BLUE, ORANGE, GREY, PURPLE = "#0072B2", "#D55E00", "#768692", "#CC79A7"


@pytest.mark.parametrize(("comparison", "polarity", "key", "words"), [
    ("higher", "higher_is_better", "better", "Higher (better)"),
    ("lower", "higher_is_better", "worse", "Lower (worse)"),
    ("higher", "lower_is_better", "worse", "Higher (worse)"),
    ("lower", "lower_is_better", "better", "Lower (better)"),
    ("higher", "neutral", "not_judged", "Higher (not judged)"),
    ("similar", "lower_is_better", "similar", "Similar"),
    ("not_compared", "higher_is_better", "not_compared", "Not compared"),
    (None, "neutral", "not_compared", "Not compared"),
])
def test_judge_words_carry_the_meaning(comparison, polarity, key, words) -> None:
    verdict = judge(comparison, polarity)
    assert (verdict.key, verdict.words) == (key, words)


def test_judge_colours_are_one_palette() -> None:
    assert judge("higher", "higher_is_better").colour == BLUE
    assert judge("higher", "lower_is_better").colour == ORANGE
    assert judge("similar", "neutral").colour == GREY
    assert judge("lower", "neutral").colour == PURPLE
    # better and worse never share a colour, whichever the direction
    assert judge("lower", "lower_is_better").colour == judge("higher", "higher_is_better").colour


POINTS = [charts.FunnelPoint("High", 90, 100), charts.FunnelPoint("Low", 10, 100),
          charts.FunnelPoint("Mid", 52, 100)]


@pytest.mark.parametrize(("polarity", "high", "low"), [
    ("higher_is_better", ("better", BLUE), ("worse", ORANGE)),
    ("lower_is_better", ("worse", ORANGE), ("better", BLUE)),
    ("neutral", ("not_judged", PURPLE), ("not_judged", PURPLE)),
])
def test_funnel_marks_follow_polarity(polarity, high, low) -> None:
    marks = {m.label: m for m in charts.funnel_marks(POINTS, 50.0, polarity)}
    assert (marks["High"].position, marks["Low"].position, marks["Mid"].position) == (
        "above_998", "below_998", "within")
    assert (marks["High"].judgement, marks["High"].colour) == high
    assert (marks["Low"].judgement, marks["Low"].colour) == low
    assert (marks["Mid"].judgement, marks["Mid"].colour) == ("similar", GREY)
    assert marks["High"].words.startswith("Above 99.8% limit: higher")
    assert marks["High"].marker == "^" and marks["Low"].marker == "v"


def test_funnel_svg_draws_the_polarity_colours() -> None:
    svg = charts.funnel_chart("chart-f", "Funnel", "d", POINTS, 50.0, "ICB 50%",
                              "lower_is_better")
    # fill="#..." as charts writes it (fill: #... in a style, as matplotlib wrote it)
    fills = {c.upper() for c in re.findall(r'fill(?::\s*|=")(#[0-9a-fA-F]{6})', svg)}
    assert ORANGE in fills and BLUE in fills  # the worse (high) and better (low) markers
    svg_good = charts.funnel_chart("chart-g", "Funnel", "d", POINTS[2:], 50.0, "ICB 50%",
                                   "lower_is_better")
    assert "Below 99.8% limit (better)" in svg_good  # the legend says it in words
