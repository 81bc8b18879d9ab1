"""The HTML report's typed context and the look-ups every section builder shares.

The templates in report_templates/ may use the dataclasses below and nothing else
(the datasette habit): `report_html.build_context` fills a `ReportContext` from a
ReportBundle with one builder per report section (eolneeds.report_sections), each
reading the indicator table through `ReportData`. Every number is formatted by the
tested filters of eolneeds.formatting, so the page never shows a raw float.
"""


from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from markupsafe import Markup

from eolneeds import categories, charts
from eolneeds.bundle import COST_INDICATOR, BenchmarkValue, ReportBundle, cost_per_death
from eolneeds.catalogue import Indicator, load_catalogue
from eolneeds.findings import Finding, findings_builder, period_words
from eolneeds.formatting import (
    MISSING,
    SUPPRESSED,
    fmt_count,
    fmt_interval,
    fmt_value,
    humanise,
    is_missing,
    judge,
)

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
      "register_days_median", "register_late_pct", "dnacpr_need_pct", "acp_need_pct",
      "ppod_need_pct")),
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
    context: str  # "ICB 43.4% · England 43.0% (2023, not 2025-26)"
    comparison: str  # 'Higher' | 'Similar' | ...
    css: str
    detail: str = ""  # "5.7 percentage points above the ICB; 95% CI 47.3 to 52.8"


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
    # The Place's own findings (findings.FindingsBuilder.place_findings), the very ones
    # its pack's Key_findings sheet opens with, in full inside the Place's details;
    # above them only what fits a report that stays short (opening, missing_out).
    findings: tuple[Finding, ...] = ()
    # What is hidden among the headline figures, and why (first screen).
    hidden: str = ""

    @property
    def opening(self) -> tuple[Finding, ...]:
        """Under the heading, as headlines: against the ICB and against England."""
        return tuple(f for f in self.findings
                     if f.key in ("place_versus_icb", "place_versus_england"))

    @property
    def missing_out(self) -> Finding | None:
        """Beside the key facts, its headline and whom (Finding.brief)."""
        return next((f for f in self.findings if f.key == "place_missing_out"), None)


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
class FindingView:
    """A key finding (eolneeds.findings) with the link to its evidence in this report."""

    finding: Finding
    href: str


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
    # bundle.suppression_tally of the indicator table: the total sentence, then one
    # 'reason: n values' line per rule (they add up to the total)
    disclosure_total: str
    disclosure_notes: list[str]
    # SuppressionTally.where_sentence: which breakdowns hold the hidden values
    disclosure_where: str
    findings: list[FindingView]
    overview_table: Table | None
    overview_charts: list[Chart]
    # Why a funnel plot the overview would draw is not there (the ICB value hidden...)
    overview_notes: list[str]
    england_table: Table | None
    england_sources: list[str]
    places: list[PlaceSection]
    inequality_charts: list[Chart]
    inequality_table: Table | None
    # The evidence of the key finding "Who is missing out?" (Finding.more): every
    # significant gradient across the ICB with its SII, interval and RII, steepest first
    inequality_gradients: list[str]
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

def _value(row: dict[str, Any] | None) -> str:
    if row is None:
        return MISSING
    if categories.is_no_residents(row):
        return categories.NO_RESIDENTS  # structurally empty, not suppressed
    return fmt_value(row["value"], row["unit"], suppressed=bool(row["suppressed"]),
                     method=row["method"])


def _interval(row: dict[str, Any] | None) -> str:
    if row is None or categories.is_no_residents(row):
        return MISSING
    return fmt_interval(row["lower_ci_95"], row["upper_ci_95"], row["unit"],
                        suppressed=bool(row["suppressed"]), method=row["method"])


def _count(row: dict[str, Any] | None, column: str) -> str:
    if row is None:
        return MISSING
    if categories.is_no_residents(row):
        return categories.NO_RESIDENTS
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
    """'better' / 'worse' / 'similar' / 'higher' / 'lower' / 'not_compared' from
    formatting.judge (the one mapping the report, the packs and the CLI share); where the
    indicator has no better direction the word stays neutral (higher/lower)."""
    verdict = judge(comparison, polarity)
    return str(comparison) if verdict.key == "not_judged" else verdict.key


def _comparison_cell(row: dict[str, Any] | None, polarity: str) -> Cell:
    comparison = row["comparison"] if row is not None else None
    verdict = judge(comparison, polarity)
    text = verdict.words if comparison else MISSING
    css = COMPARISON_CLASSES.get(assessment(comparison, polarity), "cmp-none")
    return Cell(text, css=f"cmp {css}")


def slug(*parts: str) -> str:
    return charts.chart_id(*parts).removeprefix("chart-")




class ReportData:
    """What every section builder reads: the indicator look-ups, names, units and
    polarity from the catalogue, England values, unique element ids, and the pieces two
    sections share (the indicator table of a theme, the place-of-death bars)."""

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
        # England (and region) values: the Fingertips download, else eolneeds.toml.
        self.england: dict[str, BenchmarkValue] = bundle.england()
        self.regions: dict[str, BenchmarkValue] = bundle.regions()
        # The key findings and each Place's own, from one builder as the packs use
        # (report_excel._key_findings_sheet): the report and a pack say the same.
        self.findings = findings_builder(bundle, self.place_name)

    def ind(self, ind_id: str) -> Indicator | None:
        return self.catalogue.get(ind_id)

    def name_of(self, ind_id: str, *, with_unit: bool = True) -> str:
        """The indicator's name; with_unit adds 'per 100,000' to a rate's (Indicator.label)."""
        ind = self.ind(ind_id)
        if ind is None:
            return self.data.names.get(ind_id, ind_id)
        return ind.label if with_unit else ind.name

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
        value = self.england.get(ind_id)
        return value.value if value is not None else None

    def indicator_table(self, caption: str, ind_ids: Iterable[str], area: str) -> Table | None:
        """Place value, comparison with the ICB, interval, counts, ICB, England and region
        values. The comparison comes straight after the value so a phone shows both
        without scrolling; England and the region carry their period under the value."""
        ind_ids = list(ind_ids)
        has_england = any(i in self.england for i in ind_ids)
        has_region = any(i in self.regions for i in ind_ids)
        columns = ["Indicator", "Value", "Compared with ICB", "95% confidence interval",
                   "Numerator", "Denominator", "ICB"]
        if has_england:
            columns.append("England")
        if has_region:
            columns.append(self.region_name())
        rows = []
        for ind_id in ind_ids:
            if not self.data.has(ind_id):
                continue
            row = self.data.get(ind_id, area, self.period)
            icb_row = self.data.get(ind_id, self.icb, self.period)
            cells = [
                Cell(self.name_of(ind_id), header=True),
                Cell(_value(row), numeric=True, css="value"),
                _comparison_cell(row, self.polarity(ind_id)),
                Cell(_interval(row), numeric=True),
                Cell(_count(row, "numerator"), numeric=True),
                Cell(_count(row, "denominator"), numeric=True),
                Cell(_value(icb_row), numeric=True),
            ]
            if has_england:
                cells.append(self.england_cell(ind_id))
            if has_region:
                cells.append(self.england_cell(ind_id, self.regions))
            rows.append(cells)
            if ind_id == COST_INDICATOR:
                rows.append(self.cost_per_death_cells(row, icb_row, len(columns)))
        if not rows:
            return None
        note = self.england_note(ind_ids) if has_england or has_region else ""
        if definitions := self.england_definitions(ind_ids):
            note = f"{note} {definitions}".strip()
        if COST_INDICATOR in ind_ids and self.data.has(COST_INDICATOR):
            note = (f"{note} " if note else "") + (
                f"Cost: {self.bundle.cost_source()}; per death = the total over the "
                "deaths (the denominator).")
        numeric = {1, 3, 4, 5, 6} | set(range(7, len(columns)))
        return Table(caption=caption, columns=columns, rows=rows, note=note,
                     numeric_columns=frozenset(numeric))

    @staticmethod
    def cost_per_death_cells(row: dict[str, Any] | None, icb_row: dict[str, Any] | None,
                             width: int) -> list[Cell]:
        """The cost row's companion: the same total spread over the deaths."""
        def per_death(r: dict[str, Any] | None) -> str:
            if r is not None and r["suppressed"]:
                return SUPPRESSED
            return fmt_value(cost_per_death(r), "£")

        cells = [Cell("Cost per death of hospital care in the last 90 days of life",
                      header=True),
                 Cell(per_death(row), numeric=True, css="value"),
                 _comparison_cell(row, "neutral"),
                 Cell(MISSING, numeric=True), Cell(_value(row), numeric=True),
                 Cell(_count(row, "denominator"), numeric=True),
                 Cell(per_death(icb_row), numeric=True)]
        return cells + [Cell(MISSING, numeric=True)] * (width - len(cells))

    def region_name(self) -> str:
        """The region's name as the download gives it ('' with no regional values)."""
        return next(iter(self.regions.values())).area_name if self.regions else ""

    def england_cell(self, ind_id: str,
                     values: dict[str, BenchmarkValue] | None = None) -> Cell:
        """England's value (or the region's, from `values`) with its period below it,
        saying when that is not this report's period (findings.period_words); a
        definition that differs is said once under the table (england_definitions)."""
        found = (self.england if values is None else values).get(ind_id)
        if found is None:
            return Cell(MISSING, numeric=True)
        return Cell(fmt_value(found.value, self.unit_of(ind_id)), numeric=True,
                    detail=period_words(found, self.period))

    def england_definitions(self, ind_ids: Iterable[str]) -> str:
        """Once per table: each of its indicators whose national value (England's or
        the region's) is defined differently from ours (BenchmarkValue.definition)."""
        said = dict.fromkeys(f"{self.name_of(i)}: {v[i].definition}"
                             for i in ind_ids for v in (self.england, self.regions)
                             if i in v and v[i].definition)
        return f"Definitions differ. {'. '.join(said)}." if said else ""

    def england_note(self, ind_ids: Iterable[str]) -> str:
        sources = sorted({v[i].source for i in ind_ids for v in (self.england, self.regions)
                          if i in v})
        return "England and region: " + "; ".join(sources) + "." if sources else ""

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
        summary = (f"Stacked bars of the share of deaths at home, in a care home or "
                   f"religious establishment, in hospital, in a hospice and elsewhere, "
                   f"{self.period}.")
        if top is not None:
            top_name = dict((k, n) for k, n, _ in charts.POD_CATEGORIES)[top].lower()
            who = "the ICB" if areas[0] == self.icb else first[0]
            summary += (f" For {who}, the most common place of death is {top_name} "
                        f"({fmt_value(first[1][top], '%')}).")
        svg = charts.place_of_death_chart(svg_id, title, summary, rows)
        table = Table(caption=f"{title}, {self.period} (per cent of deaths)",
                      columns=["Area"] + [n for _, n, _ in charts.POD_CATEGORIES],
                      rows=table_rows, numeric_columns=frozenset(range(1, 6)))
        return Chart(svg_id, title, Markup(svg), summary, table)

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
                         _comparison_cell(row, self.polarity(ind_id)),
                         Cell(_interval(row), numeric=True),
                         Cell(_count(row, "numerator"), numeric=True),
                         Cell(_count(row, "denominator"), numeric=True),
                         Cell(_value(icb_row), numeric=True)])
        # The comparison follows the value, as in the theme tables (visible on a phone).
        return Table(
            caption=f"{self.name_of(ind_id)} by {humanise(breakdown).lower()}, "
                    f"{self.place_name(area)}, {self.period}",
            columns=[humanise(breakdown), "Value", "Compared with ICB",
                     "95% confidence interval", "Numerator", "Denominator", "ICB"],
            rows=rows, numeric_columns=frozenset({1, 3, 4, 5, 6}))
