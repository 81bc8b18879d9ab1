"""The HTML report's practice and scenario tables for a Place section (issue 13): the
practices furthest below the ICB in identification (with their PCN and funnel position),
the practices outside the 99.8% funnel limits, and the what-if scenarios with their
ranges and assumptions. report_sections.PlaceSections calls these and places the tables in the
Place's questions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from eolneeds.formatting import MISSING, fmt_count, fmt_interval, fmt_value, plural
from eolneeds.practice import POSITIONS, furthest_below, place_practices, shown_pcn

if TYPE_CHECKING:
    from eolneeds.report_context import Chart, ReportData, Table

#: Practices listed per Place.
FURTHEST_BELOW = 5
_MEASURE = {"people": ("People affected", "people"), "bed_days": ("Bed days freed", "bed days"),
            "cost": ("Cost of the bed days freed", "£")}


def practice_tables(builder: ReportData, code: str) -> tuple[list[Table], list[str]]:
    """(tables, bullets) for a Place: its practices furthest below the ICB and, in words,
    those outside the 99.8% limits."""
    from eolneeds.report_context import Cell, Table

    funnel = builder.bundle.practices
    if funnel is None or funnel.height == 0:
        return [], []
    name = builder.place_name(code)
    below = furthest_below(funnel, builder.period, code, FURTHEST_BELOW)
    mine = place_practices(funnel, builder.period, code)
    bullets = []
    outside = mine.filter(pl.col("position") == "below_99_8")
    icb_hidden = mine.height > 0 and mine["icb_value"].is_null().all()
    if mine.height:
        if icb_hidden:
            # No funnel plot can be drawn: say so where it would have been.
            bullets.append(f"No funnel plot of the practices of {name}: the ICB's figure "
                           "they would be compared with is not published (disclosure "
                           "control), so no practice is placed against it.")
        elif outside.height:
            listed = "; ".join(f"{r['practice_code']}{_named(r['practice_name'])} (PCN "
                               f"{shown_pcn(r['pcn_code'], 'not known')}"
                               f"{_named(r['pcn_name'])}): "
                               f"{fmt_value(r['value'], '%')}"
                               for r in outside.iter_rows(named=True))
            bullets.append(f"Practices identifying fewer people than the ICB beyond the 99.8% "
                           f"funnel limits: {listed}.")
        else:
            bullets.append(f"No practice of {name} is below the ICB beyond the 99.8% funnel "
                           "limits.")
        bullets.extend(hidden_bullets(mine))
    if below.height == 0:
        return [], bullets
    rows = []
    for r in below.iter_rows(named=True):
        rows.append([
            Cell(f"{r['practice_code']}{_named(r['practice_name'])}", header=True),
            Cell(shown_pcn(r["pcn_code"], MISSING) or MISSING),
            Cell(fmt_value(r["value"], "%"), numeric=True),
            Cell(fmt_count(r["identified"]) + " of " + fmt_count(r["need_deaths"]),
                 numeric=True),
            Cell(fmt_interval(r["lower_99_8"], r["upper_99_8"], "%"), numeric=True),
            Cell(POSITIONS.get(r["position"], r["position"])),
        ])
    icb = below["icb_value"][0]
    table = Table(
        caption=f"Practices of {name} furthest below the ICB ({fmt_value(icb, '%')}) in "
                f"identifying people with palliative care needs before death, {builder.period}",
        columns=["Practice", "PCN", "Identified", "People", "99.8% funnel limits",
                 "Position"],
        rows=rows, numeric_columns=frozenset({2, 3, 4}),
        note="Practices whose deaths mostly lived in this Place, furthest below the ICB "
             "first (standardised difference). Every practice is in the Excel pack's "
             "Practices sheet.")
    return [table], bullets


def hidden_bullets(mine: pl.DataFrame) -> list[str]:
    """One sentence on the practices of `mine` (funnel rows) that are not shown, by the
    rule their notes give (bundle.suppression_reason), the most common first: '2
    practices not shown (disclosure control): a count of 1-7, or a count that would let
    one be worked out.' Never which step hid a practice: that would tell a reader which
    hidden count is small (disclosure.suppressed_note)."""
    hidden = mine.filter(pl.col("suppressed"))
    if hidden.height == 0:
        return []
    counts = hidden.group_by(pl.col("reason").fill_null("small numbers")).len()
    ranked = sorted(counts.iter_rows(), key=lambda r: (-r[1], r[0]))
    total = hidden.height
    if len(ranked) == 1:
        why = ranked[0][0]
    else:
        why = "; ".join(f"{n}: {reason}" for reason, n in ranked)
    return [f"{total} {plural(total, 'practice')} not shown (disclosure control): "
            f"{why}."]


def _not_plotted(every: pl.DataFrame) -> str:
    """The sentence saying which of a Place's practice rows the funnel plot leaves out,
    and why ('' when none): a reader counting the points is told the rest."""
    hidden = every.filter(pl.col("suppressed")).height
    empty = every.filter(~pl.col("suppressed")
                         & (pl.col("need_deaths").is_null() | (pl.col("need_deaths") <= 0)))
    parts = []
    if hidden:
        parts.append(f"{hidden} {plural(hidden, 'practice')} whose figures are "
                     "suppressed (disclosure control)")
    if empty.height:
        parts.append(f"{empty.height} {plural(empty.height, 'practice')} with no "
                     "need deaths")
    return f"Not plotted: {'; '.join(parts)}." if parts else ""


def _named(name: str | None) -> str:
    return f" {name}" if name else ""


def scenario_tables(builder: ReportData, code: str) -> tuple[list[Table], list[str]]:
    """(tables, bullets) for an area: one table of every scenario's figures with their
    ranges; each scenario's assumptions as a bullet."""
    from eolneeds.report_context import Cell, Table

    table = builder.bundle.scenarios
    if table is None or table.height == 0:
        return [], []
    mine = table.filter(pl.col("area_code") == code)
    if mine.height == 0:
        return [], []
    icb = {(r["scenario_id"], r["measure"]): r for r in table.filter(
        pl.col("area_type") == "icb").iter_rows(named=True)}
    name = builder.place_name(code) if code != builder.icb else builder.icb_label
    rows, bullets = [], []
    for scenario_id in dict.fromkeys(mine["scenario_id"]):
        part = mine.filter(pl.col("scenario_id") == scenario_id)
        first = part.row(0, named=True)
        by = {r["measure"]: r for r in part.iter_rows(named=True)}
        for measure, (label, unit) in _MEASURE.items():
            r = by.get(measure)
            if r is None:
                continue
            hidden = bool(r["suppressed"])
            whole = icb.get((scenario_id, measure))
            rows.append([
                Cell(first["scenario_name"], header=True), Cell(label),
                Cell(fmt_value(r["value"], unit, suppressed=hidden), numeric=True),
                Cell(fmt_interval(r["low"], r["high"], unit, suppressed=hidden),
                     numeric=True),
                Cell(MISSING if whole is None else fmt_value(
                    whole["value"], unit, suppressed=bool(whole["suppressed"])),
                    numeric=True),
            ])
        bullets.append(f"{first['scenario_name']}: {first['assumptions']}")
    return [Table(
        caption=f"What if? Modelled scenarios for {name}, {builder.period}",
        columns=["Scenario", "Measure", "Modelled value", "Range", "ICB"], rows=rows,
        numeric_columns=frozenset({2, 3, 4}),
        note="Modelled, not observed: each figure follows from the assumptions listed "
             "below it. The range is the 95% confidence limits of the inputs. Set the "
             "scenarios in eolneeds.toml ([[scenarios]]).")], bullets


def practice_funnel_chart(builder: ReportData, code: str) -> Chart | None:
    """A Place's practices on a funnel plot of identification against the ICB (only
    practices outside the 99.8% limits are labelled: there are dozens), with the data
    table beside it. Hidden practices are not plotted."""
    from markupsafe import Markup

    from eolneeds import charts
    from eolneeds.report_context import Cell, Chart, Table

    funnel = builder.bundle.practices
    if funnel is None or funnel.height == 0:
        return None
    every = place_practices(funnel, builder.period, code)
    mine = every.filter(~pl.col("suppressed") & pl.col("need_deaths").is_not_null()
                        & (pl.col("need_deaths") > 0)).sort("practice_code")
    if mine.height == 0 or mine["icb_value"][0] is None:
        return None
    icb = float(mine["icb_value"][0])
    outside = {"below_99_8", "above_99_8"}
    points = [charts.FunnelPoint(r["practice_code"] if r["position"] in outside else "",
                                 float(r["identified"]), float(r["need_deaths"]))
              for r in mine.iter_rows(named=True)]
    name = builder.place_name(code)
    below = [r["practice_code"] for r in mine.iter_rows(named=True)
             if r["position"] == "below_99_8"]
    summary = (f"Funnel plot of the share of people with palliative care needs identified "
               f"before death, for the {mine.height} practices of {name} shown, against "
               f"their number of need deaths, with 95% and 99.8% limits around the ICB "
               f"({fmt_value(icb, '%')}). ")
    summary += (f"Below the 99.8% limit: {', '.join(below)}." if below
                else "No practice is below the 99.8% limit.")
    left_out = _not_plotted(every)
    if left_out:
        summary += " " + left_out
    svg_id = builder.unique_id("practice-funnel", code)
    title = f"Identification by GP practice, {name}: funnel plot, {builder.period}"
    svg = charts.funnel_chart(svg_id, title, summary, points, icb,
                              f"ICB {fmt_value(icb, '%')}", "higher_is_better",
                              x_label="Need deaths (denominator)")
    rows = [[Cell(f"{r['practice_code']}{_named(r['practice_name'])}", header=True),
             Cell(fmt_value(r["value"], "%"), numeric=True),
             Cell(fmt_count(r["identified"]), numeric=True),
             Cell(fmt_count(r["need_deaths"]), numeric=True),
             Cell(POSITIONS.get(r["position"], r["position"]))]
            for r in mine.iter_rows(named=True)]
    table = Table(caption=f"Identification by GP practice, {name}, {builder.period}, with "
                          "funnel-plot position",
                  columns=["Practice", "Identified", "Numerator", "Denominator", "Position"],
                  rows=rows, numeric_columns=frozenset({1, 2, 3}))
    return Chart(svg_id, f"Identification by GP practice, {name}", Markup(svg), summary, table)
