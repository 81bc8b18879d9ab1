"""ReportBundle -> one self-contained HTML report (CSS inline, charts as inline SVG).

The report answers, for the ICB and for each Place, the seven questions of DESIGN.md
section 6, then gives inequalities, projections to 2040, monthly SPC charts, the data
quality tables, and a definitions-and-methods page generated from the catalogue.

Shape (the datasette habit): `build_context(bundle)` turns the indicator table into a
documented, typed context (dataclasses below: Table, Chart, PlaceSection, ...) and the
Jinja2 templates in report_templates/ only lay it out. Templates are autoescaped, and
every number is formatted by the tested filters in eolneeds.formatting, so the page
never shows a raw float and never trusts a string from the input data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import polars as pl
from markupsafe import Markup

from eolneeds import charts, methods, spc
from eolneeds.bundle import ReportBundle
from eolneeds.catalogue import THEMES, Indicator, load_catalogue, load_summaries
from eolneeds.formatting import (
    FILTERS,
    MISSING,
    SUPPRESSED,
    fmt_cell,
    fmt_comparison,
    fmt_count,
    fmt_interval,
    fmt_number,
    fmt_value,
    humanise,
    is_missing,
)
from eolneeds.resources import templates_dir

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"

# The indicators that answer each of the seven questions (DESIGN.md section 6), in order.
QUESTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("deaths", "Who dies, of what, and how is it changing?",
     ("deaths", "crude_death_rate", "dsr_all_cause")),
    ("need", "Palliative care need, now and to 2040",
     ("pc_need_pct", "pc_need_rate")),
    ("place", "Where do people die, and did they die where they wanted?",
     ("pod_home_pct", "pod_care_home_pct", "pod_hospital_pct", "pod_hospice_pct",
      "pod_other_pct", "diupr_pct", "ppod_recorded_pct", "ppod_achieved_pct")),
    ("identification", "Were people identified in time?",
     ("on_register_pct", "on_register_need_pct", "unidentified_need",
      "register_days_median", "register_late_pct")),
    ("hospital", "Unplanned hospital care in the last 90 days of life",
     ("ea_last90_any_pct", "ea_last90_3plus_pct", "bed_days_last90_mean", "ae_last90_mean",
      "spc_last_year_pct", "community_last90_pct", "hospital_cost_last90")),
    ("inequality", "Who is missing out?", ()),
    ("quality", "How far can these numbers be trusted?", ()),
)

# Key proportions shown as funnel plots in the overview.
FUNNEL_INDICATORS = ("pod_hospital_pct", "diupr_pct", "on_register_need_pct",
                     "ea_last90_3plus_pct")
PROJECTION_ID = "pc_need_projected"
PROJECTION_TABLE_YEARS = ("2025", "2030", "2035", "2040")
QUINTILE_LABELS = {"1": "1", "2": "2", "3": "3", "4": "4", "5": "5"}
COMPARISON_CLASSES = {"better": "cmp-better", "worse": "cmp-worse", "similar": "cmp-similar",
                      "higher": "cmp-neutral", "lower": "cmp-neutral",
                      "not_compared": "cmp-none"}


# ----------------------------------------------------------------------------------
# The template context (what the templates may use, and nothing else)
# ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False
    css: str = ""
    header: bool = False  # a row header: <th scope="row">
    detail: str = ""  # a second, smaller line (e.g. 'lower · better')


@dataclass(frozen=True)
class Table:
    caption: str
    columns: list[str]
    rows: list[list[Cell]]
    numeric_columns: frozenset[int] = frozenset()
    note: str = ""
    css: str = ""


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    svg: Markup
    summary: str  # the text alternative, one or two sentences
    table: Table | None = None
    note: str = ""


@dataclass(frozen=True)
class KeyFact:
    label: str
    value: str
    context: str  # "ICB 43.4%"
    comparison: str  # 'Higher' | 'Similar' | ...
    css: str


@dataclass(frozen=True)
class Question:
    key: str
    number: int
    title: str
    lead: str
    table: Table | None = None
    charts: list[Chart] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    extra_tables: list[Table] = field(default_factory=list)


@dataclass(frozen=True)
class PlaceSection:
    code: str
    name: str
    anchor: str
    key_facts: list[KeyFact]
    questions: list[Question]


@dataclass(frozen=True)
class SpcBlock:
    indicator_name: str
    chart: Chart
    meaning: str
    table: Table


@dataclass(frozen=True)
class Definition:
    id: str
    name: str
    definition: str
    numerator: str
    denominator: str
    unit: str
    method: str
    breakdowns: str
    polarity: str


@dataclass(frozen=True)
class ReportContext:
    title: str
    icb_name: str
    icb_code: str
    headline_period: str
    generated: str
    software_version: str
    contact: str
    disclosure_rule: str
    disclosure_notes: list[str]
    overview_table: Table | None
    overview_charts: list[Chart]
    places: list[PlaceSection]
    inequality_charts: list[Chart]
    inequality_table: Table | None
    projection_chart: Chart | None
    projection_table: Table | None
    spc_blocks: list[SpcBlock]
    data_quality: list[Table]
    data_quality_descriptions: list[str]
    definitions: dict[str, list[Definition]]
    methods: list[tuple[str, str]]
    summaries: list[tuple[str, str]]
    sources: Table | None
    software: Table | None
    queries: Table | None
    coverage: Table | None
    css: Markup


# ----------------------------------------------------------------------------------
# Reading the indicator table
# ----------------------------------------------------------------------------------

_FY = re.compile(r"^(\d{4})-(\d{2})$")


def period_kind(period: str, start: date | None = None, end: date | None = None) -> str:
    """'month', 'year' (projection year), 'rolling' or 'financial_year'.

    Monthly and financial-year labels look alike ('2024-12' vs '2024-25'), so the period
    dates decide when present; otherwise a label 'YYYY-YY' whose second part is the next
    year is a financial year."""
    if " to " in period:
        return "rolling"
    if re.fullmatch(r"\d{4}-\d{2} Q[1-4]", period):
        return "quarter"  # an SPC series by financial-year quarter (eolneeds.spc)
    if re.fullmatch(r"\d{4}", period):
        return "year"
    if start is not None and end is not None:
        return "month" if (end - start).days < 32 else "financial_year"
    match = _FY.match(period)
    if match and int(match.group(2)) == (int(match.group(1)) + 1) % 100:
        return "financial_year"
    return "month" if match else "financial_year"


class Indicators:
    """Fast look-ups into the indicator table: one dict of rows keyed by
    (indicator, area, period, breakdown, value)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.rows: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
        self.kinds: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for row in frame.iter_rows(named=True):
            key = (row["indicator_id"], row["area_code"], row["period"], row["breakdown"],
                   row["breakdown_value"])
            self.rows[key] = row
            period = row["period"]
            if period not in self.kinds or self.kinds[period] == "financial_year":
                self.kinds[period] = (
                    "year" if row["indicator_id"] == PROJECTION_ID
                    else period_kind(period, row["period_start"], row["period_end"])
                )
            self.names.setdefault(row["indicator_id"], row["indicator_name"])
        self.frame = frame

    def get(self, ind: str, area: str, period: str, breakdown: str = "all",
            value: str = "all") -> dict[str, Any] | None:
        return self.rows.get((ind, area, period, breakdown, value))

    def has(self, ind: str) -> bool:
        return ind in self.names

    def periods(self, kind: str) -> list[str]:
        return sorted(p for p, k in self.kinds.items() if k == kind)

    def months(self, ind: str, area: str) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for period in self.periods("month"):
            row = self.get(ind, area, period)
            if row is not None:
                out.append((period, row))
        return out

    def suppressed_notes(self) -> list[tuple[str, int]]:
        """(rule, number of suppressed values it applied to), most used first. A value
        hidden for two reasons carries both, joined by "; ": each is counted."""
        counts: dict[str, int] = {}
        for row in self.rows.values():
            if row["suppressed"]:
                for note in (row["note"] or "suppressed").split("; "):
                    counts[note] = counts.get(note, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _value(row: dict[str, Any] | None) -> str:
    if row is None:
        return MISSING
    return fmt_value(row["value"], row["unit"], suppressed=bool(row["suppressed"]),
                     method=row["method"])


def _interval(row: dict[str, Any] | None) -> str:
    if row is None:
        return MISSING
    return fmt_interval(row["lower_ci_95"], row["upper_ci_95"], row["unit"],
                        suppressed=bool(row["suppressed"]), method=row["method"])


def _count(row: dict[str, Any] | None, column: str) -> str:
    if row is None:
        return MISSING
    value = row[column]
    if is_missing(value) and row["suppressed"] and column == "numerator":
        return SUPPRESSED
    if row["unit"] == "£" and column == "numerator":
        return fmt_value(value, "£")
    return fmt_count(value)


def _number(row: dict[str, Any] | None) -> float | None:
    if row is None or row["suppressed"] or is_missing(row["value"]):
        return None
    return float(row["value"])


def assessment(comparison: str | None, polarity: str) -> str:
    """'better' / 'worse' / 'similar' / 'higher' / 'lower' / 'not_compared': the words
    stay neutral (higher/lower) where the indicator has no better direction."""
    if comparison in (None, "", "not_compared"):
        return "not_compared"
    if comparison == "similar":
        return "similar"
    if polarity == "higher_is_better":
        return "better" if comparison == "higher" else "worse"
    if polarity == "lower_is_better":
        return "worse" if comparison == "higher" else "better"
    return str(comparison)


def _comparison_cell(row: dict[str, Any] | None, polarity: str) -> Cell:
    comparison = row["comparison"] if row is not None else None
    verdict = assessment(comparison, polarity)
    text = fmt_comparison(comparison) if comparison else MISSING
    if verdict in ("better", "worse"):
        text = f"{text} ({verdict})"
    return Cell(text, css=f"cmp {COMPARISON_CLASSES.get(verdict, 'cmp-none')}")


def slug(*parts: str) -> str:
    return charts.chart_id(*parts).removeprefix("chart-")


# ----------------------------------------------------------------------------------
# Building the context
# ----------------------------------------------------------------------------------


class _Builder:
    def __init__(self, bundle: ReportBundle) -> None:
        self.bundle = bundle
        self.config = bundle.config
        self.data = Indicators(bundle.indicators)
        self.catalogue = {ind.id: ind for ind in load_catalogue()}
        self.icb = self.config.icb_code
        self.period = bundle.headline_period
        self.places = list(bundle.places) or [p.code for p in self.config.places]
        self.icb_label = self.config.icb_name or "ICB"
        self.icb_short = "ICB"  # in charts and table rows, beside Place names
        self._ids: set[str] = set()

    # --- helpers -------------------------------------------------------------------
    def ind(self, ind_id: str) -> Indicator | None:
        return self.catalogue.get(ind_id)

    def name_of(self, ind_id: str) -> str:
        ind = self.ind(ind_id)
        return ind.name if ind else self.data.names.get(ind_id, ind_id)

    def polarity(self, ind_id: str) -> str:
        ind = self.ind(ind_id)
        return ind.polarity if ind else "neutral"

    def place_name(self, code: str) -> str:
        name = self.config.place_name(code)
        if name == code:
            for row in self.data.rows.values():
                if row["area_code"] == code and row["area_name"]:
                    return str(row["area_name"])
        return name

    def unique_id(self, *parts: str) -> str:
        base = charts.chart_id(*parts)
        candidate, n = base, 2
        while candidate in self._ids:
            candidate, n = f"{base}-{n}", n + 1
        self._ids.add(candidate)
        return candidate

    def unit_of(self, ind_id: str) -> str:
        ind = self.ind(ind_id)
        if ind is not None:
            return ind.unit
        for key, row in self.data.rows.items():
            if key[0] == ind_id:
                return str(row["unit"])
        return ""

    def previous_periods(self) -> list[str]:
        """The assessment periods up to the headline one, oldest first (the trend)."""
        periods = self.data.periods("financial_year") + self.data.periods("rolling")
        ordered = sorted(set(periods))
        if self.period in ordered:
            ordered = ordered[: ordered.index(self.period) + 1]
        return ordered[-5:]

    def benchmark(self, ind_id: str) -> float | None:
        value = self.config.benchmarks.get(ind_id)
        return float(value) if value is not None else None

    # --- the pieces ------------------------------------------------------------------
    def indicator_table(self, caption: str, ind_ids: Iterable[str], area: str) -> Table | None:
        """Place value, interval, counts, ICB value and comparison for a theme."""
        has_benchmarks = any(i in self.config.benchmarks for i in ind_ids)
        columns = ["Indicator", "Value", "95% confidence interval", "Numerator",
                   "Denominator", "ICB", "Compared with ICB"]
        if has_benchmarks:
            columns.append("England")
        rows = []
        for ind_id in ind_ids:
            if not self.data.has(ind_id):
                continue
            row = self.data.get(ind_id, area, self.period)
            icb_row = self.data.get(ind_id, self.icb, self.period)
            unit = self.unit_of(ind_id)
            cells = [
                Cell(self.name_of(ind_id), header=True),
                Cell(_value(row), numeric=True, css="value"),
                Cell(_interval(row), numeric=True),
                Cell(_count(row, "numerator"), numeric=True),
                Cell(_count(row, "denominator"), numeric=True),
                Cell(_value(icb_row), numeric=True),
                _comparison_cell(row, self.polarity(ind_id)),
            ]
            if has_benchmarks:
                cells.append(Cell(fmt_value(self.benchmark(ind_id), unit), numeric=True))
            rows.append(cells)
        if not rows:
            return None
        return Table(caption=caption, columns=columns, rows=rows,
                     numeric_columns=frozenset({1, 2, 3, 4, 5} | ({7} if has_benchmarks
                                                                 else set())))

    def key_facts(self, area: str) -> list[KeyFact]:
        facts = []
        for ind in load_catalogue():
            if not ind.headline or not self.data.has(ind.id):
                continue
            row = self.data.get(ind.id, area, self.period)
            icb_row = self.data.get(ind.id, self.icb, self.period)
            comparison = row["comparison"] if row else None
            verdict = assessment(comparison, ind.polarity)
            word = fmt_comparison(comparison) if comparison else MISSING
            if verdict in ("better", "worse"):
                word = f"{word} than the ICB ({verdict})"
            elif verdict == "similar":
                word = "Similar to the ICB"
            elif verdict in ("higher", "lower"):
                word = f"{word} than the ICB"
            else:
                word = ""
            facts.append(KeyFact(
                label=ind.name, value=_value(row), context=f"ICB {_value(icb_row)}",
                comparison=word, css=COMPARISON_CLASSES.get(verdict, "cmp-none"),
            ))
        return facts

    def overview(self) -> Table | None:
        headline = [ind for ind in load_catalogue() if ind.headline and self.data.has(ind.id)]
        if not headline:
            return None
        columns = ["Indicator", "ICB"] + [self.place_name(p) for p in self.places]
        rows = []
        for ind in headline:
            cells = [Cell(ind.name, header=True),
                     Cell(_value(self.data.get(ind.id, self.icb, self.period)),
                          numeric=True, css="value")]
            for place in self.places:
                row = self.data.get(ind.id, place, self.period)
                comparison = row["comparison"] if row else None
                verdict = assessment(comparison, ind.polarity)
                detail = ""
                if verdict != "not_compared":
                    detail = fmt_comparison(comparison).lower()
                    if verdict in ("better", "worse"):
                        detail += f" · {verdict}"
                cells.append(Cell(_value(row), numeric=True, detail=detail,
                                  css=f"cmp {COMPARISON_CLASSES.get(verdict, 'cmp-none')}"))
            rows.append(cells)
        return Table(
            caption=f"Headline indicators, {self.period}: each Place compared with the ICB "
                    "(95% confidence)",
            columns=columns, rows=rows,
            numeric_columns=frozenset(range(1, len(columns))), css="overview",
        )

    def pod_chart(self, areas: Sequence[str], svg_id: str, title: str) -> Chart | None:
        pod_ids = [key for key, _, _ in charts.POD_CATEGORIES]
        if not any(self.data.has(i) for i in pod_ids):
            return None
        rows, table_rows = [], []
        for area in areas:
            label = self.icb_short if area == self.icb else self.place_name(area)
            shares = {i: _number(self.data.get(i, area, self.period)) for i in pod_ids}
            rows.append((label, shares))
            table_rows.append([Cell(label, header=True)] + [
                Cell(_value(self.data.get(i, area, self.period)), numeric=True)
                for i in pod_ids
            ])
        first = rows[0]
        top = max((k for k in pod_ids if first[1].get(k) is not None),
                  key=lambda k: first[1][k] or 0, default=None)
        summary = (f"Stacked bars of the share of deaths at home, in a care home, in "
                   f"hospital, in a hospice and elsewhere, {self.period}.")
        if top is not None:
            top_name = dict((k, n) for k, n, _ in charts.POD_CATEGORIES)[top].lower()
            who = "the ICB" if areas[0] == self.icb else first[0]
            summary += (f" For {who}, the most common place of death is {top_name} "
                        f"({fmt_value(first[1][top], '%')}).")
        svg = charts.place_of_death_chart(svg_id, title, summary, rows)
        table = Table(caption=f"{title} (per cent of deaths)",
                      columns=["Area"] + [n for _, n, _ in charts.POD_CATEGORIES],
                      rows=table_rows, numeric_columns=frozenset(range(1, 6)))
        return Chart(svg_id, title, Markup(svg), summary, table)

    def funnel(self, ind_id: str) -> Chart | None:
        icb_row = self.data.get(ind_id, self.icb, self.period)
        benchmark = _number(icb_row)
        polarity = self.polarity(ind_id)
        points, plotted = [], []
        for place in self.places:
            row = self.data.get(ind_id, place, self.period)
            if (row is not None and not row["suppressed"]
                    and not is_missing(row["numerator"]) and not is_missing(row["denominator"])
                    and row["denominator"] > 0):
                points.append(charts.FunnelPoint(self.place_name(place),
                                                 float(row["numerator"]),
                                                 float(row["denominator"])))
                plotted.append(place)
        # Position and colour by polarity come from the chart's own data (charts.funnel_marks).
        marks = dict(zip(plotted, charts.funnel_marks(points, benchmark or 0.0, polarity),
                         strict=True))
        table_rows = []
        for place in self.places:
            row = self.data.get(ind_id, place, self.period)
            mark = marks.get(place)
            position = mark.words if mark else "Not plotted (suppressed or missing)"
            table_rows.append([Cell(self.place_name(place), header=True),
                               Cell(_value(row), numeric=True),
                               Cell(_count(row, "numerator"), numeric=True),
                               Cell(_count(row, "denominator"), numeric=True),
                               Cell(position)])
        if benchmark is None or not points:
            return None
        name = self.name_of(ind_id)
        outside = [r[0].text for r in table_rows if "99.8%" in r[4].text]
        summary = (f"Funnel plot of {name.lower()} by Place against the number of deaths, "
                   f"with 95% and 99.8% control limits around the ICB value "
                   f"({fmt_value(benchmark, '%')}). ")
        summary += (f"Outside the 99.8% limits: {', '.join(outside)}." if outside
                    else "Every Place is within the 99.8% limits.")
        svg_id = self.unique_id("funnel", ind_id)
        svg = charts.funnel_chart(svg_id, f"{name}: funnel plot, {self.period}", summary,
                                  points, benchmark, f"ICB {fmt_value(benchmark, '%')}",
                                  polarity)
        table = Table(caption=f"{name} by Place, {self.period}, with funnel-plot position",
                      columns=["Place", "Value", "Numerator", "Denominator", "Position"],
                      rows=table_rows, numeric_columns=frozenset({1, 2, 3}))
        return Chart(svg_id, f"{name}: funnel plot", Markup(svg), summary, table)

    def trend_chart(self, area: str, ind_id: str) -> Chart | None:
        periods = self.previous_periods()
        if len(periods) < 2 or not self.data.has(ind_id):
            return None
        series = []
        table_rows = []
        label = self.place_name(area)
        for code, name in ((area, label), (self.icb, self.icb_short)):
            rows = [self.data.get(ind_id, code, p) for p in periods]
            series.append(charts.Series(
                name, [_number(r) for r in rows],
                [None if r is None or r["suppressed"] else r["lower_ci_95"] for r in rows],
                [None if r is None or r["suppressed"] else r["upper_ci_95"] for r in rows],
            ))
            table_rows.append([Cell(name, header=True)] + [
                Cell(f"{_value(r)} ({_interval(r)})", numeric=True) for r in rows])
        ind_name = self.name_of(ind_id)
        unit = self.unit_of(ind_id)
        first, last = series[0].values[0], series[0].values[-1]
        summary = f"{ind_name} ({unit}) for {label} and the ICB, {periods[0]} to {periods[-1]}"
        if first is not None and last is not None:
            summary += (f": {label} went from {fmt_value(first, unit)} to "
                        f"{fmt_value(last, unit)}.")
        else:
            summary += "."
        svg_id = self.unique_id("trend", area, ind_id)
        svg = charts.line_chart(svg_id, f"{ind_name}, {label} and ICB", summary, periods,
                                series, unit, y_label=unit)
        table = Table(caption=f"{ind_name} ({unit}) by period, with 95% confidence intervals",
                      columns=["Area", *periods], rows=table_rows,
                      numeric_columns=frozenset(range(1, len(periods) + 1)))
        return Chart(svg_id, f"{ind_name}: trend", Markup(svg), summary, table)

    def cause_chart(self, area: str) -> Chart | None:
        ind_id = "cause_group_pct"
        values = sorted({key[4] for key in self.data.rows
                         if key[0] == ind_id and key[3] == "cause_group"},
                        key=_cause_order)
        if not values:
            return None
        label = self.place_name(area)
        place_rows = [self.data.get(ind_id, area, self.period, "cause_group", v) for v in values]
        icb_rows = [self.data.get(ind_id, self.icb, self.period, "cause_group", v)
                    for v in values]
        series = [charts.Series(label, [_number(r) for r in place_rows]),
                  charts.Series(self.icb_short, [_number(r) for r in icb_rows])]
        categories = [humanise(v) for v in values]
        ranked = sorted(((n, c) for n, c, v in zip(series[0].values, categories, values,
                                                      strict=True)
                         if n is not None and v != "other"), reverse=True)
        summary = f"Deaths by cause group, {label} beside the ICB, {self.period}."
        if ranked:
            summary += (f" The largest group in {label} is {ranked[0][1].lower()} "
                        f"({fmt_value(ranked[0][0], '%')} of deaths).")
        svg_id = self.unique_id("causes", area)
        svg = charts.grouped_bar_chart(svg_id, f"Deaths by cause group, {label}", summary,
                                       categories, series, "%")
        table = Table(
            caption=f"Deaths by cause group, {self.period} (per cent of deaths)",
            columns=["Cause group", label, "95% confidence interval", "ICB",
                     "Compared with ICB"],
            rows=[[Cell(c, header=True), Cell(_value(p), numeric=True),
                   Cell(_interval(p), numeric=True), Cell(_value(i), numeric=True),
                   _comparison_cell(p, "neutral")]
                  for c, p, i in zip(categories, place_rows, icb_rows, strict=True)],
            numeric_columns=frozenset({1, 2, 3}),
        )
        return Chart(svg_id, f"Deaths by cause group, {label}", Markup(svg), summary, table)

    def projection_series(self, area: str) -> tuple[list[str], list[float | None],
                                                    list[float | None]]:
        years = self.data.periods("year")
        rows = [self.data.get(PROJECTION_ID, area, y) for y in years]
        deaths = [None if r is None or is_missing(r["denominator"]) else float(r["denominator"])
                  for r in rows]
        need = [None if r is None or r["suppressed"] or is_missing(r["numerator"])
                else float(r["numerator"]) for r in rows]
        return years, deaths, need

    def projection_chart_for(self, area: str) -> Chart | None:
        years, deaths, need = self.projection_series(area)
        if not years or all(v is None for v in deaths + need):
            return None
        label = self.icb_label if area == self.icb else self.place_name(area)
        summary = f"Projected annual deaths and deaths with palliative care need, {label}, " \
                  f"{years[0]} to {years[-1]}"
        if deaths[0] and deaths[-1]:
            change = 100 * (deaths[-1] - deaths[0]) / deaths[0]
            summary += (f": deaths from {fmt_count(deaths[0])} to {fmt_count(deaths[-1])} "
                        f"({fmt_number(change, 1)}% change)")
        if need[0] and need[-1]:
            summary += f"; need from {fmt_count(need[0])} to {fmt_count(need[-1])}"
        summary += "."
        svg_id = self.unique_id("projection", area)
        svg = charts.line_chart(
            svg_id, f"Projected deaths and palliative care need, {label}", summary, years,
            [charts.Series("Projected deaths", deaths),
             charts.Series("Projected deaths with palliative care need", need)],
            "count", y_label="Deaths per year")
        table = Table(
            caption=f"Projected deaths and palliative care need per year, {label}",
            columns=["Year", "Projected deaths", "With palliative care need"],
            rows=[[Cell(y, header=True), Cell(fmt_count(d), numeric=True),
                   Cell(fmt_count(n), numeric=True)]
                  for y, d, n in zip(years, deaths, need, strict=True)],
            numeric_columns=frozenset({1, 2}),
        )
        return Chart(svg_id, f"Projected deaths and need to {years[-1]}, {label}",
                     Markup(svg), summary, table)

    def inequality_ids(self) -> list[str]:
        ids = [ind.id for ind in load_catalogue() if ind.inequality_summary]
        present = {key[0] for key in self.data.rows if key[4] in ("SII", "RII")}
        ids = [i for i in ids if i in present]
        return ids + sorted(present - set(ids))

    def sii_words(self, ind_id: str, area: str) -> tuple[str, str, str]:
        """(SII text, RII text, meaning in words) for one indicator and area."""
        sii = self.data.get(ind_id, area, self.period, "imd_quintile", "SII")
        rii = self.data.get(ind_id, area, self.period, "imd_quintile", "RII")
        unit = self.unit_of(ind_id)
        sii_text = (MISSING if sii is None or is_missing(sii["value"])
                    else f"{fmt_value(sii['value'], unit)} ({_interval(sii)})")
        rii_text = (MISSING if rii is None or is_missing(rii["value"])
                    else f"{fmt_number(rii['value'], 2)} ({_interval(rii)})")
        meaning = "Not calculated"
        if sii is not None and not is_missing(sii["lower_ci_95"]) \
                and not is_missing(sii["upper_ci_95"]):
            # Quintile 1 (most deprived) sits at the left of the regression: a negative
            # SII means the indicator is higher in more deprived areas.
            if sii["upper_ci_95"] < 0:
                direction = "higher in more deprived areas"
                fare = {"higher_is_better": "more deprived areas fare better",
                        "lower_is_better": "more deprived areas fare worse"}
            elif sii["lower_ci_95"] > 0:
                direction = "lower in more deprived areas"
                fare = {"higher_is_better": "more deprived areas fare worse",
                        "lower_is_better": "more deprived areas fare better"}
            else:
                direction, fare = "no clear gradient (interval includes zero)", {}
            extra = fare.get(self.polarity(ind_id))
            meaning = direction[:1].upper() + direction[1:] + (f": {extra}" if extra else "")
        return sii_text, rii_text, meaning

    def sii_verdict(self, ind_id: str, area: str) -> str:
        """How more deprived areas fare: 'worse', 'better', 'higher', 'lower' (no better
        direction), 'similar' (no clear gradient) or 'not_compared' (no SII)."""
        sii = self.data.get(ind_id, area, self.period, "imd_quintile", "SII")
        if sii is None or is_missing(sii["lower_ci_95"]) or is_missing(sii["upper_ci_95"]):
            return "not_compared"
        # Quintile 1 (most deprived) is at the left: a negative SII = higher when deprived.
        if sii["upper_ci_95"] < 0:
            higher_when_deprived = "higher"
        elif sii["lower_ci_95"] > 0:
            higher_when_deprived = "lower"
        else:
            return "similar"
        return assessment(higher_when_deprived, self.polarity(ind_id))

    def gradient_panel(self, ind_id: str, area: str, title: str) -> tuple[
            charts.GradientPanel, list[list[Cell]]] | None:
        unit = self.unit_of(ind_id)
        points, cells = [], []
        for q in ("1", "2", "3", "4", "5"):
            row = self.data.get(ind_id, area, self.period, "imd_quintile", q)
            points.append(charts.IntervalPoint(
                QUINTILE_LABELS[q], _number(row),
                None if row is None or row["suppressed"] else row["lower_ci_95"],
                None if row is None or row["suppressed"] else row["upper_ci_95"]))
            cells.append([Cell(title, header=True), Cell(q), Cell(_value(row), numeric=True),
                          Cell(_interval(row), numeric=True)])
        if all(p.value is None for p in points):
            return None
        sii_text, rii_text, _ = self.sii_words(ind_id, area)
        annotation = None
        if sii_text != MISSING:
            annotation = f"SII {sii_text}\nRII {rii_text}"
        panel = charts.GradientPanel(
            title=title, unit=unit, points=points,
            reference=_number(self.data.get(ind_id, area, self.period)),
            annotation=annotation)
        return panel, cells

    def gradient_chart(self, svg_id: str, title: str, summary: str,
                       panels: Sequence[tuple[charts.GradientPanel, list[list[Cell]]]],
                       caption: str) -> Chart:
        svg = charts.gradient_chart(svg_id, title, summary, [p for p, _ in panels])
        rows = [row for _, cells in panels for row in cells]
        table = Table(caption=caption, columns=["Indicator", "IMD quintile (1 = most deprived)",
                                                "Value", "95% confidence interval"],
                      rows=rows, numeric_columns=frozenset({2, 3}))
        return Chart(svg_id, title, Markup(svg), summary, table)

    def inequality_table(self, area: str) -> Table | None:
        rows = []
        for ind_id in self.inequality_ids():
            sii_text, rii_text, meaning = self.sii_words(ind_id, area)
            rows.append([Cell(self.name_of(ind_id), header=True),
                         Cell(sii_text, numeric=True), Cell(rii_text, numeric=True),
                         Cell(meaning)])
        if not rows:
            return None
        label = self.icb_label if area == self.icb else self.place_name(area)
        return Table(
            caption=f"Slope (SII) and relative (RII) index of inequality by deprivation, "
                    f"{label}, {self.period}",
            columns=["Indicator", "SII (95% CI)", "RII (95% CI)", "What it means"],
            rows=rows, numeric_columns=frozenset({1, 2}),
        )

    # --- per Place ---------------------------------------------------------------------
    def place_section(self, code: str) -> PlaceSection:
        name = self.place_name(code)
        questions: list[Question] = []
        for number, (key, title, ind_ids) in enumerate(QUESTIONS, start=1):
            present = [i for i in ind_ids if self.data.has(i)]
            table = (self.indicator_table(f"{title.rstrip('?')} — {name}, {self.period}",
                                          present, code) if present else None)
            chart_list: list[Chart] = []
            bullets: list[str] = []
            extra: list[Table] = []
            lead = ""
            if key == "deaths":
                lead = self._lead_deaths(code, name)
                for chart in (self.trend_chart(code, "dsr_all_cause"), self.cause_chart(code)):
                    if chart:
                        chart_list.append(chart)
            elif key == "need":
                lead = self._lead_need(code, name)
                chart = self.projection_chart_for(code)
                if chart:
                    chart_list.append(chart)
            elif key == "place":
                lead = self._lead_place(code, name)
                chart = self.pod_chart([code, self.icb], self.unique_id("pod", code),
                                       f"Place of death, {name} and ICB")
                if chart:
                    chart_list.append(chart)
            elif key == "identification":
                lead = self._lead_simple(code, name, "on_register_need_pct",
                                         "of people who died with palliative care needs "
                                         "were on a palliative care register before death")
            elif key == "hospital":
                lead = self._lead_simple(code, name, "ea_last90_3plus_pct",
                                         "of people had three or more emergency admissions "
                                         "in their last 90 days of life")
                age_table = self.breakdown_table("ea_last90_3plus_pct", code, "age_group")
                if age_table is not None:
                    extra.append(age_table)
            elif key == "inequality":
                table = self.inequality_table(code)
                panels = [p for p in (self.gradient_panel(i, code, self.name_of(i))
                                      for i in self.inequality_ids()) if p is not None]
                lead = ("Values by deprivation quintile of the area of residence (1 = most "
                        "deprived), with the slope index of inequality (SII, the modelled "
                        "gap from most to least deprived) and the relative index (RII).")
                if panels:
                    summary = (f"Indicator values by deprivation quintile for {name}, "
                               f"{self.period}, with 95% intervals; the SII and RII are "
                               "written on each panel and in the table above.")
                    svg_id = self.unique_id("gradient", code)
                    chart_list.append(self.gradient_chart(
                        svg_id, f"Deprivation gradients, {name}", summary, panels,
                        f"Indicator values by deprivation quintile, {name}, {self.period}"))
            elif key == "quality":
                lead, bullets = self._quality_notes(code, name)
            questions.append(Question(key, number, title, lead, table, chart_list, bullets,
                                      extra))
        return PlaceSection(code=code, name=name, anchor=f"place-{slug(code)}",
                            key_facts=self.key_facts(code), questions=questions)

    def breakdown_table(self, ind_id: str, area: str, breakdown: str) -> Table | None:
        values = sorted({key[4] for key in self.data.rows
                         if key[0] == ind_id and key[1] == area and key[3] == breakdown
                         and key[2] == self.period})
        if not values:
            return None
        rows = []
        for value in values:
            row = self.data.get(ind_id, area, self.period, breakdown, value)
            icb_row = self.data.get(ind_id, self.icb, self.period, breakdown, value)
            rows.append([Cell(humanise(value), header=True), Cell(_value(row), numeric=True),
                         Cell(_interval(row), numeric=True),
                         Cell(_count(row, "numerator"), numeric=True),
                         Cell(_count(row, "denominator"), numeric=True),
                         Cell(_value(icb_row), numeric=True),
                         _comparison_cell(row, self.polarity(ind_id))])
        return Table(
            caption=f"{self.name_of(ind_id)} by {humanise(breakdown).lower()}, "
                    f"{self.place_name(area)}, {self.period}",
            columns=[humanise(breakdown), "Value", "95% confidence interval", "Numerator",
                     "Denominator", "ICB", "Compared with ICB"],
            rows=rows, numeric_columns=frozenset({1, 2, 3, 4, 5}))

    def _lead_deaths(self, code: str, name: str) -> str:
        deaths = self.data.get("deaths", code, self.period)
        if deaths is None:
            return ""
        text = f"{fmt_count(deaths['value'])} deaths of {name} residents were registered " \
               f"in {self.period}."
        if deaths["suppressed"]:
            text = f"The number of deaths in {self.period} is suppressed."
        periods = self.previous_periods()
        if len(periods) >= 2:
            first = self.data.get("deaths", code, periods[0])
            if first and _number(first) and _number(deaths):
                change = 100 * (_number(deaths) - _number(first)) / _number(first)  # type: ignore[operator]
                text += f" That is {fmt_number(abs(change), 1)}% " \
                        f"{'more' if change >= 0 else 'fewer'} than in {periods[0]}."
        return text

    def _lead_need(self, code: str, name: str) -> str:
        row = self.data.get("pc_need_pct", code, self.period)
        if row is None:
            return ""
        text = (f"{_value(row)} of deaths in {name} were from conditions that indicate "
                "palliative care need (Etkind et al. 2017), about "
                f"{_count(row, 'numerator')} people in {self.period}.")
        years, deaths, need = self.projection_series(code)
        if years and need and need[0] and need[-1]:
            change = 100 * (need[-1] - need[0]) / need[0]
            text += (f" If today's age- and sex-specific rates hold, need rises to about "
                     f"{fmt_count(need[-1])} a year by {years[-1]} "
                     f"({fmt_number(change, 1)}% more than {years[0]}).")
        return text

    def _lead_place(self, code: str, name: str) -> str:
        hosp = self.data.get("pod_hospital_pct", code, self.period)
        diupr = self.data.get("diupr_pct", code, self.period)
        parts = []
        if hosp is not None:
            parts.append(f"{_value(hosp)} of deaths in {name} were in hospital")
        if diupr is not None:
            parts.append(f"{_value(diupr)} were in the person's usual place of residence")
        achieved = self.data.get("ppod_achieved_pct", code, self.period)
        text = "; ".join(parts) + "." if parts else ""
        if achieved is not None:
            text += (f" Of those with a recorded preference, {_value(achieved)} died "
                     "where they wanted to.")
        return text.strip()

    def _lead_simple(self, code: str, name: str, ind_id: str, words: str) -> str:
        row = self.data.get(ind_id, code, self.period)
        if row is None:
            return ""
        icb_row = self.data.get(ind_id, self.icb, self.period)
        text = f"In {name}, {_value(row)} {words} ({self.period}; ICB {_value(icb_row)})."
        return text

    def _quality_notes(self, code: str, name: str) -> tuple[str, list[str]]:
        suppressed = sum(1 for key, row in self.data.rows.items()
                         if key[1] == code and row["suppressed"] and key[2] == self.period)
        notes = sorted({str(row["note"]) for key, row in self.data.rows.items()
                        if key[1] == code and key[2] == self.period and row["note"]
                        and not row["suppressed"]})
        bullets = []
        if suppressed:
            bullets.append(f"{suppressed} values for {name} in {self.period} are suppressed "
                           "(shown as *) to protect confidentiality.")
        for note in notes[:8]:
            bullets.append(f"Note on some values: {note}")
        if self.bundle.data_quality:
            bullets.append("Completeness, linkage and quarantined rows for the whole ICB "
                           "are in the Data quality section.")
        lead = ("Read the numbers above with these caveats. Small numbers make wide "
                "intervals; a difference is only called higher or lower when the ICB value "
                "lies outside the Place's 95% confidence interval.")
        return lead, bullets

    # --- ICB-wide sections ----------------------------------------------------------
    def inequality_section(self) -> tuple[list[Chart], Table | None]:
        chart_list = []
        areas = [self.icb, *self.places]
        for ind_id in self.inequality_ids():
            name = self.name_of(ind_id)
            panels = []
            for area in areas:
                label = self.icb_short if area == self.icb else self.place_name(area)
                panel = self.gradient_panel(ind_id, area, label)
                if panel is not None:
                    panels.append(panel)
            if not panels:
                continue
            _, _, meaning = self.sii_words(ind_id, self.icb)
            summary = (f"{name} by deprivation quintile for the ICB and each Place, "
                       f"{self.period}, with 95% intervals. Across the ICB: "
                       f"{meaning[:1].lower() + meaning[1:]}.")
            svg_id = self.unique_id("inequality", ind_id)
            chart_list.append(self.gradient_chart(
                svg_id, f"{name} by deprivation quintile", summary, panels,
                f"{name} by deprivation quintile, ICB and Places, {self.period}"))
        # A matrix (indicator x area): the SII with the RII and its reading beneath.
        rows = []
        for ind_id in self.inequality_ids():
            cells = [Cell(self.name_of(ind_id), header=True)]
            for area in areas:
                sii = self.data.get(ind_id, area, self.period, "imd_quintile", "SII")
                rii = self.data.get(ind_id, area, self.period, "imd_quintile", "RII")
                verdict = self.sii_verdict(ind_id, area)
                detail = _SII_SHORT[verdict]
                if rii is not None and not is_missing(rii["value"]):
                    detail = f"RII {fmt_number(rii['value'], 2)} · {detail}"
                sii_text = (MISSING if sii is None or is_missing(sii["value"])
                            else fmt_value(sii["value"], self.unit_of(ind_id)))
                cells.append(Cell(sii_text, numeric=True, detail=detail,
                                  css=f"cmp {COMPARISON_CLASSES.get(verdict, 'cmp-none')}"))
            rows.append(cells)
        table = None
        if rows:
            table = Table(
                caption=f"Slope index of inequality (SII) with the relative index (RII), "
                        f"ICB and every Place, {self.period}",
                columns=["Indicator"] + [self.icb_short if a == self.icb else self.place_name(a)
                                         for a in areas],
                rows=rows, numeric_columns=frozenset(range(1, len(areas) + 1)), css="matrix",
                note="A negative SII means the indicator is higher in more deprived areas. "
                     "‘Worse’ or ‘better’ says how more deprived areas fare, where higher "
                     "or lower is better; intervals are in each Place's own table.")
        return chart_list, table

    def projection_section(self) -> tuple[Chart | None, Table | None]:
        chart = self.projection_chart_for(self.icb)
        years = self.data.periods("year")
        if not years:
            return chart, None
        shown = [y for y in PROJECTION_TABLE_YEARS if y in years] or [years[0], years[-1]]
        first_year, last_year = shown[0], shown[-1]

        def change(before: float | None, after: float | None) -> str:
            if not before or after is None:
                return MISSING
            return fmt_number(100 * (after - before) / before, 1) + "%"

        rows = []
        for area in [self.icb, *self.places]:
            label = self.icb_short if area == self.icb else self.place_name(area)
            all_years, deaths, need = self.projection_series(area)
            by_year = dict(zip(all_years, zip(deaths, need, strict=True), strict=True))
            d0, d1 = by_year.get(first_year, (None, None))[0], by_year.get(last_year,
                                                                         (None, None))[0]
            n_by_year = [by_year.get(y, (None, None))[1] for y in shown]
            rows.append([Cell(label, header=True),
                         Cell(fmt_count(d0), numeric=True), Cell(fmt_count(d1), numeric=True),
                         Cell(change(d0, d1), numeric=True)]
                        + [Cell(fmt_count(n), numeric=True) for n in n_by_year]
                        + [Cell(change(n_by_year[0], n_by_year[-1]), numeric=True)])
        columns = (["Area", f"Deaths {first_year}", f"Deaths {last_year}", "Change in deaths"]
                   + [f"Need {y}" for y in shown] + ["Change in need"])
        table = Table(caption="Projected annual deaths and deaths with palliative care need, "
                              "by Place",
                      columns=columns, rows=rows,
                      numeric_columns=frozenset(range(1, len(columns))))
        return chart, table

    def spc_blocks(self) -> list[SpcBlock]:
        blocks = []
        spc_ids = [ind.id for ind in load_catalogue() if ind.spc]
        spc_ids += sorted({key[0] for key, row in self.data.rows.items()
                           if self.data.kinds.get(key[2]) == "month"} - set(spc_ids))
        for ind_id in spc_ids:
            # The series and its limits come from eolneeds.spc: monthly or quarterly as
            # the counts allow, never through suppressed points, limits within range.
            icb_series = spc.spc_series(self.data.frame, ind_id, self.icb)
            if icb_series.result is None:
                continue
            values = list(zip(icb_series.labels, icb_series.values, strict=True))
            polarity = self.polarity(ind_id)
            unit = self.unit_of(ind_id)
            name = self.name_of(ind_id)
            result = icb_series.result
            labels = [p for p, _ in values]
            meaning = self.spc_meaning(result, polarity, self.benchmark(ind_id))
            summary = (f"XmR chart of monthly {name.lower()} for the ICB, {labels[0]} to "
                       f"{labels[-1]}: mean {fmt_value(result.mean, unit)}, process limits "
                       f"{fmt_value(result.lower_limit, unit)} to "
                       f"{fmt_value(result.upper_limit, unit)}. {meaning}")
            svg_id = self.unique_id("spc", ind_id)
            svg = charts.spc_chart(svg_id, f"{name}, monthly, ICB", summary, labels, result,
                                   polarity, unit)
            classes = charts.spc_point_classes(result, polarity)
            data_table = Table(
                caption=f"{name}, monthly values for the ICB, with special-cause flags",
                columns=["Month", "Value", "Signal"],
                rows=[[Cell(p, header=True), Cell(fmt_value(v, unit), numeric=True),
                       Cell(charts.SPC_STYLES[c][2])]
                      for (p, v), c in zip(values, classes, strict=True)],
                numeric_columns=frozenset({1}))
            chart = Chart(svg_id, f"{name}, monthly (ICB)", Markup(svg), summary, data_table)
            place_rows = []
            for area in [self.icb, *self.places]:
                label = self.icb_label if area == self.icb else self.place_name(area)
                series = spc.spc_series(self.data.frame, ind_id, area)
                if series.result is None:
                    place_rows.append([Cell(label, header=True)] + [Cell(MISSING)] * 3
                                      + [Cell(series.reason[:1].upper() + series.reason[1:])])
                    continue
                res = series.result
                pts = list(zip(series.labels, series.values, strict=True))
                icon = methods.variation_icon(res, polarity)
                every = "quarterly" if series.aggregation == "quarter" else "monthly"
                place_rows.append([
                    Cell(label, header=True),
                    Cell(f"{fmt_value(pts[-1][1], unit)} ({pts[-1][0]}, {every})", numeric=True),
                    Cell(fmt_value(res.mean, unit), numeric=True),
                    Cell(f"{fmt_value(res.lower_limit, unit)} to "
                         f"{fmt_value(res.upper_limit, unit)}", numeric=True),
                    Cell(_VARIATION_SHORT[icon], css=f"spc spc-{icon.replace('_', '-')}"),
                ])
            table = Table(
                caption=f"{name}: latest month and variation, ICB and every Place",
                columns=["Area", "Latest point", "Mean", "Process limits", "Variation"],
                rows=place_rows, numeric_columns=frozenset({1, 2, 3}))
            blocks.append(SpcBlock(name, chart, meaning, table))
        return blocks

    @staticmethod
    def spc_meaning(result: methods.XmRResult, polarity: str, target: float | None) -> str:
        icon = methods.variation_icon(result, polarity)
        text = methods.VARIATION_DESCRIPTIONS[icon]
        assurance = methods.assurance_icon(result, target, polarity)
        if assurance is not None:
            words = methods.ASSURANCE_DESCRIPTIONS[assurance]
            text += " Against the England value as a target: " + words[:1].lower() + words[1:]
        return text

    def data_quality_tables(self) -> tuple[list[Table], list[str]]:
        tables, descriptions = [], []
        for dq in self.bundle.data_quality:
            frame = dq.frame
            columns = [humanise(c) for c in frame.columns]
            numeric = frozenset(i for i, dtype in enumerate(frame.dtypes) if dtype.is_numeric())
            rows = [[Cell(fmt_cell(v), numeric=i in numeric, header=i == 0)
                     for i, v in enumerate(row)] for row in frame.iter_rows()]
            note = "" if rows else "None found."
            tables.append(Table(caption=dq.title, columns=columns, rows=rows,
                                numeric_columns=numeric, note=note))
            descriptions.append(dq.description)
        return tables, descriptions

    def definitions(self) -> dict[str, list[Definition]]:
        grouped: dict[str, list[Definition]] = {title: [] for title in THEMES.values()}
        for ind in load_catalogue():
            theme = THEMES.get(ind.theme, humanise(ind.theme))
            grouped.setdefault(theme, []).append(Definition(
                id=ind.id, name=ind.name, definition=ind.definition,
                numerator=ind.numerator, denominator=ind.denominator, unit=ind.unit,
                method=_METHOD_NAMES.get(ind.method, ind.method),
                breakdowns=", ".join(humanise(b) for b in ind.breakdown_list) or MISSING,
                polarity=humanise(ind.polarity.replace("_is_", " is ")),
            ))
        return {k: v for k, v in grouped.items() if v}

    def manifest_tables(self) -> tuple[Table | None, Table | None, Table | None,
                                       Table | None]:
        manifest = self.bundle.manifest or {}
        inputs = manifest.get("inputs") or []
        sources = None
        if inputs:
            sources = Table(
                caption="Input files used by this report",
                columns=["Dataset", "File", "Rows read", "Loaded", "Quarantined",
                         "Ingested", "SHA-256"],
                rows=[[Cell(str(i.get("dataset", "")), header=True),
                       Cell(str(i.get("file_name", ""))),
                       Cell(fmt_cell(i.get("rows_read")), numeric=True),
                       Cell(fmt_cell(i.get("rows_loaded")), numeric=True),
                       Cell(fmt_cell(i.get("rows_rejected")), numeric=True),
                       Cell(str(i.get("ingested_at") or MISSING)),
                       Cell(str(i.get("content_hash") or MISSING), css="hash")]
                      for i in inputs],
                numeric_columns=frozenset({2, 3, 4}))
        software = None
        versions = manifest.get("software") or {}
        if versions:
            software = Table(caption="Software versions",
                             columns=["Component", "Version"],
                             rows=[[Cell(str(k), header=True), Cell(str(v))]
                                   for k, v in versions.items()])
        queries = None
        hashes = manifest.get("queries") or {}
        if hashes:
            queries = Table(caption="Analysis queries (SHA-256)",
                            columns=["Query", "SHA-256"],
                            rows=[[Cell(str(k), header=True), Cell(str(v), css="hash")]
                                  for k, v in sorted(hashes.items())])
        coverage = None
        cover = manifest.get("data_coverage") or {}
        if cover:
            coverage = Table(caption="Period covered by each dataset",
                             columns=["Dataset", "First date", "Last date"],
                             rows=[[Cell(str(k), header=True),
                                    Cell(str((v or {}).get("first") or MISSING)),
                                    Cell(str((v or {}).get("last") or MISSING))]
                                   for k, v in cover.items()])
        return sources, software, queries, coverage

    def disclosure_rule(self) -> str:
        rule = self.config.disclosure
        if not rule.enabled:
            return ("Disclosure control is switched off for this report (min_count = 0): it "
                    "may contain small numbers and must not be published.")
        text = (f"Counts from 1 to {rule.min_count - 1} are suppressed and shown as *; "
                "percentages, rates and means built on a suppressed count are suppressed too.")
        if rule.secondary:
            text += (" Where a total would reveal a suppressed cell, the next smallest cell "
                     "is suppressed as well.")
        if rule.rounding:
            text += f" Other counts are rounded to the nearest {rule.rounding}."
        text += f" A dash ({MISSING}) means no value exists (no data, or not calculable)."
        return text

    def build(self) -> ReportContext:
        overview_charts: list[Chart] = []
        pod = self.pod_chart([self.icb, *self.places], self.unique_id("pod", "overview"),
                             "Place of death, ICB and Places")
        if pod:
            overview_charts.append(pod)
        for ind_id in FUNNEL_INDICATORS:
            if self.data.has(ind_id):
                chart = self.funnel(ind_id)
                if chart:
                    overview_charts.append(chart)
        places = [self.place_section(code) for code in self.places]
        inequality_charts, inequality_table = self.inequality_section()
        projection_chart, projection_table = self.projection_section()
        dq_tables, dq_descriptions = self.data_quality_tables()
        sources, software, queries, coverage = self.manifest_tables()
        method_words = _method_descriptions()
        generated = self.bundle.generated_at.strftime("%d %B %Y, %H:%M").lstrip("0")
        return ReportContext(
            title=f"Palliative and end-of-life care needs assessment: {self.icb_label}",
            icb_name=self.icb_label, icb_code=self.icb, headline_period=self.period,
            generated=generated, software_version=self.bundle.software_version,
            contact=self.config.contact,
            disclosure_rule=self.disclosure_rule(),
            disclosure_notes=[f"{note}: {n:,} value{'s' if n != 1 else ''}" for note, n in
                              self.data.suppressed_notes()],
            overview_table=self.overview(), overview_charts=overview_charts,
            places=places, inequality_charts=inequality_charts,
            inequality_table=inequality_table, projection_chart=projection_chart,
            projection_table=projection_table, spc_blocks=self.spc_blocks(),
            data_quality=dq_tables, data_quality_descriptions=dq_descriptions,
            definitions=self.definitions(), methods=method_words,
            summaries=[(s.name, s.definition) for s in load_summaries()],
            sources=sources, software=software, queries=queries, coverage=coverage,
            css=Markup(_stylesheet()),
        )


_SII_SHORT = {
    "worse": "more deprived fare worse",
    "better": "more deprived fare better",
    "higher": "higher when more deprived",
    "lower": "lower when more deprived",
    "similar": "no clear gradient",
    "not_compared": "not calculated",
}
_VARIATION_SHORT = {
    "common_cause": "Common cause: no significant change",
    "special_cause_improving": "Special cause: improving",
    "special_cause_concerning": "Special cause: concerning",
    "special_cause_neither": "Special cause: neither better nor worse",
}
_METHOD_NAMES = {
    "P": "Proportion (Wilson CI)", "R": "Crude rate (Byar / exact Poisson CI)",
    "DSR": "Directly standardised rate (Dobson CI)", "M": "Mean (t CI)", "Q": "Median",
    "C": "Count",
}
_METHOD_TITLES = {
    "P": "Proportions", "R": "Crude rates", "DSR": "Directly standardised rates",
    "M": "Means", "Q": "Medians", "C": "Counts", "ISR": "Indirectly standardised ratios",
    "SII": "Slope index of inequality", "RII": "Relative index of inequality",
    "funnel": "Funnel plots", "SPC": "Statistical process control charts",
}
_CAUSE_ORDER = ("cancer", "organ_failure", "stroke", "dementia_frailty", "neurodegenerative",
                "hiv", "other")


def _cause_order(value: str) -> tuple[int, str]:
    return (_CAUSE_ORDER.index(value) if value in _CAUSE_ORDER else len(_CAUSE_ORDER), value)


def _method_descriptions() -> list[tuple[str, str]]:
    descriptions = getattr(methods, "METHOD_DESCRIPTIONS", {}) or {}
    return [(_METHOD_TITLES.get(k, k), v) for k, v in descriptions.items()]


# ----------------------------------------------------------------------------------
# Templates
# ----------------------------------------------------------------------------------


def _load_template(name: str) -> str:
    # Templates ship as package data (eolneeds.report_templates): found the same way
    # from a checkout, an editable install or a wheel.
    resource = templates_dir()
    for part in name.split("/"):
        if part in ("", ".", ".."):
            raise jinja2.TemplateNotFound(name)
        resource = resource / part
    if not resource.is_file():
        raise jinja2.TemplateNotFound(name)
    return resource.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=True,  # every value from the input data is escaped
        undefined=jinja2.StrictUndefined,  # a typo in a template fails loudly in tests
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def _stylesheet() -> str:
    return _load_template(STYLESHEET)


def build_context(bundle: ReportBundle) -> ReportContext:
    return _Builder(bundle).build()


def render_html(bundle: ReportBundle) -> str:
    """The whole report as one HTML string (UTF-8, self-contained)."""
    context = build_context(bundle)
    return environment().get_template(TEMPLATE).render(report=context)


def write_html_report(bundle: ReportBundle, path: Path) -> None:
    """Render the report and write it atomically to `path`."""
    html = render_html(bundle)
    try:
        from eolneeds.outputs import atomic_write_text
    except ImportError:  # pragma: no cover - outputs ships with the package
        Path(path).write_text(html, encoding="utf-8", newline="\n")
        return
    atomic_write_text(Path(path), html)


__all__ = ["build_context", "render_html", "write_html_report", "period_kind",
           "ReportContext"]
