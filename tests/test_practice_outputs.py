"""Practices and scenarios in the outputs (issue 13): the Excel pack's Practices and
Scenarios sheets to the spreadsheet standard, and the report's per-Place tables, on the
session's assessed sample."""

from __future__ import annotations

import re

import polars as pl
import pytest
from openpyxl import load_workbook


def _table_cells(ws):
    (name, ref), = ws.tables.items()
    rows = list(ws[ref])
    return name, [c.value for c in rows[0]], [[c.value for c in r] for r in rows[1:]]


@pytest.fixture(scope="module")
def icb_pack(assessed_sample):
    """The session sample's ICB pack, loaded once for the tests that only read it (a
    load of its 300,000 cells with their styles is about 5 CPU s)."""
    wb = load_workbook(assessed_sample.out_dir / "pack-icb.xlsx")
    yield wb
    wb.close()


def test_pack_has_practices_and_scenarios_sheets(assessed_sample, icb_pack) -> None:
    wb = icb_pack
    assert {"Practices", "PCNs", "Scenarios"} <= set(wb.sheetnames)
    _, header, pcn_rows = _table_cells(wb["PCNs"])
    assert header[:3] == ["PCN code", "PCN name", "Practices (count)"]
    assert all(v is not None and v != "" for r in pcn_rows for v in r)
    assert len(pcn_rows) == assessed_sample.bundle.pcns.filter(
        pl.col("period") == assessed_sample.headline_period).height
    name, header, rows = _table_cells(wb["Practices"])
    assert name == "Practices"
    assert header[:5] == ["Practice code", "Practice name", "PCN code", "PCN name",
                          "Place"]
    # No blank cells: a hidden figure is [c], a missing one [x].
    assert all(v is not None and v != "" for r in rows for v in r)
    funnel = assessed_sample.bundle.practices
    latest = funnel.filter(pl.col("period") == assessed_sample.headline_period)
    assert len(rows) == latest.height
    by_code = {r[0]: r for r in rows}
    for rec in latest.filter(pl.col("suppressed")).iter_rows(named=True):
        code = rec["practice_code"] if rec["practice_code"] != "unknown" else "Not recorded"
        assert by_code[code][5] == "[c]" and by_code[code][7] == "[c]"
    name, header, rows = _table_cells(wb["Scenarios"])
    assert header[:7] == ["Scenario", "Area", "Measure", "Unit", "Modelled value", "Low",
                          "High"]
    assert all(v is not None and v != "" for r in rows for v in r)
    assert any(str(r[7]).startswith("Modelled, not observed") for r in rows)
    # A Place's pack lists only its own practices.
    code = assessed_sample.config.places[0].code
    place_pack = next(p for p in assessed_sample.outputs if p.name == f"pack-{code.lower()}.xlsx")
    wb = load_workbook(place_pack)
    try:
        _, _, rows = _table_cells(wb["Practices"])
        mine = latest.filter(pl.col("place") == code)
        assert len(rows) == mine.height
    finally:
        wb.close()


def test_report_names_practices_below_the_icb_per_place(assessed_sample) -> None:
    report = (assessed_sample.out_dir / "report.html").read_text(encoding="utf-8")
    funnel = assessed_sample.bundle.practices.filter(
        pl.col("period") == assessed_sample.headline_period)
    hidden = set(funnel.filter(pl.col("suppressed"))["practice_code"].to_list())
    tables = re.findall(r"<caption[^>]*>Practices of (.*?) furthest below the ICB.*?</table>",
                        report, flags=re.S)
    # A table for each Place with a published practice below the ICB, and only those.
    below = funnel.filter(~pl.col("suppressed") & (pl.col("z") < 0)
                          & (pl.col("practice_code") != "unknown"))
    assert len(tables) == below["place"].n_unique()
    listed = set(re.findall(r"<th[^>]*scope=\"row\"[^>]*>\s*(Z\d{5})", "".join(
        re.findall(r"<caption[^>]*>Practices of .*? furthest below the ICB.*?</table>",
                   report, flags=re.S))))
    assert listed <= set(below["practice_code"].to_list()) and not listed & hidden
    assert bool(listed) == (below.height > 0)
    # A funnel plot of each Place's practices where any is published, its data table
    # naming no hidden practice.
    charts = re.findall(r'<svg[^>]*id="chart-practice-funnel-[^"]*"', report)
    shown = funnel.filter(~pl.col("suppressed") & (pl.col("practice_code") != "unknown")
                          & (pl.col("need_deaths") > 0) & pl.col("icb_value").is_not_null())
    assert len(charts) == shown["place"].n_unique()
    plotted = "".join(re.findall(
        r"<caption[^>]*>Identification by GP practice, .*?</table>", report, flags=re.S))
    assert not set(re.findall(r"(Z\d{5})", plotted)) & hidden
    captions = re.findall(r"<caption[^>]*>\s*What if\? Modelled scenarios for", report)
    assert len(captions) == len(assessed_sample.bundle.places)


def test_hidden_practices_say_why_the_same_in_table_report_and_pack(assessed_sample,
                                                                   icb_pack) -> None:
    """A hidden practice's reason is the rule its row of the indicator table gives in
    its note (bundle.suppression_reason), the same for every hidden practice, and the
    report and the pack repeat it: the pack's Position column says 'not shown:
    <reason>', each Place's report section counts its hidden practices. Never the old
    blanket 'too few deaths to publish'."""
    import html

    from eolneeds.bundle import suppression_reason
    from eolneeds.practice import FUNNEL_INDICATOR
    from eolneeds.report_practice import hidden_bullets

    period = assessed_sample.headline_period
    funnel = assessed_sample.bundle.practices.filter(pl.col("period") == period)
    hidden = funnel.filter(pl.col("suppressed"))
    assert hidden.height > 0  # a 3,000-death sample has small practices
    notes = {r["breakdown_value"]: r["note"] for r in assessed_sample.indicators.filter(
        (pl.col("indicator_id") == FUNNEL_INDICATOR) & (pl.col("breakdown") == "gp_practice")
        & (pl.col("period") == period) & pl.col("suppressed")).iter_rows(named=True)}
    assert set(notes) == set(hidden["practice_code"].to_list())
    rule = "a count of 1-7, or a count that would let one be worked out (disclosure control)"
    for r in hidden.iter_rows(named=True):
        assert r["reason"] == rule == suppression_reason(notes[r["practice_code"]])
    _, header, rows = _table_cells(icb_pack["Practices"])
    where = header.index("Position against the ICB")
    by_code = {r[0]: r for r in rows}
    for r in hidden.iter_rows(named=True):
        code = r["practice_code"] if r["practice_code"] != "unknown" else "Not recorded"
        assert by_code[code][where] == f"not shown: {r['reason']}"
    report = (assessed_sample.out_dir / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", report)
    assert "too few deaths to publish" not in text
    for place in hidden["place"].unique().to_list():
        (sentence,) = hidden_bullets(funnel.filter(pl.col("place") == place))
        assert html.escape(sentence, quote=False) in text, sentence


def test_funnels_label_their_x_axis_with_their_own_denominator(assessed_sample) -> None:
    """A practice funnel plots need deaths, not deaths: its x axis says so; a Place
    funnel's axis names its indicator's denominator (the catalogue's words)."""
    report = (assessed_sample.out_dir / "report.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg\b.*?</svg>", report, re.S)
    practice_svgs = [s for s in svgs if 'id="chart-practice-funnel' in s]
    assert practice_svgs
    for svg in practice_svgs:
        assert "Need deaths (denominator)" in svg and "Number of deaths" not in svg
    place_svgs = [s for s in svgs if 'id="chart-funnel-' in s]
    assert place_svgs
    assert all("(denominator)" in svg for svg in place_svgs)
