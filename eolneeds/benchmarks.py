"""England alongside: the OHID Fingertips data download as the `benchmarks` dataset.

Analysts download the Palliative and End of Life Care profile from Fingertips as CSV
("Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area
Name", "Area Type", "Sex", "Age", "Category Type", "Category", "Time period", "Value",
"Lower CI 95.0 limit", "Upper CI 95.0 limit", "Lower CI 99.8 limit", "Upper CI 99.8
limit", "Count", "Denominator", "Value note", "Recent Trend", "Compared to England value
or percentiles", ..., "Time period Sortable", ...). The `fingertips` preset ingests it
as it comes; every row is loaded, and `indicator_id` holds our catalogue id where the
Fingertips indicator is one we also compute:

* built in, by published name (FINGERTIPS_PATTERNS): the place-of-death percentages
  ("Percentage of deaths that occur in hospital", "... at home", "... in care homes",
  "... in hospice", "... in 'other places'"), deaths in usual place of residence, and
  the percentage of deaths with 3 or more emergency admissions in the last 90 days of
  life;
* by Indicator ID: none built in. No public source we could check states the PEoLC
  profile's Indicator IDs with their definitions (the ids in the sample's download are
  placeholders, 90001-90005), so the preset does not guess them; a mapping adds any
  id: `[recode.indicator_id] "<Indicator ID>" = "pod_hospital_pct"` (the mapping's
  recode runs after the built-in names);
* rows of indicators we do not compute keep the Fingertips id and are not shown.

Only the rows that mean what our indicator means are used: Sex "Persons", Age "All
ages" and no Category Type or Category (a download repeats each indicator by sex, age
band and deprivation decile, and for every area type: England, regions, ICBs,
sub-ICBs, counties and UAs).

`load_benchmarks` picks, per indicator, the latest period's all-persons, all-ages,
no-category value for England and for the ICB's region, and labels it with its period
and source file; the report and the packs show it beside the ICB and each Place.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eolneeds.normalise import code_key, code_key_sql, sql_literal
from eolneeds.presets import Derived, Preset

if TYPE_CHECKING:
    # eolneeds.bundle imports polars (0.3 s), which `ingest` of the Fingertips download
    # (it needs this module's preset) never uses.
    from eolneeds.bundle import BenchmarkValue

ENGLAND_CODE = "E92000001"

# The download's header, in order (OHID Fingertips "all data" CSV export).
FINGERTIPS_COLUMNS: tuple[str, ...] = (
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name",
    "Area Type", "Sex", "Age", "Category Type", "Category", "Time period", "Value",
    "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Lower CI 99.8 limit",
    "Upper CI 99.8 limit", "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", "Compared to Region value or percentiles",
    "Time period Sortable", "New data", "Compared to goal", "Time period range",
)

NUMBER_COLUMNS: tuple[str, ...] = ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8",
                                   "upper_ci_99_8", "count", "denominator")


# The shared indicators by published name: regular expressions on the name's
# normalise.code_key (lower case, punctuation and quotes as single spaces), anchored, so
# "Percentage of deaths that occur in care homes" matches but "... in care homes who
# were temporary residents" does not. The wording follows the profile's statistical
# commentary (GOV.UK, "Palliative and end of life care profile December 2023 update:
# statistical commentary": "the percentage of deaths that occur in hospital, at home,
# in a care home, in hospice, in other places"; "with 3 or more emergency admissions in
# the last 90 days of life by age") and the names as Fingertips lists them.
_DEATHS_THAT = r"^(?:percentage|proportion) of (?:all )?deaths (?:that )?(?:occur(?:ring)? )?"
_ALL_AGES = r"(?: all ages)?$"
FINGERTIPS_PATTERNS: tuple[tuple[str, str], ...] = (
    (_DEATHS_THAT + r"in (?:a )?hospitals?" + _ALL_AGES, "pod_hospital_pct"),
    (_DEATHS_THAT + r"(?:at|in (?:their )?own) home" + _ALL_AGES, "pod_home_pct"),
    (_DEATHS_THAT + r"in (?:a )?care homes?" + _ALL_AGES, "pod_care_home_pct"),
    (_DEATHS_THAT + r"in (?:a )?hospices?" + _ALL_AGES, "pod_hospice_pct"),
    (_DEATHS_THAT + r"in other places" + _ALL_AGES, "pod_other_pct"),
    (_DEATHS_THAT + r"in (?:the |their )?usual place of residence(?: diupr)?" + _ALL_AGES,
     "diupr_pct"),
    (r"(?:^|\s)(?:3|three) or more emergency admissions (?:to hospital )?in (?:the|their) "
     r"last 90 days of life", "ea_last90_3plus_pct"),
)


def _indicator_sql(sources: Sequence[str]) -> str:
    """Indicator ID, Indicator Name -> our id for a shared indicator by its published
    name, else the Fingertips id (the mapping's [recode.indicator_id] may map it)."""
    source_id, name = sources
    key = code_key_sql(name)
    whens = " ".join(f"WHEN regexp_matches({key}, {sql_literal(pattern)}) "
                     f"THEN {sql_literal(ours)}" for pattern, ours in FINGERTIPS_PATTERNS)
    return f"coalesce((CASE {whens} END), {source_id})"


def fingertips_preset() -> Preset:
    return Preset(
        name="fingertips",
        dataset="benchmarks",
        description="OHID Fingertips data download (CSV), e.g. the PEoLC profile",
        columns={
            "indicator_id": Derived(("Indicator ID", "Indicator Name"), _indicator_sql),
            "source_indicator_id": "Indicator ID",
            "indicator_name": "Indicator Name",
            "parent_code": "Parent Code",
            "parent_name": "Parent Name",
            "area_code": "Area Code",
            "area_name": "Area Name",
            "area_type": "Area Type",
            "sex_label": "Sex",
            "age_label": "Age",
            "category_type": "Category Type",
            "category": "Category",
            "period": "Time period",
            "value": "Value",
            "lower_ci_95": "Lower CI 95.0 limit",
            "upper_ci_95": "Upper CI 95.0 limit",
            "lower_ci_99_8": "Lower CI 99.8 limit",
            "upper_ci_99_8": "Upper CI 99.8 limit",
            "count": "Count",
            "denominator": "Denominator",
            "value_note": "Value note",
            "period_sortable": "Time period Sortable",
        },
        required=("indicator_id", "area_code", "period"),
        nhs_number=False,
    )


# --- reading the loaded values --------------------------------------------------------

_PICK_SQL = """
-- One value per (indicator, area): the latest period's row for all persons, all ages,
-- with no category breakdown. Fingertips repeats each indicator by sex, age band and
-- deprivation category in the same download; only the total means what our indicator
-- means, so the others are never used, not even when they are all there is (a later
-- period published for one age band only must not stand in for all ages).
WITH shared AS (
    SELECT b.*, l.file_name,
           coalesce(TRY_CAST(b.period_sortable AS BIGINT), 0) AS sortable
    FROM benchmarks AS b
    JOIN ingest_log AS l ON l.file_id = b.source_file_id AND l.replaced_by IS NULL
    WHERE b.indicator_id IN (SELECT unnest($ids))
      AND b.value IS NOT NULL
      AND lower(trim(coalesce(b.sex_label, ''))) IN ('persons', 'all', 'all persons', '')
      AND lower(trim(coalesce(b.age_label, ''))) IN ('all ages', '')
      AND trim(coalesce(b.category_type, '')) = ''
      AND trim(coalesce(b.category, '')) = ''
)
SELECT * FROM shared
QUALIFY row_number() OVER (
    PARTITION BY indicator_id, area_code
    ORDER BY sortable DESC, period DESC, source_file_id DESC) = 1
ORDER BY indicator_id, area_code
"""


def _is_england(row: dict[str, Any]) -> bool:
    return (row["area_code"] == ENGLAND_CODE
            or (row["area_type"] or "").strip().lower() == "england")


def _is_region(row: dict[str, Any]) -> bool:
    return "region" in (row["area_type"] or "").lower()


def load_benchmarks(con: Any, *, indicator_ids: Sequence[str], icb_code: str = "",
                    icb_name: str = "") -> list[BenchmarkValue]:
    """England's value (and the region's) for each of our indicators in the loaded
    Fingertips download, latest period first; [] when nothing was ingested."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'benchmarks'"
    ).fetchone()[0]
    if not exists:
        return []
    cursor = con.execute(_PICK_SQL, {"ids": list(indicator_ids)})
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    # The region: the parent of the ICB's own row where the download has one, else the
    # only region in it (a download for one region's areas); none when ambiguous.
    ours = {code_key(icb_code), code_key(icb_name)} - {""}
    parents = {r["parent_code"] for r in rows
               if code_key(r["area_code"] or "") in ours
               or code_key(r["area_name"] or "") in ours}
    regions = {r["area_code"] for r in rows if _is_region(r)}
    wanted_region = (parents & regions) or (regions if len(regions) == 1 else set())
    from eolneeds.bundle import BenchmarkValue

    out = []
    for row in rows:
        if _is_england(row):
            area_type = "england"
        elif _is_region(row) and row["area_code"] in wanted_region:
            area_type = "region"
        else:
            continue
        source = f"OHID Fingertips download, {row['file_name']}"
        indicator = " ".join(str(p) for p in (row["source_indicator_id"],
                                               row["indicator_name"]) if p)
        out.append(BenchmarkValue(
            indicator_id=row["indicator_id"], area_type=area_type,
            area_code=row["area_code"] or "", area_name=row["area_name"] or "England",
            value=float(row["value"]), period=str(row["period"] or ""), source=source,
            lower_ci_95=row["lower_ci_95"], upper_ci_95=row["upper_ci_95"],
            count=row["count"], denominator=row["denominator"], source_indicator=indicator))
    return out


# --- the sample's download -----------------------------------------------------------

# England values for the sample (REFERENCE.md, England 2022, for orientation), with
# rounded national counts: (period, sortable, our id, value %, deaths in the place).
_SAMPLE_SERIES = {"2021": 20210000, "2022": 20220000, "2023": 20230000}
_SAMPLE_ENGLAND_DEATHS = {"2021": 562_000, "2022": 577_000, "2023": 571_000}
_SAMPLE_SHARES = {  # 2022 shares; the other years move a little
    "Percentage of deaths that occur in hospital": 43.4,
    "Percentage of deaths that occur at home": 28.7,
    "Percentage of deaths that occur in care homes": 20.5,
    "Percentage of deaths that occur in hospice": 4.7,
    "Percentage of deaths that occur in 'other places'": 2.7,
}
_SAMPLE_IDS = {  # placeholder ids for the sample file (not Fingertips' own)
    name: str(90001 + i) for i, name in enumerate(_SAMPLE_SHARES)}
SAMPLE_REGION = ("E40000006", "South West region (statistics)")


def _wilson(k: float, n: float, z: float) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return 100 * (centre - half), 100 * (centre + half)


def fingertips_sample_csv(*, icb_code: str, icb_name: str, region_deaths: int = 55_000,
                          icb_deaths: int = 7_000) -> str:
    """A Fingertips-layout CSV (the real header and value formats) for the sample: the
    five place-of-death indicators for England, one region and the ICB over three
    years, a breakdown by sex and by deprivation (which load_benchmarks must pass over),
    and one indicator we do not compute."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FINGERTIPS_COLUMNS)
    areas = (
        ("", "", ENGLAND_CODE, "England", "England", _SAMPLE_ENGLAND_DEATHS, 0.0),
        (ENGLAND_CODE, "England", SAMPLE_REGION[0], SAMPLE_REGION[1], "Region",
         dict.fromkeys(_SAMPLE_SERIES, region_deaths), -1.1),
        (SAMPLE_REGION[0], SAMPLE_REGION[1], icb_code, icb_name, "ICB",
         dict.fromkeys(_SAMPLE_SERIES, icb_deaths), 1.3),
    )
    for name, share in _SAMPLE_SHARES.items():
        for period, sortable in _SAMPLE_SERIES.items():
            drift = {"2021": 0.6, "2022": 0.0, "2023": -0.4}[period]
            for parent_code, parent_name, code, area, area_type, deaths, shift in areas:
                n = deaths[period]
                for sex, category_type, category, factor in (
                        ("Persons", "", "", 1.0), ("Male", "", "", 1.04),
                        ("Female", "", "", 0.96),
                        ("Persons", "County & UA deprivation deciles in England (IMD2019, "
                         "4/21 geog.)", "Most deprived decile (IMD2019)", 1.1)):
                    if category and area_type != "England":
                        continue
                    pct = max(0.5, (share + drift + (shift if share > 10 else 0)) * factor)
                    denominator = round(n * (0.5 if sex != "Persons" else 1.0)
                                        * (0.1 if category else 1.0))
                    count = round(denominator * pct / 100)
                    value = 100 * count / denominator
                    lo95, hi95 = _wilson(count, denominator, 1.959964)
                    lo998, hi998 = _wilson(count, denominator, 3.090232)
                    writer.writerow([
                        _SAMPLE_IDS[name], name, parent_code, parent_name, code, area,
                        area_type, sex, "All ages", category_type, category, period,
                        f"{value:.6g}", f"{lo95:.6g}", f"{hi95:.6g}", f"{lo998:.6g}",
                        f"{hi998:.6g}", count, denominator, "", "Cannot be calculated",
                        "" if area_type == "England" else "Similar", "", sortable,
                        "New data" if period == "2023" else "", "", "1y"])
    # An indicator both do not share: loaded, not shown.
    writer.writerow(["91099", "Hospice beds per 100,000 population (illustrative)", "", "",
                     ENGLAND_CODE, "England", "England", "Persons", "18+ yrs", "", "",
                     "2023", "8.1", "", "", "", "", "3700", "45700000", "", "", "", "",
                     "20230000", "", "", "1y"])
    return buffer.getvalue()


def write_fingertips_sample(path: Path, *, icb_code: str, icb_name: str) -> int:
    """Write the sample's Fingertips download to `path`; returns the data rows written."""
    text = fingertips_sample_csv(icb_code=icb_code, icb_name=icb_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return text.count("\r\n") - 1


FINGERTIPS_MAPPING = """\
# OHID Fingertips data download (CSV, as downloaded): England and regional values shown
# beside the ICB. The preset reads its columns and knows the shared indicators (place of
# death, usual place of residence, 3+ emergency admissions in the last 90 days) by
# their published names; map any other Fingertips indicator to ours by its Indicator
# ID, e.g.
#   [recode.indicator_id]
#   "12345" = "pod_hospital_pct"
dataset = "benchmarks"
preset = "fingertips"
"""
