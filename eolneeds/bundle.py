"""What the report writers receive: the one input of the HTML report and Excel pack.

assess builds a ReportBundle; report_html and report_excel only read it. Keeping it a
documented dataclass (the datasette habit) lets tests build one by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from eolneeds.config import ProjectConfig

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
        return found

    def regions(self) -> dict[str, BenchmarkValue]:
        """indicator id -> the region's value, where the download holds one."""
        return {b.indicator_id: b for b in self.benchmarks if b.area_type == "region"}


MANUAL_BENCHMARK_SOURCE = "eolneeds.toml [benchmarks] (typed in; period not stated)"
