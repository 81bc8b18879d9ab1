"""Charts (eolneeds.charts): inline, accessible, reproducible SVG, and the SPC markings."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from eolneeds import charts, methods

SVG_NS = "{http://www.w3.org/2000/svg}"


def _pod_svg(svg_id: str = "chart-pod", label: str = "Hartside") -> str:
    return charts.place_of_death_chart(
        svg_id, "Place of death", "Where people died.",
        [(label, {"pod_home_pct": 28.7, "pod_care_home_pct": 20.5, "pod_hospital_pct": 43.4,
                  "pod_hospice_pct": 4.7, "pod_other_pct": None}),
         ("ICB", {"pod_home_pct": 30.0, "pod_care_home_pct": 21.0, "pod_hospital_pct": 41.0,
                  "pod_hospice_pct": 5.0, "pod_other_pct": 3.0})],
    )


def _parse(svg: str) -> ET.Element:
    # The inline SVG has no xmlns (the HTML parser supplies it); add it back to parse
    # it as XML, declaring the xlink prefix matplotlib uses for <use>.
    return ET.fromstring(svg.replace(
        "<svg ", '<svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" ', 1))


def test_svg_is_inline_ready_and_accessible() -> None:
    svg = _pod_svg()
    assert svg.startswith("<svg ")
    assert "<?xml" not in svg and "DOCTYPE" not in svg and "<metadata" not in svg
    assert "http" not in svg  # no namespace URLs, no creator link
    root = _parse(svg)
    assert root.get("role") == "img"
    assert root.get("id") == "chart-pod"
    assert root.get("aria-labelledby") == "chart-pod-title chart-pod-desc"
    title = root.find(f"{SVG_NS}title")
    desc = root.find(f"{SVG_NS}desc")
    assert title is not None and title.get("id") == "chart-pod-title"
    assert title.text == "Place of death"
    assert desc is not None and desc.text == "Where people died."
    # Fixed width/height removed so the page can scale it; the viewBox keeps the shape.
    assert root.get("width") is None and root.get("viewBox")


def test_text_stays_text() -> None:
    svg = _pod_svg()
    texts = [t.text for t in _parse(svg).iter(f"{SVG_NS}text")]
    assert "Hartside" in texts and "Hospital" in texts and "43%" in texts


def test_rendering_is_reproducible() -> None:
    assert _pod_svg() == _pod_svg()


def test_every_id_is_prefixed_so_charts_can_share_a_page() -> None:
    first, second = _pod_svg("chart-a"), _pod_svg("chart-b")
    ids_a = set(re.findall(r'\bid="([^"]+)"', first))
    ids_b = set(re.findall(r'\bid="([^"]+)"', second))
    assert ids_a and all(i.startswith("chart-a") for i in ids_a)
    assert not ids_a & ids_b
    # Every internal reference points at an id of the same chart.
    refs = re.findall(r'href="#([^"]+)"', first) + re.findall(r"url\(#([^)]+)\)", first)
    assert refs and set(refs) <= ids_a


def test_labels_from_input_data_are_escaped_and_not_parsed_as_mathtext() -> None:
    svg = _pod_svg(label="<script>1</script> $x$")
    assert "<script>" not in svg
    assert "&lt;script&gt;1&lt;/script&gt; $x$" in svg
    svg = charts.place_of_death_chart("chart-t", "<b>title</b>", "a & b", [])
    assert "<title id=\"chart-t-title\">&lt;b&gt;title&lt;/b&gt;</title>" in svg
    assert "a &amp; b" in svg


def test_chart_id_is_html_safe() -> None:
    assert charts.chart_id("spc", "<script>", "E06 000001") == "chart-spc-script-e06-000001"


def test_text_colour_contrast() -> None:
    assert charts._text_colour(charts.OI_BLUE) == "#FFFFFF"
    assert charts._text_colour(charts.OI_SKY) == "#000000"
    assert charts._text_colour(charts.OI_YELLOW) == "#000000"


def test_spc_point_classes_known_answer() -> None:
    # values 10,11 alternating (9 points) then 30. mean = (5*10 + 4*11 + 30) / 10 = 12.4;
    # moving ranges: eight 1s and one 20 -> mR-bar = 28 / 9 = 3.111; upper limit =
    # 12.4 + 2.66 * 28 / 9 = 20.676, so 30 is beyond it (high). The first nine points are
    # all below the mean: a run of 9 >= 7 is a shift (low). No trend (alternating); no
    # two-of-three beyond the lower 2-sigma line (12.4 - 2/3 * 8.276 = 6.88).
    result = methods.xmr([10, 11, 10, 11, 10, 11, 10, 11, 10, 30])
    assert result.mean == pytest.approx(12.4)
    assert result.upper_limit == pytest.approx(12.4 + 2.66 * 28 / 9)
    classes = charts.spc_point_classes(result, "lower_is_better")
    assert classes == ["improving"] * 9 + ["concerning"]
    assert charts.spc_point_classes(result, "higher_is_better") == (
        ["concerning"] * 9 + ["improving"])
    assert charts.spc_point_classes(result, "neutral") == ["neither"] * 10


def test_spc_chart_marks_special_cause_by_colour_and_shape() -> None:
    result = methods.xmr([10, 11, 10, 11, 10, 11, 10, 11, 10, 30])
    labels = [f"2024-{m:02d}" for m in range(1, 11)]
    svg = charts.spc_chart("chart-spc", "Deaths", "XmR chart.", labels, result,
                           "lower_is_better", "count")
    texts = [t.text for t in _parse(svg).iter(f"{SVG_NS}text")]
    # The legend names each marking in words, so the meaning never rests on colour.
    for words in ("Mean", "Process limits", "Special cause: improvement",
                  "Special cause: concern"):
        assert words in texts
    assert "Common cause" not in texts  # no common-cause points in this series
    assert charts.OI_ORANGE.lower() in svg.lower() and charts.OI_BLUE.lower() in svg.lower()


def test_other_chart_types_render() -> None:
    point = charts.IntervalPoint
    panel = charts.GradientPanel(
        "Deaths in hospital", "%",
        [point("1", 50, 45, 55), point("2", 47, 43, 51), point("3", None, None, None),
         point("4", 41, 37, 45), point("5", 38, 34, 42)],
        reference=44.0, annotation="SII \u221214.2 (\u221220.1 to \u22128.3)")
    outputs = [
        charts.gradient_chart("chart-g", "Gradient", "d", [panel, panel]),
        charts.funnel_chart("chart-f", "Funnel", "d",
                            [charts.FunnelPoint("A", 800, 1800),
                             charts.FunnelPoint("B", 1300, 2500)], 43.4, "ICB 43.4%"),
        charts.line_chart("chart-l", "Projection", "d", ["2025", "2030", "2040"],
                          [charts.Series("Deaths", [100, 110, 125]),
                           charts.Series("Need", [75, None, 94])], "count"),
        charts.grouped_bar_chart("chart-b", "Causes", "d", ["Cancer", "HIV"],
                                 [charts.Series("Place", [27.0, None]),
                                  charts.Series("ICB", [26.0, 0.1])], "%"),
    ]
    for svg in outputs:
        root = _parse(svg)
        assert root.get("role") == "img"
    texts = [t.text for t in _parse(outputs[0]).iter(f"{SVG_NS}text")]
    assert "*" in texts  # the suppressed quintile is marked, not silently dropped
    assert any(t and t.startswith("SII") for t in texts)


def test_funnel_chart_draws_each_point_its_limits_and_a_legend_in_words() -> None:
    """The funnel plot (drawn as SVG directly): one marker per point, shaped and
    coloured by its position (funnel_marks), its label beside it, the four limit curves
    and the benchmark, and a legend that says what each mark means."""
    points = [charts.FunnelPoint("Low", 300, 1000),  # 30% against 45%: below 99.8%
              charts.FunnelPoint("Mid", 450, 1000), charts.FunnelPoint("", 470, 1000)]
    svg = charts.funnel_chart("chart-f", "Funnel", "d", points, 45.0, "ICB 45.0%",
                              "higher_is_better")
    root = _parse(svg)
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "Low" in texts and "Mid" in texts  # an empty label writes nothing
    for words in ("ICB 45.0%", "95% limits", "99.8% limits", "Below 99.8% limit (worse)",
                  "Above 99.8% limit (better)", "Within 99.8% limits (similar)"):
        assert words in texts
    marks = charts.funnel_marks(points, 45.0, "higher_is_better")
    assert [m.position for m in marks] == ["below_998", "within", "within"]
    plot = next(g for g in root.iter(f"{SVG_NS}g") if g.get("clip-path"))
    drawn = [e for e in plot if e.tag in (f"{SVG_NS}circle", f"{SVG_NS}polygon")]
    assert len(drawn) == 3  # one marker per point, the 'v' of the low one a polygon
    assert drawn[0].tag == f"{SVG_NS}polygon" and drawn[0].get("fill") == marks[0].colour
    curves = [e for e in plot if e.tag == f"{SVG_NS}path"]
    assert len(curves) == 5  # 95% and 99.8% limits either side, and the benchmark


def test_spc_chart_keeps_counts_off_negative_values() -> None:
    result = methods.xmr([1, 0, 2, 0, 1, 0, 3, 0, 1, 0])  # limits reach below zero
    svg = charts.spc_chart("chart-s", "Deaths", "d", [str(i) for i in range(10)], result,
                           "neutral", "count")
    texts = [t.text for t in _parse(svg).iter(f"{SVG_NS}text")]
    assert "0" in texts and not any(t and t.startswith(("-", "\u2212")) for t in texts)


def test_the_care_home_segment_says_religious_establishments_are_in_it() -> None:
    """Religious establishments are published within care homes (place_of_death.sql):
    the legend says so, its keys neither overlap each other nor the bars, and no key
    reads 'Care home' alone."""
    rows = [(name, {"pod_home_pct": 30.0, "pod_care_home_pct": 20.0,
                    "pod_hospital_pct": 45.0, "pod_hospice_pct": 3.0, "pod_other_pct": 2.0})
            for name in ("ICB", "St Albright & Coastal Vale")]
    root = _parse(charts.place_of_death_chart("chart-p", "Place of death", "d", rows))
    texts = [t for t in root.iter(f"{SVG_NS}text")
             if t.text in [name for _, name, _ in charts.POD_CATEGORIES]]
    names = [t.text for t in texts]
    assert "Care home or religious establishment" in names and "Care home" not in names
    assert len(names) == 5
    colours = {colour for _, _, colour in charts.POD_CATEGORIES}
    bars_top = min(float(r.get("y", "0")) for r in root.iter(f"{SVG_NS}rect")
                   if r.get("fill") in colours and r.get("height") != "9")
    spans = []
    for t in texts:
        x, y = float(t.get("x", "0")), float(t.get("y", "0"))
        spans.append((y, x - 18, x + 0.6 * 9 * len(t.text or "")))  # key box + words
        assert y <= bars_top, (t.text, y, bars_top)
    spans.sort()
    for (y1, _, end), (y2, start, _) in zip(spans, spans[1:], strict=False):
        assert y1 != y2 or start >= end, spans


def _placed_texts(element: ET.Element, dx: float = 0.0, dy: float = 0.0):
    """(text element, x, y) in the chart's own units: a group's translate() moves what
    it holds (the funnel and SPC legends draw each key in one)."""
    move = re.match(r"translate\(([-\d.]+)[ ,]+([-\d.]+)\)", element.get("transform", ""))
    if move:
        dx, dy = dx + float(move.group(1)), dy + float(move.group(2))
    if element.tag == f"{SVG_NS}text":
        yield element, dx + float(element.get("x", "0")), dy + float(element.get("y", "0"))
    for child in element:
        yield from _placed_texts(child, dx, dy)


def _legend_spans(root: ET.Element, names: list[str],
                  key: float) -> list[tuple[float, float, float]]:
    """(y, left, right) of each legend entry: its key (`key` units left of the words)
    and its words at 9 pt, 0.6 em a character."""
    spans = []
    for t, x, y in _placed_texts(root):
        if t.text in names and t.get("font-size") == "9":
            spans.append((y, x - key, x + 0.6 * 9 * len(t.text or "")))
    return sorted(spans)


@pytest.mark.parametrize("kind", ["place_of_death", "line", "funnel", "spc", "gradient",
                                  "bars"])
def test_a_legend_is_read_whole_on_a_phone(kind) -> None:
    """A 390 px phone shows the left ~330 units of a chart before it scrolls sideways
    (charts.PHONE_WIDTH): every chart's legend flows onto more rows within it rather
    than running off to the right ('Projected deaths with pallia...' was cut at the
    screen's edge; the funnel and SPC legends stood in three columns 175 units apart,
    to x = 540; the gradient's reference line key at x = 276); keys never overlap, and
    the legend stays above the plot."""
    plot_top = None
    if kind == "place_of_death":
        rows = [(name, {"pod_home_pct": 30.0, "pod_care_home_pct": 20.0,
                        "pod_hospital_pct": 45.0, "pod_hospice_pct": 3.0,
                        "pod_other_pct": 2.0}) for name in ("ICB", "Ashbourne Vale")]
        svg = charts.place_of_death_chart("chart-p", "Place of death", "d", rows)
        names, key = [name for _, name, _ in charts.POD_CATEGORIES], 18.0
    elif kind == "line":
        names = ["Projected deaths", "Projected deaths with palliative care need",
                 "Deaths in hospital, Ashbourne Vale", "ICB"]
        series = [charts.Series(label=n, values=[1.0, 2.0, 3.0]) for n in names]
        svg = charts.line_chart("chart-l", "Lines", "d", ["2025", "2026", "2027"], series,
                                "count")
        key = 26.0
    elif kind == "funnel":
        points = [charts.FunnelPoint("Z10001", 300, 1000), charts.FunnelPoint("", 600, 1000),
                  charts.FunnelPoint("", 450, 1000)]
        svg = charts.funnel_chart("chart-f", "Funnel", "d", points, 45.0,
                                  "ICB 45.0%", "higher_is_better")
        names = ["ICB 45.0%", "95% limits", "99.8% limits", "Above 99.8% limit (better)",
                 "Below 99.8% limit (worse)", "Within 99.8% limits (similar)"]
        key = 26.0
    elif kind == "spc":
        # Neutral polarity: the longest key, 'Special cause (neither better nor worse)'.
        result = methods.xmr([10, 11, 10, 11, 10, 11, 10, 11, 10, 30])
        svg = charts.spc_chart("chart-s", "Deaths", "d", [str(i) for i in range(10)],
                               result, "neutral", "count")
        names = ["Mean", "Process limits", "Special cause (neither better nor worse)"]
        key = 26.0
    elif kind == "gradient":
        point = charts.IntervalPoint
        panel = charts.GradientPanel(
            "Deaths in hospital", "%",
            [point(str(q), 50 - 3 * q, 45 - 3 * q, 55 - 3 * q) for q in range(1, 6)],
            reference=44.0)
        svg = charts.gradient_chart("chart-g", "Gradient", "d", [panel] * 3,
                                    reference_label="All quintiles, Ashbourne Vale")
        names = ["Quintile value, 95% confidence interval", "All quintiles, Ashbourne Vale"]
        key = 26.0
    elif kind == "bars":
        # A long cause group puts the plot's left edge, where the legend starts, at 184.
        names = ["North East Lincolnshire Place", "ICB"]
        series = [charts.Series(n, [27.0, 3.0]) for n in names]
        svg = charts.grouped_bar_chart("chart-b", "Causes", "d",
                                       ["Dementia and Alzheimer's disease", "HIV"],
                                       series, "%")
        key = 21.0
    root = _parse(svg)
    if kind in ("funnel", "spc"):
        clip = next(root.iter(f"{SVG_NS}clipPath"))  # the plot area
        plot_top = float(next(clip.iter(f"{SVG_NS}rect")).get("y", "0"))
    elif kind == "gradient":
        plot_top = min(y for t, _, y in _placed_texts(root) if t.text == "Deaths in hospital")
    elif kind == "bars":  # the axis line's top: the path 'M{x0} {y0}V...'
        axis = next(e for e in root.iter(f"{SVG_NS}path") if "V" in e.get("d", ""))
        plot_top = float(axis.get("d", "").split("V")[0].split()[-1])
    spans = _legend_spans(root, names, key)
    assert len(spans) == len(names)
    if plot_top is not None:
        assert max(y for y, _, _ in spans) + 4 < plot_top - 9, (spans, plot_top)
    assert all(0 <= left and right <= charts.PHONE_WIDTH for _, left, right in spans), spans
    assert len({y for y, _, _ in spans}) > 1  # more rows than the desktop's one
    for (y1, _, end), (y2, start, _) in zip(spans, spans[1:], strict=False):
        assert y1 != y2 or start >= end, spans
