"""One builder per section of the HTML report, each turning the indicator table (read
through report_context.ReportData) into its part of the typed ReportContext:

FindingsSection      key findings, each linked to its evidence
OverviewSection      headline indicators of every Place, place-of-death bars, funnels
EnglandSection       England (and the region) beside the ICB, with period and source
PlaceSections        a section per Place: key facts and the seven questions
InequalitySection    SII / RII by deprivation and the gradient charts
ProjectionSection    projected deaths and need to 2040
SpcSection           monthly XmR charts and each Place's variation
QualitySection       the data-quality tables from validate
DefinitionsSection   definitions and methods from the catalogue
ProvenanceSection    the disclosure rule and the provenance tables

report_html.build_context runs them in page order (element ids are unique across the
report because they all draw them from the one ReportData).
"""


from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from eolneeds import categories, charts, methods, report_practice, spc
from eolneeds.bundle import projection_year_basis
from eolneeds.catalogue import THEMES, load_catalogue
from eolneeds.findings import benchmark_period, versus_benchmark
from eolneeds.formatting import (
    MISSING,
    SUPPRESSED,
    column_header,
    fmt_cell,
    fmt_comparison,
    fmt_count,
    fmt_number,
    fmt_value,
    humanise,
    is_missing,
    plural,
    unit_decimals,
)
from eolneeds.outputs import WITHHELD
from eolneeds.report_context import (
    COMPARISON_CLASSES,
    PROJECTION_ID,
    PROJECTION_TABLE_YEARS,
    QUESTIONS,
    QUINTILE_LABELS,
    Cell,
    Chart,
    Definition,
    FindingView,
    KeyFact,
    PlaceSection,
    Question,
    ReportData,
    SpcBlock,
    Table,
    _comparison_cell,
    _count,
    _interval,
    _number,
    _value,
    assessment,
    slug,
)

#: A pooled deprivation group in an SII row's note ('1+2'; assess.POOLED_NOTE).
_POOLED_LABEL = re.compile(r"\b\d(?:\+\d)+\b")


def pooled_groups(sii: dict[str, Any]) -> str:
    """The pooled quintiles an SII/RII was computed over ('1+2, 4+5'), or ''."""
    note = str(sii.get("note") or "")
    return ", ".join(_POOLED_LABEL.findall(note)) if "pooled" in note else ""


class FindingsSection:
    """The key findings (eolneeds.findings), each with the link to its evidence."""

    def __init__(self, r: ReportData) -> None:
        self.r = r  # the report's shared look-ups

    def findings(self) -> list[FindingView]:
        found = self.r.findings.build()
        views = []
        for f in found:
            if f.section == "place" and f.place:
                # A question inside the Place, or the Place's opening when none is named
                href = (f"#place-{slug(f.place)}-{f.question_key}" if f.question_key
                        else f"#place-{slug(f.place)}")
            elif f.section == "england":
                href = "#england"
            elif f.section == "inequalities" and f.more:
                href = "#inequalities-steepest"  # its evidence, under the section's lead
            else:
                href = f"#{f.section}"
            views.append(FindingView(f, href))
        return views


class OverviewSection:
    """The ICB overview: the headline table, the place-of-death bars and the funnel plots."""

    def __init__(self, r: ReportData) -> None:
        self.r = r  # the report's shared look-ups

    def overview(self) -> Table | None:
        headline = [ind for ind in load_catalogue() if ind.headline and self.r.data.has(ind.id)]
        if not headline:
            return None
        # England beside the ICB when a national value exists (period under the value).
        has_england = any(ind.id in self.r.england for ind in headline)
        columns = (["Indicator", "ICB"] + (["England"] if has_england else [])
                   + [self.r.place_name(p) for p in self.r.places])
        rows = []
        for ind in headline:
            cells = [Cell(ind.label, header=True),
                     Cell(_value(self.r.data.get(ind.id, self.r.icb, self.r.period)),
                          numeric=True, css="value")]
            if has_england:
                cells.append(self.r.england_cell(ind.id))
            for place in self.r.places:
                row = self.r.data.get(ind.id, place, self.r.period)
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
            caption=f"Headline indicators, {self.r.period}: each Place compared with the ICB "
                    "(95% confidence)",
            columns=columns, rows=rows,
            note=self.r.england_definitions(i.id for i in headline) if has_england else "",
            numeric_columns=frozenset(range(1, len(columns))), css="overview",
        )

    def funnel(self, ind_id: str) -> Chart | None:
        icb_row = self.r.data.get(ind_id, self.r.icb, self.r.period)
        benchmark = _number(icb_row)
        polarity = self.r.polarity(ind_id)
        points, plotted, left_out = [], [], []
        for place in self.r.places:
            row = self.r.data.get(ind_id, place, self.r.period)
            why = _not_plotted(row)
            if why is None and row is not None:
                points.append(charts.FunnelPoint(self.r.place_name(place),
                                                 float(row["numerator"]),
                                                 float(row["denominator"])))
                plotted.append(place)
            else:
                left_out.append((place, why or "no data for the period"))
        # Position and colour by polarity come from the chart's own data (charts.funnel_marks).
        marks = dict(zip(plotted, charts.funnel_marks(points, benchmark or 0.0, polarity),
                         strict=True))
        reasons = dict(left_out)
        table_rows = []
        for place in self.r.places:
            row = self.r.data.get(ind_id, place, self.r.period)
            mark = marks.get(place)
            position = mark.words if mark else f"Not plotted: {reasons[place]}"
            table_rows.append([Cell(self.r.place_name(place), header=True),
                               Cell(_value(row), numeric=True),
                               Cell(_count(row, "numerator"), numeric=True),
                               Cell(_count(row, "denominator"), numeric=True),
                               Cell(position)])
        if benchmark is None or not points:
            return None
        name = self.r.name_of(ind_id)
        outside = [r[0].text for r in table_rows if "99.8%" in r[4].text]
        summary = (f"Funnel plot of {name.lower()} by Place against the number of deaths, "
                   f"with 95% and 99.8% control limits around the ICB value "
                   f"({fmt_value(benchmark, '%')}). ")
        summary += (f"Outside the 99.8% limits: {', '.join(outside)}." if outside
                    else "Every Place plotted is within the 99.8% limits." if left_out
                    else "Every Place is within the 99.8% limits.")
        # A reader who counts fewer Places than the ICB has is told which and why.
        if left_out:
            summary += " " + self._left_out_sentence(left_out)
        svg_id = self.r.unique_id("funnel", ind_id)
        ind = self.r.ind(ind_id)
        # The x axis is the indicator's own denominator (need deaths, deaths, people on
        # a register), not always deaths.
        denominator = ind.denominator.split(" (")[0] if ind and ind.denominator != "—" \
            else "Number of deaths"
        svg = charts.funnel_chart(svg_id, f"{name}: funnel plot, {self.r.period}", summary,
                                  points, benchmark, f"ICB {fmt_value(benchmark, '%')}",
                                  polarity, x_label=f"{denominator} (denominator)")
        table = Table(caption=f"{name} by Place, {self.r.period}, with funnel-plot position",
                      columns=["Place", "Value", "Numerator", "Denominator", "Position"],
                      rows=table_rows, numeric_columns=frozenset({1, 2, 3}))
        return Chart(svg_id, f"{name}: funnel plot", Markup(svg), summary, table)

    def funnel_missing(self, ind_id: str) -> str | None:
        """Why a funnel plot the overview draws for `ind_id` is not there, in a sentence
        (None when it is drawn, or the indicator was not computed): without it a reader
        sees one funnel fewer and no reason."""
        if not self.r.data.has(ind_id):
            return None
        name = self.r.name_of(ind_id)
        icb_row = self.r.data.get(ind_id, self.r.icb, self.r.period)
        if _number(icb_row) is None:
            why = ("is suppressed (disclosure control)" if icb_row is not None
                   and icb_row["suppressed"] else "has no value for this period")
            return (f"No funnel plot of {name.lower()}: the ICB value the Places would be "
                    f"compared with {why}, so none of the {len(self.r.places)} Places is "
                    "plotted. Each Place's value is in its own section.")
        if all(_not_plotted(self.r.data.get(ind_id, p, self.r.period)) is not None
               for p in self.r.places):
            return (f"No funnel plot of {name.lower()}: no Place has a published value for "
                    f"{self.r.period} (suppressed, or no deaths in its denominator).")
        return None

    def _left_out_sentence(self, left_out: list[tuple[str, str]]) -> str:
        by_reason: dict[str, list[str]] = {}
        for place, why in left_out:
            by_reason.setdefault(why, []).append(self.r.place_name(place))
        parts = [f"{', '.join(names)} ({why})" for why, names in by_reason.items()]
        count = len(left_out)
        return (f"{count} of the {len(self.r.places)} Places {'is' if count == 1 else 'are'} "
                f"not plotted: {'; '.join(parts)}.")


def _gap(row: dict[str, Any] | None, icb_row: dict[str, Any] | None) -> str:
    """'5.7 percentage points above' / '201.4 per 100,000 below': a Place's published
    value against the ICB's, worked out from the figures as shown (one decimal place),
    so the words agree with the numbers beside them ('' when either is hidden)."""
    place, icb = _number(row), _number(icb_row)
    if row is None or place is None or icb is None or row["method"] in ("C", "Q"):
        return ""
    gap = round(round(place, 1) - round(icb, 1), 1)
    if gap == 0:
        return ""
    unit = str(row["unit"])
    size = fmt_number(abs(gap), 1) + (" percentage points" if unit == "%" else f" {unit}")
    return f"{size} {'above' if gap > 0 else 'below'}"


def _not_plotted(row: dict[str, Any] | None) -> str | None:
    """Why a Place is left off a funnel plot, or None when it is plotted."""
    if row is None:
        return "no data for the period"
    if row["suppressed"]:
        return "its value is suppressed, disclosure control"
    if is_missing(row["numerator"]) or is_missing(row["denominator"]) \
            or row["denominator"] <= 0:
        return "no deaths in its denominator"
    return None


class EnglandSection:
    """England alongside: the ICB beside England and the region, with period and source."""

    def __init__(self, r: ReportData) -> None:
        self.r = r  # the report's shared look-ups

    def england_section(self) -> tuple[Table | None, list[str]]:
        """The ICB beside England (and the region), each national value with its period
        and source; the ICB compared with England where its interval allows."""
        if not self.r.england and not self.r.regions:
            return None, []
        has_region = bool(self.r.regions)
        region_name = next(iter(self.r.regions.values())).area_name if has_region else ""
        columns = ["Indicator", "ICB", "95% confidence interval", "England",
                   "ICB compared with England"]
        if has_region:
            columns.append(region_name)
        columns += ["Source"]  # England's period is under its value (england_cell)
        rows = []
        ids = [i.id for i in load_catalogue()
               if i.id in self.r.england or i.id in self.r.regions]
        for ind_id in ids:
            eng = self.r.england.get(ind_id)
            row = self.r.data.get(ind_id, self.r.icb, self.r.period)
            comparison = None if eng is None else versus_benchmark(row, eng.value)
            cmp_cell = _comparison_cell({"comparison": comparison} if comparison else None,
                                        self.r.polarity(ind_id))
            if comparison is None:
                cmp_cell = Cell("Not compared (no interval)", css="cmp cmp-none")
            cells = [Cell(self.r.name_of(ind_id), header=True),
                     Cell(_value(row), numeric=True, css="value"),
                     Cell(_interval(row), numeric=True),
                     self.r.england_cell(ind_id), cmp_cell]
            if has_region:
                cells.append(self.r.england_cell(ind_id, self.r.regions))
            source = MISSING
            if eng is not None:
                # The download's file is in the Sources line under the table: said on
                # every row too, it made each row six lines tall at 1366 px.
                source = (f"Indicator {eng.source_indicator}" if eng.source_indicator
                          else eng.source)
            cells.append(Cell(source))
            rows.append(cells)
        if not rows:
            return None, []
        numeric = {1, 2, 3} | ({5} if has_region else set())
        table = Table(caption=f"The ICB ({self.r.period}) beside England: each national value "
                              "with its period and source",
                      columns=columns, rows=rows, numeric_columns=frozenset(numeric),
                      note=self.r.england_definitions(ids))
        sources = sorted({b.source for b in [*self.r.england.values(), *self.r.regions.values()]})
        return table, sources


class InequalitySection:
    """Inequalities: SII and RII by deprivation, gradients per indicator."""

    def __init__(self, r: ReportData) -> None:
        self.r = r  # the report's shared look-ups

    def inequality_ids(self) -> list[str]:
        ids = [ind.id for ind in load_catalogue() if ind.inequality_summary]
        present = {key[0] for key in self.r.data.rows if key[4] in ("SII", "RII")}
        ids = [i for i in ids if i in present]
        return ids + sorted(present - set(ids))

    def sii_words(self, ind_id: str, area: str) -> tuple[str, str, str]:
        """(SII text, RII text, meaning in words) for one indicator and area."""
        sii = self.r.data.get(ind_id, area, self.r.period, "imd_quintile", "SII")
        rii = self.r.data.get(ind_id, area, self.r.period, "imd_quintile", "RII")
        sii_text = (MISSING if sii is None or is_missing(sii["value"])
                    else f"{fmt_value(sii['value'], sii['unit'])} ({_interval(sii)})")
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
            extra = fare.get(self.r.polarity(ind_id))
            meaning = direction[:1].upper() + direction[1:] + (f": {extra}" if extra else "")
            pooled = pooled_groups(sii)
            if pooled:
                meaning += f" (over pooled quintiles {pooled}, as one is suppressed)"
        return sii_text, rii_text, meaning

    def sii_verdict(self, ind_id: str, area: str) -> str:
        """How more deprived areas fare: 'worse', 'better', 'higher', 'lower' (no better
        direction), 'similar' (no clear gradient) or 'not_compared' (no SII)."""
        sii = self.r.data.get(ind_id, area, self.r.period, "imd_quintile", "SII")
        if sii is None or is_missing(sii["lower_ci_95"]) or is_missing(sii["upper_ci_95"]):
            return "not_compared"
        # Quintile 1 (most deprived) is at the left: a negative SII = higher when deprived.
        if sii["upper_ci_95"] < 0:
            higher_when_deprived = "higher"
        elif sii["lower_ci_95"] > 0:
            higher_when_deprived = "lower"
        else:
            return "similar"
        return assessment(higher_when_deprived, self.r.polarity(ind_id))

    def gradient_panel(self, ind_id: str, area: str, title: str) -> tuple[
            charts.GradientPanel, list[list[Cell]]] | None:
        unit = self.r.unit_of(ind_id)
        points, cells = [], []
        for q in ("1", "2", "3", "4", "5"):
            row = self.r.data.get(ind_id, area, self.r.period, "imd_quintile", q)
            points.append(charts.IntervalPoint(
                QUINTILE_LABELS[q], _number(row),
                None if row is None or row["suppressed"] else row["lower_ci_95"],
                None if row is None or row["suppressed"] else row["upper_ci_95"],
                "–" if categories.is_no_residents(row) else "*"))
            cells.append([Cell(title, header=True), Cell(q), Cell(_value(row), numeric=True),
                          Cell(_interval(row), numeric=True)])
        rows = [self.r.data.get(ind_id, area, self.r.period, "imd_quintile", q)
                for q in QUINTILE_LABELS]
        if all(row is None for row in rows):
            return None  # the indicator has no deprivation breakdown here at all
        reason = None
        if all(p.value is None for p in points):
            # Still a panel, saying why: an area missing from small multiples reads as
            # an oversight (or as no difference).
            hidden = any(row is not None and row["suppressed"] for row in rows)
            reason = ("No gradient: every quintile value is suppressed (small numbers)"
                      if hidden else "No gradient: no quintile value is published")
        sii = self.r.data.get(ind_id, area, self.r.period, "imd_quintile", "SII")
        rii = self.r.data.get(ind_id, area, self.r.period, "imd_quintile", "RII")
        annotation = None
        if sii is not None and not is_missing(sii["value"]):
            # Numbers only (the SII is in the axis's unit, percentage points for a
            # percentage): the unit words would shrink the box's text past reading.
            decimals = unit_decimals(sii["unit"])
            annotation = f"SII {fmt_number(sii['value'], decimals)} ({_interval(sii)})"
            if rii is not None and not is_missing(rii["value"]):
                annotation += f"\nRII {fmt_number(rii['value'], 2)} ({_interval(rii)})"
        elif reason is None:
            annotation = self.sii_missing_reason(ind_id, area, points)
        panel = charts.GradientPanel(
            title=title, unit=unit, points=points,
            reference=_number(self.r.data.get(ind_id, area, self.r.period)),
            annotation=annotation, reason=reason)
        return panel, cells

    def sii_missing_reason(self, ind_id: str, area: str,
                           points: Sequence[charts.IntervalPoint]) -> str:
        """Why a panel with values has no SII / RII, in two short lines."""
        sii = self.r.data.get(ind_id, area, self.r.period, "imd_quintile", "SII")
        if sii is not None and sii["suppressed"]:
            return "SII, RII withheld:\na quintile is suppressed"
        published = sum(p.value is not None for p in points)
        if published < 3:
            return f"SII, RII not calculated:\n{published} of 5 quintiles published"
        return "SII, RII not calculated"

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
            rows.append([Cell(self.r.name_of(ind_id), header=True),
                         Cell(sii_text, numeric=True), Cell(rii_text, numeric=True),
                         Cell(meaning)])
        if not rows:
            return None
        label = self.r.icb_label if area == self.r.icb else self.r.place_name(area)
        return Table(
            caption=f"Slope (SII) and relative (RII) index of inequality by deprivation, "
                    f"{label}, {self.r.period}",
            columns=["Indicator", "SII (95% CI)", "RII (95% CI)", "What it means"],
            rows=rows, numeric_columns=frozenset({1, 2}),
        )

    def inequality_section(self) -> tuple[list[Chart], Table | None]:
        chart_list = []
        areas = [self.r.icb, *self.r.places]
        for ind_id in self.inequality_ids():
            name = self.r.name_of(ind_id)
            panels = []
            for area in areas:
                label = self.r.icb_short if area == self.r.icb else self.r.place_name(area)
                panel = self.gradient_panel(ind_id, area, label)
                if panel is not None:
                    panels.append(panel)
            if not panels:
                continue
            _, _, meaning = self.sii_words(ind_id, self.r.icb)
            summary = (f"{name} by deprivation quintile for the ICB and each Place, "
                       f"{self.r.period}, with 95% intervals. Across the ICB: "
                       f"{meaning[:1].lower() + meaning[1:]}.")
            empty = [f"{p.title}: {str(p.reason).removeprefix('No gradient: ')}"
                     for p, _ in panels if p.reason]
            if empty:
                summary += f" No gradient drawn for {'; '.join(empty)}."
            svg_id = self.r.unique_id("inequality", ind_id)
            chart_list.append(self.gradient_chart(
                svg_id, f"{name} by deprivation quintile", summary, panels,
                f"{name} by deprivation quintile, ICB and Places, {self.r.period}"))
        # A matrix (indicator x area): the SII with the RII and its reading beneath.
        rows = []
        for ind_id in self.inequality_ids():
            cells = [Cell(self.r.name_of(ind_id), header=True)]
            for area in areas:
                sii = self.r.data.get(ind_id, area, self.r.period, "imd_quintile", "SII")
                rii = self.r.data.get(ind_id, area, self.r.period, "imd_quintile", "RII")
                verdict = self.sii_verdict(ind_id, area)
                detail = _SII_SHORT[verdict]
                if rii is not None and not is_missing(rii["value"]):
                    detail = f"RII {fmt_number(rii['value'], 2)} · {detail}"
                if sii is not None and pooled_groups(sii):
                    detail = f"{detail} · quintiles {pooled_groups(sii)} pooled"
                sii_text = (MISSING if sii is None or is_missing(sii["value"])
                            else fmt_value(sii["value"], sii["unit"]))
                cells.append(Cell(sii_text, numeric=True, detail=detail,
                                  css=f"cmp {COMPARISON_CLASSES.get(verdict, 'cmp-none')}"))
            rows.append(cells)
        table = None
        if rows:
            table = Table(
                caption=f"Slope index of inequality (SII) with the relative index (RII), "
                        f"ICB and every Place, {self.r.period}",
                columns=["Indicator"] + [self.r.icb_short if a == self.r.icb
                                         else self.r.place_name(a) for a in areas],
                rows=rows, numeric_columns=frozenset(range(1, len(areas) + 1)), css="matrix",
                note="A negative SII means the indicator is higher in more deprived areas. "
                     "‘Worse’ or ‘better’ says how more deprived areas fare, where higher "
                     "or lower is better; intervals are in each Place's own table.")
        return chart_list, table


class ProjectionSection:
    """Projections to 2040 for the ICB and each Place."""

    def __init__(self, r: ReportData) -> None:
        self.r = r  # the report's shared look-ups

    def projection_series(self, area: str) -> tuple[list[str], list[float | None],
                                                    list[float | None]]:
        years = self.r.data.periods("year")
        rows = [self.r.data.get(PROJECTION_ID, area, y) for y in years]
        deaths = [None if r is None or is_missing(r["denominator"]) else float(r["denominator"])
                  for r in rows]
        need = [None if r is None or r["suppressed"] or is_missing(r["numerator"])
                else float(r["numerator"]) for r in rows]
        return years, deaths, need

    def projection_chart_for(self, area: str) -> Chart | None:
        years, deaths, need = self.projection_series(area)
        if not years or all(v is None for v in deaths + need):
            return None
        label = self.r.icb_label if area == self.r.icb else self.r.place_name(area)
        summary = f"Projected annual deaths and deaths with palliative care need, {label}, " \
                  f"{years[0]} to {years[-1]}"
        if deaths[0] and deaths[-1]:
            change = 100 * (deaths[-1] - deaths[0]) / deaths[0]
            summary += (f": deaths from {fmt_count(deaths[0])} to {fmt_count(deaths[-1])} "
                        f"({fmt_number(change, 1)}% change)")
        if need[0] and need[-1]:
            summary += f"; need from {fmt_count(need[0])} to {fmt_count(need[-1])}"
        summary += "."
        svg_id = self.r.unique_id("projection", area)
        svg = charts.line_chart(
            svg_id, f"Projected deaths and palliative care need, {label}", summary, years,
            [charts.Series("Projected deaths", deaths),
             charts.Series("Projected deaths with palliative care need", need)],
            "count", y_label="Deaths per year")
        table = Table(
            caption=f"Projected deaths and palliative care need per year, {label}, "
                    f"{years[0]} to {years[-1]}",
            columns=["Year", "Projected deaths", "With palliative care need"],
            rows=[[Cell(y, header=True), Cell(fmt_count(d), numeric=True),
                   Cell(fmt_count(n), numeric=True)]
                  for y, d, n in zip(years, deaths, need, strict=True)],
            numeric_columns=frozenset({1, 2}),
        )
        return Chart(svg_id, f"Projected deaths and need to {years[-1]}, {label}",
                     Markup(svg), summary, table)

    def projection_section(self) -> tuple[Chart | None, Table | None]:
        chart = self.projection_chart_for(self.r.icb)
        years = self.r.data.periods("year")
        if not years:
            return chart, None
        shown = [y for y in PROJECTION_TABLE_YEARS if y in years] or [years[0], years[-1]]
        first_year, last_year = shown[0], shown[-1]

        def change(before: float | None, after: float | None) -> str:
            if not before or after is None:
                return MISSING
            return fmt_number(100 * (after - before) / before, 1) + "%"

        rows = []
        for area in [self.r.icb, *self.r.places]:
            label = self.r.icb_short if area == self.r.icb else self.r.place_name(area)
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
                              f"by Place, {first_year} to {last_year}",
                      columns=columns, rows=rows,
                      numeric_columns=frozenset(range(1, len(columns))),
                      note=projection_year_basis(self.r.period))
        return chart, table


class PlaceSections:
    """A section per Place: key facts, then the seven questions."""

    def __init__(self, r: ReportData) -> None:
        self.r = r  # the report's shared look-ups
        self.projections = ProjectionSection(r)
        self.inequalities = InequalitySection(r)

    def place_section(self, code: str) -> PlaceSection:
        name = self.r.place_name(code)
        questions: list[Question] = []
        for number, (key, title, ind_ids) in enumerate(QUESTIONS, start=1):
            present = [i for i in ind_ids if self.r.data.has(i)]
            table = (self.r.indicator_table(f"{title.rstrip('?')} — {name}, {self.r.period}",
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
                chart = self.projections.projection_chart_for(code)
                if chart:
                    chart_list.append(chart)
            elif key == "place":
                lead = self._lead_place(code, name)
                chart = self.r.pod_chart([code, self.r.icb], self.r.unique_id("pod", code),
                                       f"Place of death, {name} and ICB")
                if chart:
                    chart_list.append(chart)
            elif key == "identification":
                lead = self._lead_simple(code, name, "on_register_need_pct",
                                         "of people who died with palliative care needs "
                                         "were on a palliative care register before death")
                # GP practices furthest below the ICB (report_practice.py).
                practice_extra, bullets = report_practice.practice_tables(self.r, code)
                extra += practice_extra
                practice_chart = report_practice.practice_funnel_chart(self.r, code)
                if practice_chart:
                    chart_list.append(practice_chart)
            elif key == "hospital":
                lead = self._lead_simple(code, name, "ea_last90_3plus_pct",
                                         "of people had three or more emergency admissions "
                                         "in their last 90 days of life")
                age_table = self.r.breakdown_table("ea_last90_3plus_pct", code, "age_group")
                if age_table is not None:
                    extra.append(age_table)
                # What-if scenarios, with their assumptions (report_practice.py).
                scenario_extra, bullets = report_practice.scenario_tables(self.r, code)
                extra += scenario_extra
            elif key == "inequality":
                table = self.inequalities.inequality_table(code)
                panels = [p for p in (self.inequalities.gradient_panel(i, code, self.r.name_of(i))
                                      for i in self.inequalities.inequality_ids()) if p is not None]
                lead = ("Values by deprivation quintile of the area of residence (1 = most "
                        "deprived), with the slope index of inequality (SII, the modelled "
                        "gap from most to least deprived) and the relative index (RII).")
                if panels:
                    summary = (f"Indicator values by deprivation quintile for {name}, "
                               f"{self.r.period}, with 95% intervals; the SII and RII are "
                               "written on each panel and in the table above.")
                    svg_id = self.r.unique_id("gradient", code)
                    chart_list.append(self.inequalities.gradient_chart(
                        svg_id, f"Deprivation gradients, {name}", summary, panels,
                        f"Indicator values by deprivation quintile, {name}, {self.r.period}"))
            elif key == "quality":
                lead, bullets = self._quality_notes(code, name)
            questions.append(Question(key, number, title, lead, table, chart_list, bullets,
                                      extra))
        return PlaceSection(code=code, name=name, anchor=f"place-{slug(code)}",
                            key_facts=self.key_facts(code), questions=questions,
                            findings=tuple(self.r.findings.place_findings(code)),
                            hidden=self.hidden_headlines(code))

    def hidden_headlines(self, code: str) -> str:
        """Which headline figures of the Place are not shown, and why, for the first
        screen (a '*' with no reason reads as a fault)."""
        hidden, unjudged = [], []
        for ind in load_catalogue():
            if not ind.headline or not self.r.data.has(ind.id):
                continue
            row = self.r.data.get(ind.id, code, self.r.period)
            if row is not None and row["suppressed"]:
                hidden.append(ind.label)
            elif row is not None and ind.method not in ("C", "Q") \
                    and _number(row) is not None \
                    and _number(self.r.data.get(ind.id, self.r.icb, self.r.period)) is None:
                unjudged.append(ind.label)
        text = []
        if hidden:
            text.append(f"Not shown ({SUPPRESSED}): {'; '.join(hidden)}: suppressed by "
                        "disclosure control (see About this report).")
        if unjudged:
            text.append(f"Not compared with the ICB: {'; '.join(unjudged)}: the ICB value "
                        "is not published.")
        return " ".join(text)

    def key_facts(self, area: str) -> list[KeyFact]:
        facts = []
        for ind in load_catalogue():
            if not ind.headline or not self.r.data.has(ind.id):
                continue
            row = self.r.data.get(ind.id, area, self.r.period)
            icb_row = self.r.data.get(ind.id, self.r.icb, self.r.period)
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
            # By how much, and how sure: the gap to the ICB in the indicator's unit and
            # the Place's 95% interval, beside the verdict; England with its period.
            context = f"ICB {_value(icb_row)}"
            england = self.r.england.get(ind.id)
            if england is not None and area != self.r.icb:
                context += (f" · England {fmt_value(england.value, ind.unit)} "
                            f"({benchmark_period(england, self.r.period)})")
            detail = ""
            if verdict in ("better", "worse", "higher", "lower"):
                gap = _gap(row, icb_row)
                detail = f"{gap} the ICB; " if gap else ""
            if row is not None and row["suppressed"]:
                detail = "suppressed (disclosure control)"
            elif row is not None and _number(row) is not None \
                    and not is_missing(row["lower_ci_95"]):
                detail += f"95% CI {_interval(row)}"
            facts.append(KeyFact(
                label=ind.label, value=_value(row), context=context,
                comparison=word, css=COMPARISON_CLASSES.get(verdict, "cmp-none"),
                detail=detail,
            ))
        return facts

    def trend_chart(self, area: str, ind_id: str) -> Chart | None:
        periods = self.r.previous_periods()
        if len(periods) < 2 or not self.r.data.has(ind_id):
            return None
        series = []
        table_rows = []
        label = self.r.place_name(area)
        for code, name in ((area, label), (self.r.icb, self.r.icb_short)):
            rows = [self.r.data.get(ind_id, code, p) for p in periods]
            series.append(charts.Series(
                name, [_number(r) for r in rows],
                [None if r is None or r["suppressed"] else r["lower_ci_95"] for r in rows],
                [None if r is None or r["suppressed"] else r["upper_ci_95"] for r in rows],
            ))
            table_rows.append([Cell(name, header=True)] + [
                Cell(f"{_value(r)} ({_interval(r)})", numeric=True) for r in rows])
        ind_name = self.r.name_of(ind_id, with_unit=False)  # the unit follows in brackets
        unit = self.r.unit_of(ind_id)
        first, last = series[0].values[0], series[0].values[-1]
        summary = f"{ind_name} ({unit}) for {label} and the ICB, {periods[0]} to {periods[-1]}"
        if first is not None and last is not None:
            summary += (f": {label} went from {fmt_value(first, unit)} to "
                        f"{fmt_value(last, unit)}.")
        else:
            summary += "."
        svg_id = self.r.unique_id("trend", area, ind_id)
        svg = charts.line_chart(svg_id, f"{ind_name}, {label} and ICB", summary, periods,
                                series, unit, y_label=unit)
        table = Table(caption=f"{ind_name} ({unit}), {label} and the ICB, {periods[0]} to "
                              f"{periods[-1]}, with 95% confidence intervals",
                      columns=["Area", *periods], rows=table_rows,
                      numeric_columns=frozenset(range(1, len(periods) + 1)))
        return Chart(svg_id, f"{ind_name}: trend, {label}", Markup(svg), summary, table)

    def cause_chart(self, area: str) -> Chart | None:
        ind_id = "cause_group_pct"
        values = sorted({key[4] for key in self.r.data.rows
                         if key[0] == ind_id and key[3] == "cause_group"},
                        key=_cause_order)
        if not values:
            return None
        label = self.r.place_name(area)
        place_rows = [self.r.data.get(ind_id, area, self.r.period, "cause_group", v)
                      for v in values]
        icb_rows = [self.r.data.get(ind_id, self.r.icb, self.r.period, "cause_group", v)
                    for v in values]
        series = [charts.Series(label, [_number(r) for r in place_rows]),
                  charts.Series(self.r.icb_short, [_number(r) for r in icb_rows])]
        categories = [humanise(v) for v in values]
        ranked = sorted(((n, c) for n, c, v in zip(series[0].values, categories, values,
                                                      strict=True)
                         if n is not None and v != "other"), reverse=True)
        summary = f"Deaths by cause group, {label} beside the ICB, {self.r.period}."
        if ranked:
            summary += (f" The largest group in {label} is {ranked[0][1].lower()} "
                        f"({fmt_value(ranked[0][0], '%')} of deaths).")
        svg_id = self.r.unique_id("causes", area)
        svg = charts.grouped_bar_chart(svg_id, f"Deaths by cause group, {label}", summary,
                                       categories, series, "%")
        table = Table(
            caption=f"Deaths by cause group, {label} and the ICB, {self.r.period} (per cent "
                    "of deaths)",
            columns=["Cause group", label, "Compared with ICB", "95% confidence interval",
                     "ICB"],
            rows=[[Cell(c, header=True), Cell(_value(p), numeric=True),
                   _comparison_cell(p, "neutral"), Cell(_interval(p), numeric=True),
                   Cell(_value(i), numeric=True)]
                  for c, p, i in zip(categories, place_rows, icb_rows, strict=True)],
            numeric_columns=frozenset({1, 3, 4}),
        )
        return Chart(svg_id, f"Deaths by cause group, {label}", Markup(svg), summary, table)

    def _lead_deaths(self, code: str, name: str) -> str:
        deaths = self.r.data.get("deaths", code, self.r.period)
        if deaths is None:
            return ""
        text = f"{fmt_count(deaths['value'])} deaths of {name} residents were registered " \
               f"in {self.r.period}."
        if deaths["suppressed"]:
            text = f"The number of deaths in {self.r.period} is suppressed."
        periods = self.r.previous_periods()
        if len(periods) >= 2:
            first = self.r.data.get("deaths", code, periods[0])
            if first and _number(first) and _number(deaths):
                change = 100 * (_number(deaths) - _number(first)) / _number(first)  # type: ignore[operator]
                text += f" That is {fmt_number(abs(change), 1)}% " \
                        f"{'more' if change >= 0 else 'fewer'} than in {periods[0]}."
        return text

    def _lead_need(self, code: str, name: str) -> str:
        row = self.r.data.get("pc_need_pct", code, self.r.period)
        if row is None:
            return ""
        text = (f"{_value(row)} of deaths in {name} were from conditions that indicate "
                "palliative care need (Etkind et al. 2017), about "
                f"{_count(row, 'numerator')} people in {self.r.period}.")
        years, deaths, need = self.projections.projection_series(code)
        if years and need and need[0] and need[-1]:
            change = 100 * (need[-1] - need[0]) / need[0]
            text += (f" If the age- and sex-specific rates of {self.r.period} hold, need "
                     f"rises to about {fmt_count(need[-1])} a year by {years[-1]} "
                     f"({fmt_number(change, 1)}% more than projected for {years[0]}; "
                     "projections are calendar years).")
        return text

    def _lead_place(self, code: str, name: str) -> str:
        hosp = self.r.data.get("pod_hospital_pct", code, self.r.period)
        diupr = self.r.data.get("diupr_pct", code, self.r.period)
        parts = []
        if hosp is not None:
            parts.append(f"{_value(hosp)} of deaths in {name} were in hospital")
        if diupr is not None:
            parts.append(f"{_value(diupr)} were in the person's usual place of residence")
        achieved = self.r.data.get("ppod_achieved_pct", code, self.r.period)
        text = "; ".join(parts) + "." if parts else ""
        if achieved is not None:
            text += (f" Of those with a recorded preference, {_value(achieved)} died "
                     "where they wanted to.")
        return text.strip()

    def _lead_simple(self, code: str, name: str, ind_id: str, words: str) -> str:
        row = self.r.data.get(ind_id, code, self.r.period)
        if row is None:
            return ""
        icb_row = self.r.data.get(ind_id, self.r.icb, self.r.period)
        text = f"In {name}, {_value(row)} {words} ({self.r.period}; ICB {_value(icb_row)})."
        return text

    def _quality_notes(self, code: str, name: str) -> tuple[str, list[str]]:
        suppressed = sum(1 for key, row in self.r.data.rows.items()
                         if key[1] == code and row["suppressed"] and key[2] == self.r.period)
        notes = sorted({str(row["note"]) for key, row in self.r.data.rows.items()
                        if key[1] == code and key[2] == self.r.period and row["note"]
                        and not row["suppressed"]})
        bullets = []
        if suppressed:
            bullets.append(f"{suppressed} {plural(suppressed, 'value')} for {name} in "
                           f"{self.r.period} {plural(suppressed, 'is', 'are')} suppressed "
                           "(shown as *) to protect confidentiality.")
        for note in notes[:8]:
            bullets.append(f"Note on some values: {note}")
        if self.r.bundle.data_quality:
            bullets.append("Completeness, linkage and quarantined rows for the whole ICB "
                           "are in the Data quality section.")
        lead = ("Read the numbers above with these caveats. Small numbers make wide "
                "intervals; a difference is only called higher or lower when the ICB value "
                "lies outside the Place's 95% confidence interval.")
        return lead, bullets


class SpcSection:
    """Monthly trends: XmR charts for the ICB and the variation of every Place."""

    def __init__(self, r: ReportData) -> None:
        self.r = r  # the report's shared look-ups

    def spc_blocks(self) -> list[SpcBlock]:
        blocks = []
        spc_ids = [ind.id for ind in load_catalogue() if ind.spc]
        spc_ids += sorted({key[0] for key, row in self.r.data.rows.items()
                           if self.r.data.kinds.get(key[2]) == "month"} - set(spc_ids))
        for ind_id in spc_ids:
            # The series and its limits come from eolneeds.spc: monthly or quarterly as
            # the counts allow, never through suppressed points, limits within range.
            icb_series = spc.spc_series(self.r.data.frame, ind_id, self.r.icb)
            if icb_series.result is None:
                continue
            values = list(zip(icb_series.labels, icb_series.values, strict=True))
            polarity = self.r.polarity(ind_id)
            unit = self.r.unit_of(ind_id)
            name = self.r.name_of(ind_id)
            result = icb_series.result
            labels = [p for p, _ in values]
            eng = self.r.england.get(ind_id)
            meaning = self.spc_meaning(result, polarity, self.r.benchmark(ind_id),
                                       benchmark_period(eng, self.r.period) if eng else "")
            summary = (f"XmR chart of monthly {name.lower()} for the ICB, {labels[0]} to "
                       f"{labels[-1]}: mean {fmt_value(result.mean, unit)}, process limits "
                       f"{fmt_value(result.lower_limit, unit)} to "
                       f"{fmt_value(result.upper_limit, unit)}. {meaning}")
            svg_id = self.r.unique_id("spc", ind_id)
            svg = charts.spc_chart(svg_id, f"{name}, monthly, ICB", summary, labels, result,
                                   polarity, unit)
            classes = charts.spc_point_classes(result, polarity)
            data_table = Table(
                caption=f"{name}, monthly values for the ICB, {labels[0]} to {labels[-1]}, "
                        "with special-cause flags",
                columns=["Month", "Value", "Signal"],
                rows=[[Cell(p, header=True), Cell(fmt_value(v, unit), numeric=True),
                       Cell(charts.SPC_STYLES[c][2])]
                      for (p, v), c in zip(values, classes, strict=True)],
                numeric_columns=frozenset({1}))
            chart = Chart(svg_id, f"{name}, monthly (ICB)", Markup(svg), summary, data_table)
            place_rows = []
            for area in [self.r.icb, *self.r.places]:
                label = self.r.icb_label if area == self.r.icb else self.r.place_name(area)
                series = spc.spc_series(self.r.data.frame, ind_id, area)
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
    def spc_meaning(result: methods.XmRResult, polarity: str, target: float | None,
                    target_period: str = "") -> str:
        icon = methods.variation_icon(result, polarity)
        text = methods.VARIATION_DESCRIPTIONS[icon]
        assurance = methods.assurance_icon(result, target, polarity)
        if assurance is not None:
            words = methods.ASSURANCE_DESCRIPTIONS[assurance]
            period = f" ({target_period})" if target_period else ""
            text += (f" Against the England value{period} as a target: "
                     + words[:1].lower() + words[1:])
        return text


class QualitySection:
    """Data quality: the tables validate produced."""

    def __init__(self, r: ReportData) -> None:
        self.r = r  # the report's shared look-ups

    def data_quality_tables(self) -> tuple[list[Table], list[str]]:
        tables, descriptions = [], []
        for dq in self.r.bundle.data_quality:
            frame = dq.frame
            columns = [column_header(c) for c in frame.columns]
            numeric = frozenset(i for i, dtype in enumerate(frame.dtypes) if dtype.is_numeric())
            # A count withheld by disclosure control (validate.protect_quality_tables).
            rows = [[Cell(SUPPRESSED if (r, frame.columns[i]) in dq.confidential
                          else fmt_cell(v), numeric=i in numeric, header=i == 0)
                     for i, v in enumerate(row)] for r, row in enumerate(frame.iter_rows())]
            note = "" if rows else "None found."
            if dq.confidential:
                small = f"1-{self.r.config.disclosure.min_count - 1}"
                note = (f"{SUPPRESSED} a count of {small}, or one that would give such a count "
                        "away: withheld as in the indicators (eolneeds validate shows every "
                        "count to the analyst).")
            tables.append(Table(caption=dq.title, columns=columns, rows=rows,
                                numeric_columns=numeric, note=note))
            descriptions.append(dq.description)
        return tables, descriptions


class DefinitionsSection:
    """Definitions and methods, from the indicator catalogue."""

    def __init__(self, r: ReportData) -> None:
        self.r = r  # the report's shared look-ups

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


class ProvenanceSection:
    """About this report's numbers (the disclosure rule) and the provenance tables."""

    def __init__(self, r: ReportData) -> None:
        self.r = r  # the report's shared look-ups

    def manifest_tables(self) -> tuple[Table | None, Table | None, Table | None,
                                       Table | None]:
        manifest = self.r.bundle.manifest or {}
        inputs = manifest.get("inputs") or []
        sources = None
        if inputs:
            sources = Table(
                caption="Input files used by this report",
                columns=["Dataset", "File", "Rows read", "Loaded", "Quarantined",
                         "Ingested", "SHA-256"],
                rows=[[Cell(str(i.get("dataset", "")), header=True),
                       Cell(str(i.get("file_name", ""))),
                       *(Cell(SUPPRESSED if i.get(c) == WITHHELD else fmt_cell(i.get(c)),
                              numeric=True)
                         for c in ("rows_read", "rows_loaded", "rows_rejected")),
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
        rule = self.r.config.disclosure
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
        text += (" 'no residents' marks a deprivation quintile or group with nobody in it: "
                 "structurally empty, not suppressed. Rare groups are published merged "
                 "into a wider one, the same for every area: "
                 + "; ".join(f"{m.label} ({m.holds})"
                             for m in categories.merges()) + " (see Definitions).")
        return text


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
_CAUSE_ORDER = tuple(categories.published_values("cause_group"))


def _cause_order(value: str) -> tuple[int, str]:
    return (_CAUSE_ORDER.index(value) if value in _CAUSE_ORDER else len(_CAUSE_ORDER), value)


def _method_descriptions() -> list[tuple[str, str]]:
    descriptions = getattr(methods, "METHOD_DESCRIPTIONS", {}) or {}
    return [(_METHOD_TITLES.get(k, k), v) for k, v in descriptions.items()]


