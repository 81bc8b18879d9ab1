"""What the report writers receive: the one input of the HTML report and Excel pack.

assess builds a ReportBundle; report_html and report_excel only read it. Keeping it a
documented dataclass (the datasette habit) lets tests build one by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import polars as pl

from eolneeds.config import ProjectConfig
from eolneeds.formatting import BREAKDOWN_LABELS

# The indicator table's columns, in order (DESIGN.md section 9). Do not reorder.
INDICATOR_COLUMNS: tuple[str, ...] = (
    "indicator_id", "indicator_name", "area_type", "area_code", "area_name", "period",
    "period_start", "period_end", "breakdown", "breakdown_value", "numerator",
    "denominator", "value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8",
    "upper_ci_99_8", "unit", "method", "comparison", "suppressed", "note",
)

INDICATOR_SCHEMA: dict[str, Any] = {
    "indicator_id": pl.String, "indicator_name": pl.String,
    "area_type": pl.String,  # 'icb' | 'place'
    "area_code": pl.String, "area_name": pl.String,
    "period": pl.String,  # '2024-25' (financial year), '2024-11 to 2025-10' (rolling),
    #                       '2025-10' (month, SPC series), '2030' (projection year)
    "period_start": pl.Date, "period_end": pl.Date,
    "breakdown": pl.String,  # 'all' | 'imd_quintile' | 'sex' | 'age_band' | 'age_group'
    #                          | 'ethnic_group' | 'cause_group'
    "breakdown_value": pl.String,  # 'all' | '1'..'5' | 'SII' | 'RII' | 'male' | ...
    "numerator": pl.Float64, "denominator": pl.Float64, "value": pl.Float64,
    "lower_ci_95": pl.Float64, "upper_ci_95": pl.Float64,
    "lower_ci_99_8": pl.Float64, "upper_ci_99_8": pl.Float64,
    "unit": pl.String,  # '%' | 'per 100,000' | 'count' | 'days' | 'per person' | '£' | 'index'
    "method": pl.String,  # 'P' | 'R' | 'DSR' | 'M' | 'Q' | 'C' | 'SII' | 'RII'
    "comparison": pl.String,  # 'higher' | 'similar' | 'lower' | 'not_compared'
    "suppressed": pl.Boolean,
    "note": pl.String,  # which disclosure rule applied, unreliable-rate flags, etc.
}


@dataclass(frozen=True)
class DataQualityTable:
    """One table of the data-quality section, rendered generically by both reports."""

    key: str  # stable id, e.g. 'completeness', 'rejects_by_reason'
    title: str
    description: str
    frame: pl.DataFrame
    # Cells (row index, column) withheld by disclosure control in a published output
    # (validate.protect_quality_tables): their value is null, shown as the confidential
    # mark. `validate` itself shows every count.
    confidential: frozenset[tuple[int, str]] = frozenset()


@dataclass(frozen=True)
class BenchmarkValue:
    """A national or regional value shown beside the ICB and its Places ("England
    alongside"): from an OHID Fingertips download ingested as the `benchmarks` dataset,
    or typed into eolneeds.toml [benchmarks] (the manual fallback). Both writers label it
    with `period` and `source`."""

    indicator_id: str  # ours (catalogue id)
    area_type: str  # 'england' | 'region'
    area_code: str  # 'E92000001' for England; '' when typed into eolneeds.toml
    area_name: str  # 'England', or the region's name
    value: float  # in the indicator's unit (a percentage for P)
    period: str  # as published: '2023', '2022/23'; '' when not known
    source: str  # 'OHID Fingertips download, file.csv' | 'eolneeds.toml [benchmarks] ...'
    lower_ci_95: float | None = None
    upper_ci_95: float | None = None
    count: float | None = None
    denominator: float | None = None
    # the source's own indicator, e.g. '93474 Percentage of deaths that occur in hospital'
    source_indicator: str = ""
    # How its definition stands to ours where they may differ, said beside its period
    # wherever it is compared (findings.benchmark_period); set by ReportBundle.england.
    definition: str = ""
    # The same difference as one sentence, which a summary of several values says once
    # (the key findings' England card): '' where the definitions agree.
    difference: str = ""


def benchmark_definition(indicator_id: str, area_name: str, config: ProjectConfig) -> str:
    """Words on a national value's definition against this assessment's, where they
    differ: DiUPR counts all deaths by default, while the published indicator leaves out
    external causes (README, "Deaths in usual place of residence (DiUPR): all deaths by
    default"); religious establishments are published within care homes, where the
    national classification has them in 'other places' (place_of_death.sql)."""
    england = area_name or "England"
    if indicator_id == "pod_care_home_pct":
        return f"{england} leaves out religious establishments; counted here"
    if indicator_id == "pod_other_pct":
        return f"{england} includes religious establishments; here with care homes"
    if indicator_id != "diupr_pct":
        return ""
    if config.methods.diupr_exclude_external_causes:
        return "both leave out external causes"
    return f"{england} leaves out external causes; counted here"


def benchmark_difference(indicator_id: str, area_name: str, config: ProjectConfig) -> str:
    """benchmark_definition as one sentence, the same for every indicator it touches
    (care homes and other places differ by the same religious establishments), so a
    summary of the national values says each difference once."""
    england = area_name or "England"
    if indicator_id in ("pod_care_home_pct", "pod_other_pct"):
        return (f"Deaths in religious establishments are counted here with care homes; "
                f"{england}'s figures have them in other places.")
    if indicator_id == "diupr_pct" and not config.methods.diupr_exclude_external_causes:
        return (f"Deaths in usual place of residence count deaths from external causes "
                f"here; {england}'s figure leaves them out.")
    return ""


@dataclass
class ReportBundle:
    config: ProjectConfig
    indicators: pl.DataFrame  # INDICATOR_SCHEMA, every row of the run
    data_quality: list[DataQualityTable]
    manifest: dict[str, Any]  # inputs and hashes, query hashes, config, versions
    generated_at: datetime
    headline_period: str  # the period the overview tables show, e.g. '2024-25'
    software_version: str
    places: list[str] = field(default_factory=list)  # Place codes in report order
    # GP practices: practice.FUNNEL_SCHEMA (identification against the ICB, funnel limits,
    # each practice's PCN and Place); None when not computed
    practices: pl.DataFrame | None = None
    # Primary Care Networks: practice.PCN_FUNNEL_SCHEMA (the same per PCN)
    pcns: pl.DataFrame | None = None
    # What-if scenarios: scenarios.scenario_schema() (modelled figures with their ranges and
    # assumptions); None when not computed
    scenarios: pl.DataFrame | None = None
    # England (and region) values beside the ICB; see BenchmarkValue and assess.
    benchmarks: list[BenchmarkValue] = field(default_factory=list)

    def england(self) -> dict[str, BenchmarkValue]:
        """indicator id -> its England value. With no Fingertips values, those typed into
        eolneeds.toml [benchmarks] (labelled as such)."""
        found = {b.indicator_id: b for b in self.benchmarks if b.area_type == "england"}
        for ind_id, value in self.config.benchmarks.items():
            found.setdefault(ind_id, BenchmarkValue(
                indicator_id=ind_id, area_type="england", area_code="", area_name="England",
                value=float(value), period="", source=MANUAL_BENCHMARK_SOURCE))
        return self._defined(found)

    def _defined(self, values: dict[str, BenchmarkValue]) -> dict[str, BenchmarkValue]:
        return {ind_id: replace(b, definition=benchmark_definition(ind_id, b.area_name,
                                                                    self.config),
                                difference=benchmark_difference(ind_id, b.area_name,
                                                                self.config))
                for ind_id, b in values.items()}

    def cost_source(self) -> str:
        """Where hospital_cost_last90's pounds come from, as the report and packs state it
        beside the total and the cost per death (queries/activity_last90.sql)."""
        return cost_source_text(self.config.methods.unit_cost_per_bed_day)

    def regions(self) -> dict[str, BenchmarkValue]:
        """indicator id -> the region's value, where the download holds one."""
        return self._defined({b.indicator_id: b for b in self.benchmarks
                              if b.area_type == "region"})


MANUAL_BENCHMARK_SOURCE = "eolneeds.toml [benchmarks] (typed in; period not stated)"

#: The indicator whose value is a total cost and whose denominator is the deaths it is
#: spread over: cost per death = value / denominator.
COST_INDICATOR = "hospital_cost_last90"


def cost_source_text(unit_cost_per_bed_day: float | None, *, short: bool = False) -> str:
    """The source of the cost figures: the activity files' own costs, and the configured
    unit cost where an admission carries none (`short`: a few words for a finding)."""
    if short:
        return ("recorded activity costs" if unit_cost_per_bed_day is None else
                f"recorded activity costs, else £{unit_cost_per_bed_day:,.2f} per bed day")
    recorded = ("the costs recorded on the activity files (admissions and A&E attendances "
                "starting in the last 90 days of life")
    if unit_cost_per_bed_day is None:
        return (f"{recorded}; one with no recorded cost counts £0, as no unit cost is "
                "configured in [methods] unit_cost_per_bed_day)")
    return (f"{recorded}; an admission with no recorded cost counts its bed days in the "
            f"window at the configured unit cost of £{unit_cost_per_bed_day:,.2f} per bed "
            "day, [methods] unit_cost_per_bed_day)")


def cost_per_death(row: dict[str, Any] | None) -> float | None:
    """A published hospital_cost_last90 row's cost per death (value / deaths), else None."""
    if row is None or row.get("suppressed"):
        return None
    total, deaths = row.get("value"), row.get("denominator")
    if total is None or deaths is None or deaths != deaths or total != total or deaths <= 0:
        return None
    return float(total) / float(deaths)


#: The notes that say why a value is hidden (disclosure.py writes them). Other notes
#: ("unreliable: ...", "modelled estimate: ...") describe a value and may sit beside one
#: of these; they are not reasons for hiding it.
SUPPRESSION_NOTE_PREFIXES = ("suppressed:", "withheld:")


@dataclass(frozen=True)
class SuppressionTally:
    """How many values of an indicator table are hidden, and why: what the report, the
    packs and the CLI summary state, counted from the table itself so the words cannot
    drift from the numbers. Each hidden value counts once, under the first reason its
    note gives, so `by_rule` adds up to `suppressed`."""

    values: int  # rows of the table
    suppressed: int  # rows with suppressed = true
    by_rule: tuple[tuple[str, int], ...]  # (reason, rows), most used first
    # (breakdown, rows suppressed, rows), most suppressed first: where the hidden
    # values are (mostly the finest breakdowns, GP practices first), so a reader of the
    # total knows the headline rows are whole
    by_breakdown: tuple[tuple[str, int, int], ...] = ()

    def headline(self, *, shown_as: str = "*", where: str = "the indicator table") -> str:
        """'3,789 of the 19,417 values in the indicator table are suppressed (shown as *)'"""
        if self.suppressed == 0:
            return f"None of the {self.values:,} values in {where} is suppressed"
        verb = "is" if self.suppressed == 1 else "are"
        return (f"{self.suppressed:,} of the {self.values:,} values in {where} {verb} "
                f"suppressed (shown as {shown_as})")

    def sentence(self, *, shown_as: str = "*", where: str = "the indicator table") -> str:
        """The headline and each rule's count: '..., by rule: a count of 1-7, or a count
        that would let one be worked out (disclosure control): 2,269; ...'."""
        text = self.headline(shown_as=shown_as, where=where)
        if self.by_rule:
            text += ", by rule: " + "; ".join(f"{reason}: {n:,}" for reason, n in self.by_rule)
        return text + "."


    def where_sentence(self, shown: int = 3) -> str:
        """Which breakdowns hold the hidden values, most first, and the totals for all
        people: 'By breakdown: GP practice 2,658 of 4,032 values; ...; other breakdowns
        1,310 of 7,299; all people (the totals) 0 of 1,945.' Counts of table cells, not
        of people: the indicator table's suppressed column already shows each."""
        if not self.suppressed or not self.by_breakdown:
            return ""
        split = [b for b in self.by_breakdown if b[0] != "all"]
        def named(breakdown: str) -> str:  # 'deprivation quintile', 'GP practice'
            words = BREAKDOWN_LABELS.get(breakdown, breakdown)
            return words[:1].lower() + words[1:] if words[1:2].islower() else words

        parts = [f"{named(b)} {n:,} of {rows:,}" for b, n, rows in split[:shown] if n]
        rest = [b for b in split[shown:] if b[1]]
        if rest:
            parts.append(f"other breakdowns {sum(b[1] for b in rest):,} of "
                         f"{sum(b[2] for b in split[shown:]):,}")
        totals = next((b for b in self.by_breakdown if b[0] == "all"), None)
        if totals is not None:
            parts.append(f"all people (the totals) {totals[1]:,} of {totals[2]:,}")
        return f"Suppressed values by breakdown: {'; '.join(parts)}."


def suppression_reason(note: str | None) -> str:
    """The reason a suppressed row is hidden, from its note: the first part of the note
    that is a disclosure rule ('suppressed: count of 1-7 ...' -> 'count of 1-7 ...';
    'withheld: the count ...' -> 'withheld, the count ...')."""
    for part in (note or "").split("; "):
        if part.startswith(SUPPRESSION_NOTE_PREFIXES):
            head, _, rest = part.partition(": ")
            return rest if head == "suppressed" else f"{head}, {rest}"
    return "other reasons"


def suppression_tally(frame: pl.DataFrame) -> SuppressionTally:
    """Count the suppressed rows of an indicator table (INDICATOR_SCHEMA) by reason."""
    hidden = frame.filter(pl.col("suppressed").fill_null(False))
    counts: dict[str, int] = {}
    for note, n in hidden.group_by("note").len().iter_rows():
        reason = suppression_reason(note)
        counts[reason] = counts.get(reason, 0) + int(n)
    by_rule = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    by_breakdown = tuple(sorted(
        ((str(b), int(n), int(rows)) for b, n, rows in frame.group_by("breakdown").agg(
            pl.col("suppressed").fill_null(False).sum(), pl.len()).iter_rows()),
        key=lambda t: (-t[1], t[0])))
    return SuppressionTally(values=frame.height, suppressed=hidden.height, by_rule=by_rule,
                            by_breakdown=by_breakdown)


def projection_year_basis(period: str) -> str:
    """What a projection year is, beside the counted period its rates come from: the
    two cover different twelve months, which the report and packs say wherever they put
    projections next to counts."""
    return (f"Years are calendar years (January to December) of the population projection; "
            f"the death rates and need proportions applied to them are those counted in "
            f"{period}, a different twelve months, so compare the projected trend rather "
            f"than the first projected year with {period}.")
