"""Practices and scenarios in the outputs (issue 13): the Excel pack's Practices and
Scenarios sheets to the spreadsheet standard, and the report's per-Place tables, on the
session's assessed sample."""

from __future__ import annotations

import re

import polars as pl
from openpyxl import load_workbook


def _table_cells(ws):
    (name, ref), = ws.tables.items()
    rows = list(ws[ref])
    return name, [c.value for c in rows[0]], [[c.value for c in r] for r in rows[1:]]


def test_pack_has_practices_and_scenarios_sheets(assessed_sample) -> None:
    path = assessed_sample.out_dir / "pack-icb.xlsx"
    wb = load_workbook(path)
    try:
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
    finally:
        wb.close()
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
    # (On this 3,000-death sample disclosure control leaves one or two: the register
    # counts of most practices leave small remainders.)
    below = funnel.filter(~pl.col("suppressed") & (pl.col("z") < 0)
                          & (pl.col("practice_code") != "unknown"))
    assert len(tables) == below["place"].n_unique()
    listed = set(re.findall(r"<th[^>]*scope=\"row\"[^>]*>\s*(Z\d{5})", "".join(
        re.findall(r"furthest below the ICB.*?</table>", report, flags=re.S))))
    assert listed <= set(below["practice_code"].to_list()) and not listed & hidden
    assert bool(listed) == (below.height > 0)
    # A funnel plot of each Place's practices where any is published, its data table
    # naming no hidden practice. (On this 3,000-death sample most Places' register
    # counts leave small remainders -- register deaths without a need cause, need deaths
    # on a register without a DNACPR decision -- so their practice rows are hidden and
    # they get no funnel, in the latest year none does; on a 20,000-death project all do.)
    charts = re.findall(r'<svg[^>]*id="chart-practice-funnel-[^"]*"', report)
    shown = funnel.filter(~pl.col("suppressed") & (pl.col("practice_code") != "unknown")
                          & (pl.col("need_deaths") > 0) & pl.col("icb_value").is_not_null())
    assert len(charts) == shown["place"].n_unique()
    plotted = "".join(re.findall(
        r"<caption[^>]*>Identification by GP practice, .*?</table>", report, flags=re.S))
    assert not set(re.findall(r"(Z\d{5})", plotted)) & hidden
    captions = re.findall(r"<caption[^>]*>\s*What if\? Modelled scenarios for", report)
    assert len(captions) == len(assessed_sample.bundle.places)


def test_disclosure_attacks_find_nothing_in_the_sample_practice_tables(assessed_sample) -> None:
    """The attacker's linear algebra of test_practice.py on a realistic table: every
    practice, PCN and the ICB, every period and every count the practice rows publish."""
    from tests.test_practice import recoverable_counts

    funnel = assessed_sample.bundle.practices
    pcn_of = dict(funnel.select("practice_code", "pcn_code").unique().iter_rows())
    frame = assessed_sample.indicators
    hidden = frame.filter(pl.col("breakdown").is_in(["gp_practice", "pcn"])
                          & pl.col("suppressed"))
    assert hidden.height > 0  # practices are small: there is something to protect
    assert recoverable_counts(frame, pcn_of) == []
