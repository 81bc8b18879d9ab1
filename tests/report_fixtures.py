"""A realistic, hand-built ReportBundle for the report writers' tests (HTML and Excel).

`make_bundle()` fabricates the indicator table an assessment of a three-Place ICB would
produce: three financial years, the DESIGN.md section 9 columns, breakdowns, SII/RII
rows, projections to 2040, a monthly series, small-number suppression and data-quality
tables. It is deterministic (a fixed seed), so two calls give equal bundles.

`hostile=True` puts formula and markup payloads into every string that comes from user
data (Place codes and names, notes, data-quality values) so tests can prove that the
reports neutralise / escape them. Shared by tests/test_report_html.py and
tests/test_report_excel.py: add to it, do not break the signature.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from eolneeds.bundle import INDICATOR_COLUMNS, INDICATOR_SCHEMA, DataQualityTable, ReportBundle
from eolneeds.config import DisclosureConfig, Place, ProjectConfig

HOSTILE_STRINGS = (
    '=HYPERLINK("x")',
    "+1",
    "-1+1",
    "@SUM(A1)",
    "<script>alert(1)</script>",
)

DEFAULT_PLACES = (
    ("E06000001", "Hartside"),
    ("E06000002", "Middleford"),
    ("E06000003", "Redcar Vale"),
)

HOSTILE_PLACES = (
    ('=HYPERLINK("x")', "+1"),
    ("-1+1", "@SUM(A1)"),
    ("<script>alert(1)</script>", '=HYPERLINK("x")'),
)

HEADLINE_PERIOD = "2024-25"
FINANCIAL_YEARS = ("2022-23", "2023-24", "2024-25")

# (id, name, unit, method, extra breakdowns, base value, inequality summary)
# base value: % for P, rate for R/DSR, mean for M, days for Q; counts derive from deaths.
_SPECS: tuple[tuple[str, str, str, str, tuple[str, ...], float, bool], ...] = (
    ("deaths", "Number of deaths", "count", "C", (), 0.0, False),
    ("crude_death_rate", "Crude death rate", "per 100,000", "R", ("sex", "imd_quintile"),
     1010.0, False),
    ("dsr_all_cause", "Age-standardised mortality rate, all causes", "per 100,000", "DSR",
     ("sex", "imd_quintile"), 980.0, True),
    ("cause_group_pct", "Deaths by cause group", "%", "P", ("cause_group",), 0.0, False),
    ("pc_need_pct", "Deaths from conditions indicating palliative care need", "%", "P", (),
     75.0, False),
    ("pc_need_rate", "Estimated palliative care need per 100,000", "per 100,000", "R",
     ("imd_quintile",), 760.0, False),
    ("pod_home_pct", "Deaths at home", "%", "P", (), 28.7, False),
    ("pod_care_home_pct", "Deaths in a care home or religious establishment", "%", "P", (),
     20.5, False),
    ("pod_hospital_pct", "Deaths in hospital", "%", "P", ("imd_quintile",), 43.4, True),
    ("pod_hospice_pct", "Deaths in a hospice", "%", "P", (), 4.7, False),
    ("pod_other_pct", "Deaths elsewhere", "%", "P", (), 2.6, False),
    ("diupr_pct", "Deaths in usual place of residence", "%", "P", ("imd_quintile",), 49.5,
     True),
    ("on_register_pct", "On a palliative care register before death", "%", "P", (), 38.0,
     False),
    ("on_register_need_pct", "Identified among those with palliative care need", "%", "P",
     ("imd_quintile",), 47.0, True),
    ("unidentified_need", "People with palliative care need not identified before death",
     "count", "C", ("imd_quintile",), 0.0, False),
    ("register_days_median", "Median days on the register before death", "days", "Q", (),
     62.0, False),
    ("register_late_pct", "Identified late (first entry in the last 30 days of life)", "%",
     "P", (), 24.0, False),
    ("ppod_recorded_pct", "Preferred place of death recorded", "%", "P", (), 71.0, False),
    ("ppod_achieved_pct", "Died in preferred place", "%", "P", (), 3.5, False),
    ("ea_last90_any_pct", "Any emergency admission in the last 90 days of life", "%", "P",
     (), 52.0, False),
    ("ea_last90_3plus_pct", "Three or more emergency admissions in the last 90 days of life",
     "%", "P", ("age_group", "imd_quintile"), 6.2, True),
    ("bed_days_last90_mean", "Hospital bed days in the last 90 days of life", "days", "M", (),
     11.4, False),
    ("ae_last90_mean", "A&E attendances in the last 90 days of life", "per person", "M", (),
     1.3, False),
    ("spc_last_year_pct", "Specialist palliative care contact in the last year of life", "%",
     "P", ("imd_quintile",), 41.0, True),
    ("community_last90_pct", "Community care contact in the last 90 days of life", "%", "P",
     (), 63.0, False),
    ("hospital_cost_last90", "Cost of hospital care in the last 90 days of life", "£", "C",
     ("imd_quintile",), 0.0, False),
)

_BREAKDOWN_VALUES = {
    "sex": ("female", "male"),
    "imd_quintile": ("1", "2", "3", "4", "5"),
    "age_group": ("under_75", "75_plus"),
    "cause_group": ("cancer", "organ_failure", "stroke", "dementia_frailty",
                    "neurodegenerative", "hiv", "other"),
}
_CAUSE_SHARES = {"cancer": 27.0, "organ_failure": 24.0, "stroke": 6.0,
                 "dementia_frailty": 15.0, "neurodegenerative": 2.0, "hiv": 0.05,
                 "other": 25.95}
_MIN_COUNT = 8
_SPC_PERCENT_IDS = ("pod_hospital_pct", "diupr_pct", "on_register_pct", "ea_last90_3plus_pct")
_SUPPRESSION_NOTE = "suppressed: count of 1 to 7"


def _fy_dates(period: str) -> tuple[date, date]:
    start_year = int(period[:4])
    return date(start_year, 4, 1), date(start_year + 1, 3, 31)


def _wilson(k: float, n: float, z: float) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * (centre - half), 100 * (centre + half)


def _poisson_rate_ci(k: float, pop: float, z: float) -> tuple[float, float]:
    # Byar's approximation; good enough for a fixture.
    lower = k * (1 - 1 / (9 * k) - z / (3 * math.sqrt(k))) ** 3 if k > 0 else 0.0
    k1 = k + 1
    upper = k1 * (1 - 1 / (9 * k1) + z / (3 * math.sqrt(k1))) ** 3
    return lower / pop * 100_000, upper / pop * 100_000


class _Builder:
    def __init__(self, config: ProjectConfig, hostile: bool) -> None:
        self.config = config
        self.hostile = hostile
        self.rng = random.Random(20250401)
        self.rows: list[dict[str, Any]] = []
        # area_code -> (area_type, area_name, annual deaths, population)
        self.areas: list[tuple[str, str, str, int, int]] = [
            ("icb", config.icb_code, config.icb_name, 0, 0)
        ]
        total_deaths = total_pop = 0
        for i, place in enumerate(config.places):
            pop = 180_000 + 95_000 * i
            deaths = int(pop * (0.0095 + 0.0011 * i))
            total_deaths += deaths
            total_pop += pop
            self.areas.append(("place", place.code, place.name, deaths, pop))
        self.areas[0] = ("icb", config.icb_code, config.icb_name, total_deaths, total_pop)

    def note(self, text: str | None) -> str | None:
        if self.hostile and text is None:
            return self.rng.choice(HOSTILE_STRINGS)
        return text

    def add(self, **fields: Any) -> None:
        row = dict.fromkeys(INDICATOR_COLUMNS)
        row.update(fields)
        row["note"] = self.note(row.get("note"))
        self.rows.append(row)

    def base(self, spec: tuple, area: tuple, period: str) -> dict[str, Any]:
        ind_id, name, unit, method = spec[:4]
        area_type, code, area_name = area[:3]
        start, end = _fy_dates(period) if period in FINANCIAL_YEARS else (None, None)
        return {
            "indicator_id": ind_id, "indicator_name": name, "area_type": area_type,
            "area_code": code, "area_name": area_name, "period": period,
            "period_start": start, "period_end": end, "unit": unit, "method": method,
            "suppressed": False,
        }

    def measure(self, spec: tuple, area: tuple, deaths: int, pop: int, scale: float,
                icb_interval: tuple[float, float] | None) -> dict[str, Any]:
        """numerator, denominator, value and CIs for one cell."""
        ind_id, _, unit, method, _, base, _ = spec
        jitter = 1 + self.rng.uniform(-0.12, 0.12)
        out: dict[str, Any] = {"comparison": "not_compared"}
        if method == "C":
            if ind_id == "hospital_cost_last90":
                value = round(deaths * 2350.0 * scale * jitter, 0)
                out.update(numerator=value, value=value)
            else:
                share = 1.0 if ind_id == "deaths" else 0.75 * 0.53
                value = float(round(deaths * share * scale * jitter))
                out.update(numerator=value, value=value)
            if out["numerator"] is not None and 0 < out["numerator"] < _MIN_COUNT:
                out.update(numerator=None, value=None, suppressed=True, note=_SUPPRESSION_NOTE)
            return out
        if method == "P":
            n = float(max(int(deaths * (0.75 if "need" in ind_id else 1.0)), 1))
            pct = min(max(base * scale * jitter, 0.02), 99.0)
            k = float(round(n * pct / 100))
            if 0 < k < _MIN_COUNT:
                out.update(denominator=n, suppressed=True, note=_SUPPRESSION_NOTE)
                return out
            lo95, hi95 = _wilson(k, n, 1.959964)
            lo998, hi998 = _wilson(k, n, 3.090232)
            out.update(numerator=k, denominator=n, value=100 * k / n, lower_ci_95=lo95,
                       upper_ci_95=hi95, lower_ci_99_8=lo998, upper_ci_99_8=hi998)
        elif method in ("R", "DSR"):
            k = float(round(deaths * (base / 1010.0) * scale * jitter))
            if 0 < k < _MIN_COUNT:
                out.update(denominator=float(pop), suppressed=True, note=_SUPPRESSION_NOTE)
                return out
            lo95, hi95 = _poisson_rate_ci(k, pop, 1.959964)
            lo998, hi998 = _poisson_rate_ci(k, pop, 3.090232)
            out.update(numerator=k, denominator=float(pop), value=k / pop * 100_000,
                       lower_ci_95=lo95, upper_ci_95=hi95, lower_ci_99_8=lo998,
                       upper_ci_99_8=hi998)
        elif method == "M":
            mean = base * scale * jitter
            half = 1.96 * base * 1.1 / math.sqrt(deaths)
            out.update(numerator=mean * deaths, denominator=float(deaths), value=mean,
                       lower_ci_95=mean - half, upper_ci_95=mean + half,
                       lower_ci_99_8=mean - 1.58 * half, upper_ci_99_8=mean + 1.58 * half)
        elif method == "Q":
            on_register = float(round(deaths * 0.38))
            out.update(denominator=on_register, value=float(round(base * scale * jitter)))
            return out
        if icb_interval is not None and out.get("lower_ci_95") is not None:
            icb_value = icb_interval[0]
            if icb_value < out["lower_ci_95"]:
                out["comparison"] = "higher"
            elif icb_value > out["upper_ci_95"]:
                out["comparison"] = "lower"
            else:
                out["comparison"] = "similar"
        return out

    def build(self) -> pl.DataFrame:
        icb_values: dict[tuple[str, str, str, str], tuple[float, float]] = {}
        for spec in _SPECS:
            ind_id, _, _, method, breakdowns, _, inequality = spec
            for period in FINANCIAL_YEARS:
                year_scale = 1 + 0.02 * (int(period[:4]) - 2024)
                for area in self.areas:
                    _, code, _, deaths, pop = area
                    deaths = int(deaths * year_scale)
                    cells: list[tuple[str, str, float, float]] = []
                    if ind_id != "cause_group_pct":
                        cells.append(("all", "all", 1.0, 1.0))
                    for breakdown in breakdowns:
                        values = _BREAKDOWN_VALUES[breakdown]
                        for j, value in enumerate(values):
                            share = 1 / len(values)
                            scale = 1.0
                            if breakdown == "imd_quintile":
                                scale = 1.25 - 0.12 * j  # a deprivation gradient
                            elif breakdown == "cause_group":
                                scale = _CAUSE_SHARES[value] / 100
                            elif breakdown == "age_group":
                                share = (0.22, 0.78)[j]
                            cells.append((breakdown, value, share, scale))
                    for breakdown, value, share, scale in cells:
                        key = (ind_id, period, breakdown, value)
                        if ind_id == "cause_group_pct":
                            spec_eff = spec[:5] + (100.0,) + spec[6:]
                        else:
                            spec_eff = spec
                        measured = self.measure(
                            spec_eff, area, max(int(deaths * share), 1),
                            max(int(pop * share), 1), scale,
                            icb_values.get(key) if area[0] == "place" else None,
                        )
                        if area[0] == "icb" and measured.get("value") is not None:
                            icb_values[key] = (measured["value"], measured["value"])
                        self.add(**{**self.base(spec, area, period), **measured},
                                 breakdown=breakdown, breakdown_value=value)
                    if inequality:
                        self.add_inequality(spec, area, period, method)
        self.add_projections()
        self.add_monthly()
        frame = pl.DataFrame(self.rows, schema=INDICATOR_SCHEMA)
        return frame.sort(["indicator_id", "area_type", "area_code", "period", "breakdown",
                           "breakdown_value"])

    def add_inequality(self, spec: tuple, area: tuple, period: str, method: str) -> None:
        base = spec[5]
        sii = -0.45 * base * (1 + self.rng.uniform(-0.2, 0.2))
        half = abs(sii) * 0.35
        rii = 1 + sii / base
        common = self.base(spec, area, period)
        self.add(**{**common, "method": "SII"}, breakdown="imd_quintile",
                 breakdown_value="SII", value=sii, lower_ci_95=sii - half,
                 upper_ci_95=sii + half, comparison="not_compared")
        self.add(**{**common, "method": "RII", "unit": "index"}, breakdown="imd_quintile",
                 breakdown_value="RII", value=rii, lower_ci_95=rii - 0.12,
                 upper_ci_95=rii + 0.12, comparison="not_compared")

    def add_projections(self) -> None:
        spec = ("pc_need_projected",
                "Projected annual deaths and palliative care need, each year to 2040",
                "count", "C")
        for area in self.areas:
            for year in range(2025, 2041):
                growth = 1 + 0.25 * (year - 2024) / 16  # +25% to 2040 (Etkind)
                deaths = float(round(area[3] * growth))
                need = float(round(deaths * 0.755))
                row = self.base(spec, area, str(year))
                row.update(period_start=date(year, 1, 1), period_end=date(year, 12, 31))
                self.add(**row, breakdown="all", breakdown_value="all", numerator=need,
                         denominator=deaths, value=need, comparison="not_compared",
                         note="projection: stable age- and sex-specific rates")

    def add_monthly(self) -> None:
        """24 months (2023-04 .. 2025-03) of every SPC indicator (INDICATORS.md, Monthly
        series). Deaths follow a winter peak; the percentages step up by 15% of their
        level for the last 8 months, so the Making Data Count shift rule fires."""
        deaths_spec = ("deaths", "Number of deaths", "count", "C")
        pct_specs = [spec for spec in _SPECS if spec[0] in _SPC_PERCENT_IDS]
        for area in self.areas:
            for m in range(24):
                year, month = 2023 + (m + 3) // 12, (m + 3) % 12 + 1
                period = f"{year}-{month:02d}"
                dates = {"period_start": date(year, month, 1),
                         "period_end": date(year, month, 28)}
                monthly_deaths = area[3] / 12 * (1 + 0.15 * math.cos(2 * math.pi * (m - 9) / 12))
                value = float(round(monthly_deaths * (1 + self.rng.uniform(-0.05, 0.05))))
                row = self.base(deaths_spec, area, period)
                row.update(dates)
                self.add(**row, breakdown="all", breakdown_value="all", numerator=value,
                         value=value, comparison="not_compared")
                for spec in pct_specs:
                    n = float(round(monthly_deaths))
                    level = spec[5] * (1.15 if m >= 16 else 1.0)
                    k = float(round(n * level / 100 * (1 + self.rng.uniform(-0.06, 0.06))))
                    row = self.base(spec, area, period)
                    row.update(dates)
                    if 0 < k < _MIN_COUNT:
                        row.update(suppressed=True, note=_SUPPRESSION_NOTE)
                        self.add(**row, breakdown="all", breakdown_value="all",
                                 denominator=n, comparison="not_compared")
                        continue
                    lo95, hi95 = _wilson(k, n, 1.959964)
                    self.add(**row, breakdown="all", breakdown_value="all", numerator=k,
                             denominator=n, value=100 * k / n, lower_ci_95=lo95,
                             upper_ci_95=hi95, comparison="not_compared")


def _data_quality(hostile: bool) -> list[DataQualityTable]:
    bad = HOSTILE_STRINGS if hostile else ("E01099999", "E01099998", "X99", "J9X", "Z")
    return [
        DataQualityTable(
            key="completeness",
            title="Completeness of key fields",
            description="Share of death registrations with each field present and valid.",
            frame=pl.DataFrame({
                "dataset": ["deaths", "deaths", "deaths", "deaths", "register"],
                "field": ["lsoa_code", "underlying_cause", "place_of_death", "ethnicity",
                          "date_added"],
                "rows": [9120, 9120, 9120, 9120, 3411],
                "complete": [9087, 9120, 9101, 7520, 3411],
                "complete_pct": [99.6, 100.0, 99.8, 82.5, 100.0],
            }),
        ),
        DataQualityTable(
            key="unmapped_codes",
            title="Codes not recognised",
            description="Values that could not be mapped to a canonical code.",
            frame=pl.DataFrame({
                "dataset": ["deaths"] * 5,
                "column": ["lsoa_code", "lsoa_code", "underlying_cause", "underlying_cause",
                           "place_of_death"],
                "value": list(bad),
                "rows": [21, 12, 3, 1, 19],
            }),
        ),
        DataQualityTable(
            key="rejects_by_reason",
            title="Rows quarantined per file and reason",
            description="Rows not loaded, with the reason; fix them in the source and re-ingest.",
            frame=pl.DataFrame({
                "file_name": ["deaths_2024.csv", "deaths_2024.csv", "activity_q1.csv"],
                "reason": ["date_of_death is not a date", bad[0], "duplicate row"],
                "rows": [4, 2, 17],
            }),
        ),
        DataQualityTable(
            key="empty_example",
            title="Duplicate deaths",
            description="Death registrations appearing more than once (none found).",
            frame=pl.DataFrame(schema={"person_id_hash": pl.String, "copies": pl.Int64}),
        ),
    ]


def _manifest(config: ProjectConfig) -> dict[str, Any]:
    return {
        "generated_at": "2025-05-06T09:30:00+00:00",
        "software": {"eolneeds": "0.1.0", "python": "3.11.7", "duckdb": "1.3.0",
                     "polars": "1.30.0", "openpyxl": "3.1.5"},
        "project": {
            "icb_name": config.icb_name, "icb_code": config.icb_code,
            "places": [{"code": p.code, "name": p.name} for p in config.places],
            "config_file": "eolneeds.toml", "config_sha256": "a" * 64,
            "lsoa_vintage": config.lsoa_vintage,
        },
        "disclosure": {
            "min_count": 8, "rounding": 0, "secondary": True,
            "rule": "Counts from 1 to 7 are suppressed and shown as *; rates and percentages "
                    "built on a suppressed count are suppressed too; a further cell is "
                    "suppressed where a total would reveal a hidden one.",
        },
        "methods": {"emergency_admission_methods": ["21", "22", "23", "24", "25", "2A", "2B",
                                                    "2C", "2D", "28"],
                    "diupr_exclude_external_causes": True, "bed_days": "inclusive_days",
                    "unit_cost_per_bed_day": None},
        "inputs": [
            {"file_id": 1, "dataset": "deaths", "file_name": "deaths_2022_2025.csv",
             "content_hash": "0f" * 32, "mapping": "deaths", "rows_read": 9126,
             "rows_loaded": 9120, "rows_rejected": 6, "ingested_at": "2025-05-01T08:00:00"},
            {"file_id": 2, "dataset": "register", "file_name": "epaccs_extract.xlsx",
             "content_hash": "1e" * 32, "mapping": "register", "rows_read": 3411,
             "rows_loaded": 3411, "rows_rejected": 0, "ingested_at": "2025-05-01T08:01:00"},
            {"file_id": 3, "dataset": "activity", "file_name": "activity_q1.csv",
             "content_hash": "2d" * 32, "mapping": "activity", "rows_read": 52017,
             "rows_loaded": 52000, "rows_rejected": 17, "ingested_at": "2025-05-01T08:02:00"},
        ],
        "data_coverage": {
            "deaths": {"first": "2022-04-01", "last": "2025-03-31"},
            "register": {"first": "2019-01-07", "last": "2025-03-30"},
            "activity": {"first": "2021-04-01", "last": "2025-03-31"},
        },
        "queries": {"deaths.sql": "3c" * 32, "place_of_death.sql": "4b" * 32},
        "outputs": [],
    }


def make_bundle(
    tmp_path: Path | None = None,
    *,
    places: list[tuple[str, str]] | None = None,
    hostile: bool = False,
) -> ReportBundle:
    """A complete ReportBundle. `places` is [(code, name), ...]; hostile=True fills
    user-supplied strings with formula / markup payloads."""
    chosen = places if places is not None else list(HOSTILE_PLACES if hostile else DEFAULT_PLACES)
    icb_name = "NHS Example Integrated Care Board"
    if hostile:
        icb_name = '=HYPERLINK("x") ICB'
    config = ProjectConfig(
        root=Path(tmp_path) if tmp_path is not None else Path("."),
        icb_name=icb_name,
        icb_code="QXX",
        places=tuple(Place(code=c, name=n) for c, n in chosen),
        contact="Population Health Intelligence, example.icb@nhs.net" if not hostile
        else "@SUM(A1) contact",
        disclosure=DisclosureConfig(min_count=_MIN_COUNT),
        benchmarks={"pod_hospital_pct": 43.4, "ea_last90_3plus_pct": 6.2},
    )
    frame = _Builder(config, hostile).build()
    return ReportBundle(
        config=config,
        indicators=frame,
        data_quality=_data_quality(hostile),
        manifest=_manifest(config),
        generated_at=datetime(2025, 5, 6, 9, 30, 0),
        headline_period=HEADLINE_PERIOD,
        software_version="0.1.0",
        places=[c for c, _ in chosen],
    )


def set_headline_row(frame: pl.DataFrame, ind: str, area: str, **values: object) -> pl.DataFrame:
    """Overwrite columns of one indicator's headline-period, all-people row for one area
    (the row must exist once), so a test sets the known answer it checks."""
    target = ((pl.col("indicator_id") == ind) & (pl.col("area_code") == area)
              & (pl.col("period") == HEADLINE_PERIOD) & (pl.col("breakdown") == "all"))
    assert frame.filter(target).height == 1, (ind, area)
    return frame.with_columns([
        pl.when(target).then(pl.lit(v, dtype=frame.schema[k])).otherwise(pl.col(k)).alias(k)
        for k, v in values.items()])
