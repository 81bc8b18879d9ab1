"""The report laid out on a desktop (1366 px) and a phone (390 px): nothing clipped.

The inequality small multiples: each panel's SII / RII box stays inside its panel (no
box over a neighbour's, none cut off at the chart's edge), and every area has a panel,
with the reason written in it when there is no gradient to draw. Tables: the page never
scrolls sideways; a wide table scrolls inside its own wrapper, its caption staying in
view, its headers broken between words only, and every cell holding its text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from report_fixtures import HEADLINE_PERIOD, make_bundle

from eolneeds import charts
from eolneeds.report_html import build_context

SVG_NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]
             ) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] \
        and b[1] < a[1] + a[3]


def test_sii_boxes_fit_their_panels_and_never_meet() -> None:
    """Six panels (two rows of three) each with the longest SII / RII lines a report
    writes: every box lies inside the chart, inside its own panel's column, apart from
    the others, and is wide enough for its text at the font size it is drawn with."""
    point = charts.IntervalPoint
    long_sii = "SII \u22121,234.5 (\u22121,432.3 to \u22121,056.2)"
    long_rii = "RII 0.47 (0.42 to 0.53)"
    panels = [charts.GradientPanel(
        f"Place {i}", "per 100,000",
        [point(str(q), 1300.0 - 150 * q, 1200.0 - 150 * q, 1400.0 - 150 * q)
         for q in range(1, 6)],
        reference=900.0, annotation=f"{long_sii}\n{long_rii}") for i in range(6)]
    root = _parse(charts.gradient_chart("chart-g", "Gradient", "d", panels))
    width = float(root.get("viewBox", "").split()[2])
    boxes = [tuple(float(r.get(k, "0")) for k in ("x", "y", "width", "height"))
             for r in root.iter(f"{SVG_NS}rect") if r.get("class") == "note"]
    assert len(boxes) == 6
    column = width / 3
    for i, box in enumerate(boxes):
        assert box[0] >= 0 and box[0] + box[2] <= width, box
        # Inside its own third of the chart (the panels sit in three columns).
        assert box[0] >= (i % 3) * column - 1 and box[0] + box[2] <= ((i % 3) + 1) * column
        for other in boxes[i + 1:]:
            assert not _overlap(box, other), (box, other)  # type: ignore[arg-type]
    # Each line of text is its own <text>, sized so that it fits the box drawn for it
    # (0.6 em a character is wider than Arial's digits, 0.556 em).
    notes = [t for t in root.iter(f"{SVG_NS}text")
             if t.text and t.text.startswith(("SII", "RII"))]
    assert [t.text for t in notes[:2]] == [long_sii, long_rii]
    for text in notes:
        size = float(text.get("font-size", "0"))
        assert size >= 5.0, size
        assert 0.6 * size * len(text.text or "") + 8 <= boxes[0][2] + 0.1  # 1 decimal


def test_every_area_has_a_panel_and_an_empty_one_says_why() -> None:
    """A Place whose every quintile value is suppressed keeps its panel in the ICB's
    small multiples, with the reason in it and in the chart's text alternative."""
    bundle = make_bundle()
    place = bundle.places[1]
    name = bundle.config.place_name(place)
    hide = ((pl.col("indicator_id") == "ea_last90_3plus_pct") & (pl.col("area_code") == place)
            & (pl.col("breakdown") == "imd_quintile") & (pl.col("period") == HEADLINE_PERIOD))
    bundle.indicators = bundle.indicators.with_columns(
        pl.when(hide).then(pl.lit(True)).otherwise(pl.col("suppressed")).alias("suppressed"),
        *(pl.when(hide).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("value", "numerator", "lower_ci_95", "upper_ci_95")))
    context = build_context(bundle)
    chart = next(c for c in context.inequality_charts
                 if c.id == "chart-inequality-ea_last90_3plus_pct")
    root = _parse(str(chart.svg))
    titles = [t.text for t in root.iter(f"{SVG_NS}text")]
    for area in [bundle.config.place_name(p) for p in bundle.places]:
        assert area in titles, area
    text = " ".join(t or "" for t in titles)
    assert "No gradient: every quintile value is suppressed (small numbers)" in text
    assert (f"No gradient drawn for {name}: every quintile value is suppressed "
            "(small numbers).") in chart.summary


#: Run in the page at each width (details opened): what overflows, in px.
LAYOUT = r"""
(() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const out = {page: document.documentElement.scrollWidth - window.innerWidth,
               captions: [], cells: [], boxes: [], headers: [], labels: []};
  for (const cap of document.querySelectorAll('.table-wrap caption')) {
    const wrap = cap.closest('.table-wrap').getBoundingClientRect();
    const range = document.createRange(); range.selectNodeContents(cap);
    const right = Math.max(...Array.from(range.getClientRects()).map(r => r.right));
    if (right > wrap.right + 1) out.captions.push(cap.textContent.slice(0, 50));
  }
  for (const cell of document.querySelectorAll('th, td')) {
    if (cell.scrollWidth > cell.clientWidth + 1) out.cells.push(cell.textContent.slice(0, 40));
  }
  for (const th of document.querySelectorAll('thead th')) {
    // A header broken inside a word ('Engla' / 'nd'): each word on one line.
    for (const node of th.childNodes) {
      if (node.nodeType !== 3) continue;
      let at = 0;
      for (const word of node.textContent.split(/(\s+)/)) {
        if (word.trim()) {
          const r = document.createRange(); r.setStart(node, at); r.setEnd(node, at + word.length);
          const tops = new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top)));
          if (tops.size > 1) out.headers.push(word);
        }
        at += word.length;
      }
    }
  }
  for (const svg of document.querySelectorAll('svg.chart')) {
    // Every label of every chart inside the chart, none printed over another.
    const s = svg.getBoundingClientRect();
    const texts = Array.from(svg.querySelectorAll('text'))
      .map(t => [t.textContent, t.getBoundingClientRect()]).filter(x => x[1].width);
    texts.forEach(([words, a], i) => {
      if (a.left < s.left - 1 || a.right > s.right + 1 || a.top < s.top - 1
          || a.bottom > s.bottom + 1) out.labels.push([svg.id, words, 'outside']);
      texts.slice(i + 1).forEach(([other, b]) => {
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1
            && b.top < a.bottom - 1) out.labels.push([svg.id, words, other]);
      });
    });
    const rects = Array.from(svg.querySelectorAll('rect.note')).map(e => e.getBoundingClientRect());
    rects.forEach((a, i) => {
      if (a.left < s.left - 1 || a.right > s.right + 1) out.boxes.push([svg.id, 'outside']);
      rects.slice(i + 1).forEach(b => {
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
          out.boxes.push([svg.id, 'overlap']);
      });
    });
  }
  return out;
})()
"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1366])
def test_nothing_is_clipped_on_a_phone_or_a_desktop(assessed_sample, width: int) -> None:
    from browser import Browser, require_chromium

    require_chromium()
    html = next(Path(p) for p in assessed_sample.outputs if Path(p).suffix == ".html")
    with Browser(width=width, height=900) as browser:
        browser.open(html)
        found = browser.evaluate(LAYOUT)
        notes = browser.evaluate("document.querySelectorAll('rect.note').length")
    assert notes > 0  # the sample's gradient charts carry SII boxes
    assert found["page"] <= 0, found["page"]  # the page never scrolls sideways
    assert found["captions"] == []
    assert found["cells"] == []
    assert found["headers"] == []
    assert found["boxes"] == []
    assert found["labels"] == []


def test_the_css_gives_scrolling_tables_and_charts_a_visible_cue() -> None:
    """The cue is in the stylesheet: the wrapper's edge shadows (local backgrounds over
    scroll ones) and, on a phone, the chart's line of words."""
    css = (Path(__file__).resolve().parents[1] / "report_templates" / "report.css").read_text(
        encoding="utf-8")
    wrap = css[css.index(".table-wrap {"):]
    wrap = wrap[:wrap.index("}")]
    assert "background-attachment: local, local, scroll, scroll" in wrap
    assert re.search(r"\.chart-svg::after \{ content: \"Scroll sideways", css)


def test_funnel_labels_of_neighbouring_places_do_not_print_over_each_other() -> None:
    """Two Places of nearly the same size and value (as Brackenford and Dunmere in the
    demo): their names are drawn at least a line apart."""
    points = [charts.FunnelPoint("Brackenford", 488, 1100),
              charts.FunnelPoint("Dunmere", 480, 1095),
              charts.FunnelPoint("Castlemoor", 410, 1030)]
    root = _parse(charts.funnel_chart("chart-f", "Funnel", "d", points, 44.4, "ICB 44.4%"))
    ys = {t.text: float(t.get("y", "0")) for t in root.iter(f"{SVG_NS}text")
          if t.text in ("Brackenford", "Dunmere", "Castlemoor")}
    assert len(ys) == 3
    assert abs(ys["Brackenford"] - ys["Dunmere"]) >= 10, ys


def test_place_of_death_labels_and_axis_fit_the_chart() -> None:
    """The longest area label (right-aligned before the bars) starts inside the chart,
    and the '100%' under the axis's end ends inside it (10 pt, 0.6 em a character)."""
    rows = [(name, {"pod_home_pct": 30.0, "pod_hospital_pct": 45.0})
            for name in ("ICB", "Dunmere", "St Albright & Coastal Vale")]
    root = _parse(charts.place_of_death_chart("chart-p", "Place of death", "d", rows))
    width = float(root.get("viewBox", "").split()[2])
    for t in root.iter(f"{SVG_NS}text"):
        size, x = float(t.get("font-size", "0")), float(t.get("x", "0"))
        span = 0.6 * size * len(t.text or "")
        start = {"end": x - span, "middle": x - span / 2}.get(t.get("text-anchor", ""), x)
        assert start >= 0 and start + span <= width, (t.text, start, span, width)


@pytest.mark.browser
def test_the_england_table_fits_a_desktop_screen(assessed_sample) -> None:
    """At 1366 px the England table needs no sideways scroll: the notes under England's
    values ('2023, not 2025-26; England leaves out religious establishments; counted
    here') wrap under the figure instead of widening its column (they ran the table past
    the page, its Source column squeezed to a word a line)."""
    from browser import Browser, require_chromium

    require_chromium()
    html = next(Path(p) for p in assessed_sample.outputs if Path(p).suffix == ".html")
    assert "England leaves out religious establishments" in html.read_text(encoding="utf-8")
    with Browser(width=1366, height=900) as browser:
        browser.open(html)
        overflow = browser.evaluate(
            "(() => { const w = document.querySelector('#england .table-wrap');"
            " return w.scrollWidth - w.clientWidth; })()")
    assert overflow <= 1, overflow


#: Each contents entry: its left edge less the width of its number ('10. ' in the list's
#: own font), against the contents box's left edge; a marker sits just left of its entry.
CONTENTS_MARKERS = """(() => {
  const box = document.querySelector('nav.contents').getBoundingClientRect();
  const probe = document.createElement('span');
  probe.style.whiteSpace = 'pre';
  return Array.from(document.querySelectorAll('nav.contents li')).map((li, i) => {
    const nested = li.parentElement.closest('li') !== null;
    const index = Array.from(li.parentElement.children).indexOf(li) + 1;
    probe.textContent = (nested ? String.fromCharCode(96 + index) : String(index)) + '. ';
    li.appendChild(probe);
    const width = probe.getBoundingClientRect().width;
    li.removeChild(probe);
    return [probe.textContent, li.getBoundingClientRect().left - width - box.left];
  });
})()"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1366])
def test_every_contents_number_shows_whole_on_a_phone_and_a_desktop(tmp_path, width) -> None:
    """The contents list's numbers run to 10 and 11: at 390 px a 1.4em indent put
    '10.' and '11.' partly outside the box (a phone showed '0.' and '1.')."""
    from browser import Browser, require_chromium

    from eolneeds.report_html import render_html

    require_chromium()
    path = tmp_path / "report.html"
    path.write_text(render_html(make_bundle()), encoding="utf-8")
    with Browser(width=width, height=900) as browser:
        browser.open(path)
        markers = browser.evaluate(CONTENTS_MARKERS)
    assert len([m for m in markers if m[0][0].isdigit()]) >= 10, markers
    assert all(room >= 0 for _, room in markers), markers
