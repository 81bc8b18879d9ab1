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
    assert header[:3] == ["PCN code", "PCN name", "Practices in the PCN (count)"]
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
    from eolneeds.practice import place_practices

    for place in hidden["place"].unique().to_list():
        (sentence,) = hidden_bullets(place_practices(funnel, period, place))
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


def _data_groups(path) -> dict[str, set[str]]:
    """Breakdown -> the Groups (codes) of the pack's Indicator data rows in it, for the
    GP practice and PCN breakdowns (whatever words the Breakdown column uses)."""
    wb = load_workbook(path, read_only=True)
    try:
        rows = [list(r) for r in wb["Indicator_data"].iter_rows(values_only=True)]
    finally:
        wb.close()
    top = next(i for i, r in enumerate(rows) if r and r[0] == "Indicator ID")
    header = [str(h) for h in rows[top] if h is not None]
    b, g = header.index("Breakdown"), header.index("Group")
    out: dict[str, set[str]] = {"practice": set(), "pcn": set()}
    for r in rows[top + 1:]:
        if not r or r[0] is None:
            continue
        words = str(r[b]).lower()
        if "practice" in words:
            out["practice"].add(str(r[g]))
        elif "pcn" in words or "primary care network" in words:
            out["pcn"].add(str(r[g]))
    return out


def test_place_pack_holds_only_its_own_practices_and_pcns(assessed_sample) -> None:
    """Known answer from how the sample is made (eolneeds/sample.py): Place i of PLACES
    (config order) holds practices 'Z{i+1}nnnn' (every LSOA's practice is in its Place)
    and PCNs 'U' + i*100 + k. The ICB pack holds every practice and PCN; a Place's pack
    exactly those of its Place, whatever is hidden; no Place pack holds the ICB-wide row
    of deaths with no known practice."""
    from eolneeds.sample import PLACES

    icb = _data_groups(assessed_sample.out_dir / "pack-icb.xlsx")
    codes = [p.code for p in assessed_sample.config.places]
    assert codes == [p.code for p in PLACES]
    seen: set[str] = set()
    for i, code in enumerate(codes):
        place = _data_groups(assessed_sample.out_dir / f"pack-{code.lower()}.xlsx")
        own = {c for c in icb["practice"] if c.startswith(f"Z{i + 1}") and len(c) == 6}
        assert own, code
        assert place["practice"] == own, code
        own_pcns = {c for c in icb["pcn"]
                    if re.fullmatch(r"U\d{5}", c) and int(c[1:]) // 100 == i}
        # A practice in no PCN belongs to its Place: 'No PCN' goes where its practices are.
        assert place["pcn"] - {"no_pcn", "No PCN"} == own_pcns, code
        seen |= place["practice"]
    # Every practice is in some Place's pack; only the no-practice row is the ICB's alone.
    assert icb["practice"] - seen <= {"unknown", "Not recorded"}


def test_place_packs_split_the_handbuilt_practices_by_place(tmp_path) -> None:
    """Known answer from the hand-built practice database (tests/handbuilt_db.py): P1
    (LSOAs L1, L2) holds A1 and A2, both in PCN U00001; P2 (L3) holds B1 and B2 (PCN
    U00002) and C1, listed by ODS in no PCN ('no_pcn'). The death with no practice
    ('unknown') is the ICB's only. B2 was in U00001 until 2023: its current PCN decides."""
    from datetime import date

    from eolneeds.assess import AssessOptions, assess_project
    from eolneeds.config import DisclosureConfig
    from eolneeds.db import connect
    from eolneeds.reporting import Reporter
    from tests.handbuilt_db import build_practice_db, handbuilt_config

    config = handbuilt_config(tmp_path, disclosure=DisclosureConfig(min_count=0))
    build_practice_db(config.database_path)
    con = connect(config.database_path)
    try:  # C1 in ODS's practice list, in no PCN (as tests/test_epraccur.py)
        con.execute("INSERT INTO practices (practice_code, practice_name, pcn_code, "
                    "start_date, end_date, source_file_id, source_row) "
                    "VALUES ('C1', 'X', NULL, ?, NULL, 9, 1)", [date(1974, 4, 1)])
    finally:
        con.close()
    out = tmp_path / "out"
    assess_project(config, AssessOptions(formats=["xlsx"], out=out, per_place=True),
                   reporter=Reporter())
    icb = _data_groups(out / "pack-icb.xlsx")
    assert icb == {"practice": {"A1", "A2", "B1", "B2", "C1", "unknown"},
                   "pcn": {"U00001", "U00002", "no_pcn", "unknown"}}
    assert _data_groups(out / "pack-p1.xlsx") == {"practice": {"A1", "A2"},
                                                  "pcn": {"U00001"}}
    assert _data_groups(out / "pack-p2.xlsx") == {"practice": {"B1", "B2", "C1"},
                                                  "pcn": {"U00002", "no_pcn"}}
    wb = load_workbook(out / "pack-p2.xlsx", read_only=True)
    try:
        practices = [r[0] for r in wb["Practices"].iter_rows(values_only=True)]
        pcns = [r[0] for r in wb["PCNs"].iter_rows(values_only=True)]
    finally:
        wb.close()
    # The Practices and PCNs sheets list the same ones.
    assert {"B1", "B2", "C1"} <= set(practices) and "Not recorded" not in practices
    assert {"U00002", "No PCN"} <= set(pcns) and "Not known" not in pcns
