"""A funnel plot that leaves an area out says which and why, in the chart's own text (its
summary and the SVG's description), in the HTML and in the Excel pack: a reader who
counts fewer Places (or practices) than exist, or finds a funnel missing, is told the
reason. Hand-built bundles (tests/report_fixtures.py) with chosen values hidden."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from eolneeds import report_excel
from eolneeds.report_html import render_html

sys.path.insert(0, str(Path(__file__).parent))
from report_fixtures import HEADLINE_PERIOD, make_bundle  # noqa: E402


def _hide(frame: pl.DataFrame, ind_id: str, area_code: str) -> pl.DataFrame:
    """The headline-period total row of `ind_id` for `area_code`, suppressed as
    disclosure control leaves it (no value, counts or limits)."""
    target = ((pl.col("indicator_id") == ind_id) & (pl.col("area_code") == area_code)
              & (pl.col("period") == HEADLINE_PERIOD) & (pl.col("breakdown") == "all"))
    assert frame.filter(target).height == 1
    blank = ["numerator", "value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8",
             "upper_ci_99_8"]
    return frame.with_columns(
        *(pl.when(target).then(None).otherwise(pl.col(c)).alias(c) for c in blank),
        pl.when(target).then(True).otherwise(pl.col("suppressed")).alias("suppressed"),
        pl.when(target).then(pl.lit("not_compared")).otherwise(pl.col("comparison"))
        .alias("comparison"))


@pytest.fixture(scope="module")
def gappy():
    """The ICB's diupr_pct hidden (no Place can be placed on its funnel) and one
    Place's pod_hospital_pct hidden (that funnel plots the others)."""
    bundle = make_bundle()
    frame = _hide(bundle.indicators, "diupr_pct", bundle.config.icb_code)
    frame = _hide(frame, "pod_hospital_pct", bundle.places[0])
    bundle.indicators = frame
    return bundle


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _figure(page: str, title: str) -> str:
    for figure in re.findall(r"<figure.*?</figure>", page, re.S):
        if title in html.unescape(figure):
            return figure
    raise AssertionError(f"no chart {title!r}")


def test_a_place_left_off_a_funnel_is_named_with_the_reason(gappy):
    page = render_html(gappy)
    left_out = gappy.config.place_name(gappy.places[0])
    figure = _figure(page, "Deaths in hospital: funnel plot")
    summary = _text(re.search(r'<p class="chart-summary">(.*?)</p>', figure, re.S).group(1))
    count = len(gappy.places)
    assert (f"1 of the {count} Places is not plotted: {left_out} (its value is "
            "suppressed, disclosure control).") in summary
    # The SVG's own description (its text alternative) says the same.
    desc = _text(re.search(r"<desc[^>]*>(.*?)</desc>", figure, re.S).group(1))
    assert f"not plotted: {left_out}" in desc
    # And the numbers behind the chart give the reason on the Place's row.
    assert "Not plotted: its value is suppressed, disclosure control" in _text(figure)
    # The other Places are plotted: every Place is in the table, one point fewer.
    assert all(gappy.config.place_name(p) in _text(figure) for p in gappy.places)


def test_a_funnel_with_its_icb_value_hidden_says_why_it_is_missing(gappy):
    page = render_html(gappy)
    assert "Deaths in usual place of residence: funnel plot" not in html.unescape(page)
    overview = _text(page.split('id="overview"', 1)[1].split("</section>", 1)[0])
    assert (f"No funnel plot of deaths in usual place of residence: the ICB value the "
            f"Places would be compared with is suppressed (disclosure control), so none of "
            f"the {len(gappy.places)} Places is plotted.") in overview


def test_the_pack_names_indicators_whose_icb_value_is_hidden(gappy, tmp_path):
    for place in (None, gappy.places[1]):
        path = tmp_path / f"{place or 'icb'}.xlsx"
        report_excel.write_excel_pack(gappy, path, place=place)
        ws = load_workbook(path, read_only=True)["Summary"]
        lines = [row[0] for row in ws.iter_rows(min_row=2, max_row=12, max_col=1,
                                                values_only=True) if row[0]]
        line = next(line for line in lines if str(line).startswith("Not compared:"))
        assert "Deaths in usual place of residence: the ICB value is not published" in line
        assert "Deaths in hospital" not in line  # its ICB value is published
        who = ("no Place is" if place is None
               else f"{gappy.config.place_name(place)} is not")
        assert line.endswith(f"so {who} compared with it.")


def test_no_line_when_every_icb_value_is_published(tmp_path):
    bundle = make_bundle()
    path = tmp_path / "icb.xlsx"
    report_excel.write_excel_pack(bundle, path)
    ws = load_workbook(path, read_only=True)["Summary"]
    assert not any(str(row[0]).startswith("Not compared:") for row in
                   ws.iter_rows(max_col=1, values_only=True) if row[0])


def test_a_places_first_screen_says_what_is_hidden_and_why(gappy):
    page = render_html(gappy)
    first = {}
    for code in gappy.places:
        section = page.split(f'id="place-{code.lower()}"', 1)[1]
        section = section.split('<details class="place-details">', 1)[0]
        found = re.search(r'<p class="hidden-note">(.*?)</p>', section, re.S)
        first[code] = _text(found.group(1)) if found else ""
    hidden_place = gappy.places[0]
    assert "Not shown (*): Deaths in hospital: suppressed by disclosure control" \
        in first[hidden_place]
    for code in gappy.places:
        assert ("Not compared with the ICB: Deaths in usual place of residence: the ICB "
                "value is not published.") in first[code]
        if code != hidden_place:
            assert "Not shown" not in first[code]


def test_the_first_screen_names_the_significant_gradients():
    """On the hand-built bundle: the Place's first-screen 'Who is missing out' names an
    indicator exactly when its SII interval excludes zero in the table."""
    bundle = make_bundle()
    page = render_html(bundle)
    table = bundle.indicators.filter(
        (pl.col("period") == HEADLINE_PERIOD) & (pl.col("breakdown_value") == "SII")
        & ~pl.col("suppressed") & pl.col("lower_ci_95").is_not_null())
    named = 0
    for code in bundle.places:
        section = page.split(f'id="place-{code.lower()}"', 1)[1]
        section = section.split('<details class="place-details">', 1)[0]
        text = _text(re.search(r'<p class="missing-out">(.*?)</p>', section, re.S).group(1))
        for r in table.filter(pl.col("area_code") == code).iter_rows(named=True):
            significant = not r["lower_ci_95"] <= 0 <= r["upper_ci_95"]
            name = r["indicator_name"]
            assert (name.lower() in text.lower()) == significant, (code, name, text)
            named += significant
    assert named >= 1


def test_the_packs_inequalities_sheet_says_what_each_gradient_means(tmp_path):
    """The SII's sign convention in words beside it, with which way is worse from the
    indicator's polarity, worked out here from the table's own limits."""
    bundle = make_bundle()
    path = tmp_path / "icb.xlsx"
    report_excel.write_excel_pack(bundle, path)
    ws = load_workbook(path, read_only=True)["Inequalities"]
    rows = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == "Indicator")
    header = list(rows[header_at])
    col = {h: header.index(h) for h in ("Indicator", "SII lower 95% CI", "SII upper 95% CI",
                                         "Gradient (in words)")}
    polarity = {ind.name: ind.polarity for ind in __import__(
        "eolneeds.catalogue", fromlist=["load_catalogue"]).load_catalogue()}
    significant = 0
    for r in rows[header_at + 1:]:
        low, high, words = (r[col["SII lower 95% CI"]], r[col["SII upper 95% CI"]],
                            r[col["Gradient (in words)"]])
        if not isinstance(low, float | int) or not isinstance(high, float | int):
            assert words in ("[x]", "[z]"), r
            continue
        if low <= 0 <= high:
            assert words == "No clear gradient (the interval includes zero)", r
            continue
        significant += 1
        higher = high < 0  # quintile 1 (most deprived) at the left of the slope
        assert words.startswith("Higher in more deprived areas" if higher
                                else "Lower in more deprived areas"), r
        worse = {"lower_is_better": higher, "higher_is_better": not higher}.get(
            polarity[r[col["Indicator"]]])
        if worse is not None:
            assert words.endswith("they fare worse" if worse else "they fare better"), r
    assert significant >= 1
