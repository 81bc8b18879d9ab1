"""The Excel pack's Practices and Scenarios sheets (issue 13), built like the pack's other
data sheets (report_excel.DataSheet: one table per sheet, [c]/[x]/[z] for empty cells).

Practices: every practice of the ICB pack (a Place's pack: the practices whose deaths
mostly lived in that Place, practice.place_members; deaths with no known practice are
the ICB's, in its pack only), with its PCN, identification against the ICB, the funnel
limits and where the practice falls. Scenarios: every what-if scenario for the pack's
areas, with the low-high range and the assumptions beside the figures.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from eolneeds import excel_theme as theme
from eolneeds.practice import POSITIONS, place_members, place_practices, shown_pcn
from eolneeds.report_excel import (
    CONFIDENTIAL,
    NOT_AVAILABLE,
    Col,
    DataSheet,
    Num,
    _common_lines,
    _Pack,
    _table_name,
    published,
)

PERCENT = theme.NUMBER_FORMATS["percent"]
COUNT = theme.NUMBER_FORMATS["count"]
WHOLE = theme.NUMBER_FORMATS["whole"]
ONE_DECIMAL = theme.NUMBER_FORMATS["rate"]
MONEY = theme.NUMBER_FORMATS["money"]


def _num(value: Any, number_format: str, hidden: bool) -> Any:
    if value is None:
        return CONFIDENTIAL if hidden else NOT_AVAILABLE
    return Num(published(float(value), number_format), number_format)


def _text(value: Any) -> Any:
    return str(value) if value not in (None, "") else NOT_AVAILABLE


def _funnel_columns() -> list[Col]:
    """The measure columns the Practices and PCNs sheets share, after their own."""
    return [
        Col("Need deaths (count)", COUNT), Col("Identified before death (count)", COUNT),
        Col("Identified (%)", PERCENT), Col("ICB identified (%)", PERCENT),
        Col("95% lower limit (%)", PERCENT), Col("95% upper limit (%)", PERCENT),
        Col("99.8% lower limit (%)", PERCENT), Col("99.8% upper limit (%)", PERCENT),
        Col("Position against the ICB"), Col("Median days on the register (days)", WHOLE),
        Col("Identified late (%)", PERCENT), Col("Advance care plan recorded (%)", PERCENT),
    ]


def _not_shown_line(pack: _Pack) -> tuple[str, str]:
    """Why a row's identification is [c], in the words of its Position column."""
    settings = pack.config.disclosure
    if not settings.enabled:
        return ("Not shown", "Disclosure control is off for this pack: nothing is suppressed.")
    small = f"1-{settings.min_count - 1}"
    return ("Not shown", f"Counts of {small} are suppressed ([c]), and so is a count that "
            "would let one be worked out (with the PCN's or the ICB's totals, or another "
            "figure of the same practice). Every hidden row says the same, whichever of the "
            "two it is: telling them apart would tell a reader which hidden count is small. "
            "Median days on the register and late identification count every death on a "
            "register, with or without a palliative care need; beside the identified need "
            "deaths they would give away the few registered deaths without a need cause, so "
            "at most practices they are [c] where the identification is shown.")


def position(r: dict[str, Any]) -> str:
    """Where a funnel row falls; for a hidden row, why it is not shown (the rule of the
    indicator table's note, bundle.suppression_reason)."""
    if r["suppressed"] and r.get("reason"):
        return f"not shown: {r['reason']}"
    return POSITIONS.get(r["position"], r["position"])


def _funnel_cells(r: dict[str, Any]) -> list[Any]:
    """A funnel row's cells for _funnel_columns: a missing count, share or limit is
    [c] when the row is suppressed, else [x]; a missing register measure is always [c]
    (the funnel leaves it empty only where it is suppressed)."""
    hidden = bool(r["suppressed"])
    return [
        _num(r["need_deaths"], COUNT, hidden), _num(r["identified"], COUNT, hidden),
        _num(r["value"], PERCENT, hidden), _num(r["icb_value"], PERCENT, False),
        _num(r["lower_95"], PERCENT, hidden), _num(r["upper_95"], PERCENT, hidden),
        _num(r["lower_99_8"], PERCENT, hidden), _num(r["upper_99_8"], PERCENT, hidden),
        position(r),
        _num(r["register_days_median"], WHOLE, True),
        _num(r["register_late_pct"], PERCENT, True),
        _num(r["acp_need_pct"], PERCENT, True),
    ]


def practices_sheet(pack: _Pack) -> DataSheet | None:
    funnel = pack.bundle.practices
    if funnel is None or funnel.height == 0:
        return None
    period = pack.bundle.headline_period
    rows_frame = (funnel.filter(pl.col("period") == period) if pack.place is None
                  else place_practices(funnel, period, pack.place))
    rows_frame = rows_frame.sort(["place", "pcn_code", "practice_code"], nulls_last=True)
    columns = [
        Col("Practice code"), Col("Practice name"), Col("PCN code"), Col("PCN name"),
        Col("Place"), *_funnel_columns(),
    ]
    place_names = {p.code: p.name for p in pack.config.places}
    rows: list[list[Any]] = []
    keys: list[Any] = []
    for r in rows_frame.iter_rows(named=True):
        rows.append([
            r["practice_code"] if r["practice_code"] != "unknown" else "Not recorded",
            _text(r["practice_name"]), _text(shown_pcn(r["pcn_code"], None)),
            _text(r["pcn_name"]), _text(place_names.get(r["place"], r["place"])),
            *_funnel_cells(r),
        ])
        keys.append(r["practice_code"])
    if not rows:
        return None
    lines = _common_lines(
        pack, units="counts of people; % are percentages (0-100); days",
        source="Death registrations linked to palliative care registers (EPaCCS) and the "
               "ODS practice-to-PCN lookup")
    lines.append(("Method", "Each practice's share of deaths with palliative care need that "
                  "were on a register before death, against the ICB's, with funnel-plot "
                  "control limits (95% and 99.8%) for a practice of its size. A practice "
                  "outside the 99.8% limits is unlikely to differ by chance alone. A death's "
                  "practice is its registered practice, else its register entry's."))
    lines.append(_not_shown_line(pack))
    if rows_frame["icb_value"].is_null().all():
        # The report says the same where the practices' funnel plot would be.
        lines.append(("No funnel", "no practice is placed against the ICB: the ICB's figure "
                      "is not published (disclosure control), so there are no funnel limits "
                      "and every Position says 'not compared'."))
    where = "the ICB" if pack.place is None else f"{pack.main.name} (practices whose deaths " \
                                                 "mostly lived here)"
    return DataSheet(
        name="Practices",
        description="GP practices: identification before death against the ICB, funnel "
                    "limits, PCN",
        title=f"GP practice variation in identification: {where}, {period}",
        lines=lines, columns=columns, rows=rows, table_name=_table_name("Practices"),
        row_keys=keys, print_keys=2,
    )


def pcns_sheet(pack: _Pack) -> DataSheet | None:
    funnel = pack.bundle.pcns
    if funnel is None or funnel.height == 0:
        return None
    period = pack.bundle.headline_period
    frame = funnel.filter(pl.col("period") == period)
    here: dict[str, int] = {}
    if pack.place is not None:
        practices, pcns = place_members(pack.bundle.practices, pack.place)
        frame = frame.filter(pl.col("pcn_code").is_in(sorted(pcns)))
        # A PCN's figures are all its practices' deaths, wherever they lived; a PCN can
        # span Places, so the Place's share of its practices is a column of its own.
        here = _practices_per_pcn(pack.bundle.practices, practices)
    columns = [Col("PCN code"), Col("PCN name"), Col("Practices in the PCN (count)", COUNT)]
    if pack.place is not None:
        columns.append(Col(f"Practices in {pack.main.name} (count)", COUNT))
    columns += _funnel_columns()
    rows: list[list[Any]] = []
    keys: list[Any] = []
    for r in frame.iter_rows(named=True):
        counts = [_num(r["practices"], COUNT, False)]
        if pack.place is not None:
            counts.append(_num(here.get(r["pcn_code"], 0), COUNT, False))
        rows.append([
            shown_pcn(r["pcn_code"], "Not known"),
            _text(r["pcn_name"]), *counts,
            *_funnel_cells(r),
        ])
        keys.append(r["pcn_code"])
    if not rows:
        return None
    lines = _common_lines(
        pack, units="counts of people and practices; % are percentages (0-100); days",
        source="Death registrations linked to palliative care registers (EPaCCS) and the "
               "ODS practice-to-PCN lookup")
    lines.append(("Method", "As the Practices sheet, per Primary Care Network: its practices' "
                  "deaths together (each practice in its current PCN). 'Not known': deaths "
                  "with no practice, or a practice not in the PCN lookup."))
    if pack.place is not None:
        name = pack.main.name
        lines.append(("Practices", f"each PCN's figures are the whole PCN's, {name}'s "
                      "practices and the rest: 'Practices in the PCN' counts all of its "
                      f"practices, 'Practices in {name}' those whose deaths mostly lived "
                      f"in {name} (the practices of the Practices sheet)."))
    lines.append(_not_shown_line(pack))
    where = "the ICB" if pack.place is None else f"PCNs with practices in {pack.main.name}"
    return DataSheet(
        name="PCNs",
        description="Primary Care Networks: identification before death against the ICB, "
                    "funnel limits",
        title=f"Primary Care Network variation in identification: {where}, {period}",
        lines=lines, columns=columns, rows=rows, table_name=_table_name("PCNs"),
        row_keys=keys, print_keys=2,
    )


def _practices_per_pcn(funnel: pl.DataFrame | None, practices: set[str]) -> dict[str, int]:
    """PCN code -> how many of `practices` it holds (over every period, as the PCN's
    own count of practices, practice.pcn_funnel_table)."""
    if funnel is None or not practices:
        return {}
    mine = funnel.filter(pl.col("practice_code").is_in(sorted(practices))).select(
        "practice_code", "pcn_code").unique()
    return {str(code): int(n) for code, n in mine.group_by("pcn_code").len().iter_rows()}


MEASURE_LABELS = {"people": "People affected", "bed_days": "Hospital bed days freed",
                  "cost": "Cost of the bed days freed"}
MEASURE_FORMATS = {"people": ONE_DECIMAL, "bed_days": COUNT, "cost": MONEY}


def scenarios_sheet(pack: _Pack) -> DataSheet | None:
    table = pack.bundle.scenarios
    if table is None or table.height == 0:
        return None
    codes = [a.code for a in pack.areas]
    frame = table.filter(pl.col("area_code").is_in(codes))
    order = {code: i for i, code in enumerate(codes)}
    measures = list(MEASURE_LABELS)
    frame = frame.with_columns(
        pl.col("area_code").replace_strict(order, return_dtype=pl.Int64).alias("_area"),
        pl.col("measure").replace_strict({m: i for i, m in enumerate(measures)},
                                         return_dtype=pl.Int64).alias("_measure"),
    )
    scenario_order = {s: i for i, s in enumerate(dict.fromkeys(table["scenario_id"]))}
    frame = frame.with_columns(pl.col("scenario_id").replace_strict(
        scenario_order, return_dtype=pl.Int64).alias("_scenario")).sort(
        ["_scenario", "_area", "_measure"])
    columns = [Col("Scenario"), Col("Area"), Col("Measure"), Col("Unit"),
               Col("Modelled value"), Col("Low"), Col("High"),
               Col("Assumptions", wrap=True, width=80)]
    rows: list[list[Any]] = []
    keys: list[Any] = []
    for r in frame.iter_rows(named=True):
        fmt = MEASURE_FORMATS[r["measure"]]
        hidden = bool(r["suppressed"])
        rows.append([r["scenario_name"], r["area_name"], MEASURE_LABELS[r["measure"]],
                     r["unit"], _num(r["value"], fmt, hidden), _num(r["low"], fmt, hidden),
                     _num(r["high"], fmt, hidden), r["assumptions"]])
        keys.append((r["scenario_id"], r["area_code"], r["measure"]))
    if not rows:
        return None
    lines = _common_lines(pack, units="people, hospital bed days and pounds (£), as in the "
                                      "Unit column",
                          source="Modelled from the indicators of this pack and the activity "
                                 "data (hospital bed days and costs in the last 90 days of "
                                 "life)")
    lines.append(("Modelled", "These are what-if figures, not observations: each follows "
                  "from the assumptions written beside it. Low and High show how far chance "
                  "alone could move the figure (the 95% confidence limits of the inputs), "
                  "not the uncertainty of the assumptions. Scenarios are set in "
                  "eolneeds.toml ([[scenarios]])."))
    cited = pack.cite(*(f"indicator:{i}" for i in dict.fromkeys(
        f"scenario_{key[0]}_{key[2]}" for key in keys)))
    if cited:
        lines.append(("Notes", f"each scenario's measures are defined on the Notes sheet "
                               f"{cited}."))
    return DataSheet(
        name="Scenarios",
        description="What-if scenarios: people affected, bed days and cost freed (modelled)",
        title=f"What-if scenarios (modelled): {pack.area_label}, "
              f"{pack.bundle.headline_period}",
        lines=lines, columns=columns, rows=rows, table_name=_table_name("Scenarios"),
        row_keys=keys, print_keys=2,
    )
