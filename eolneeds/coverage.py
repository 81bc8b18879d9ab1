"""Data coverage: which indicators of which period the loaded data can support.

An indicator counts events from one or more sources (deaths; the register; activity by
kind: admitted patient care, A&E, community, specialist palliative care; population).
Where a source needed by an indicator does not cover the period's window -- the period
itself plus the look-back before each death (90 days; a year for specialist palliative
care) -- the count would be silently low: an APC extract that stops three months before
the deaths do halves the last quarter's admissions, and a register not loaded at all
reads as 'nobody was on a register'. Such an indicator is *not available* for that
period: published as [x] with the reason in its note, never as a number (a flagged
number would still be read, charted and compared as if it were true).

Coverage is read in whole months, as the reporting periods are chosen
(periods.financial_years): a source covers from the first day of the month of its first
date to the last day of the month of its last date. The dates are those of the rows
the indicators count (queries/coverage.sql classifies activity as last90_activity.sql
does), so a current A&E or community extract does not hide a stale APC one.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from eolneeds.bundle import DataQualityTable
from eolneeds.catalogue import Indicator
from eolneeds.periods import Period

#: Prefix of the note of an indicator row the data do not support (and of the warnings).
NOT_AVAILABLE = "not available"

#: What each source is called in notes and warnings, and how to supply it.
SOURCE_NAMES = {
    "deaths": "deaths data",
    "register": "palliative care register data",
    "admitted": "hospital admitted patient care (APC) data",
    "ae": "A&E attendance (ECDS) data",
    "community": "community care contact data",
    "palliative": "specialist palliative care and hospice data",
    "population": "population data",
}

#: Look-back before each death, in days before the date of death (the window is the
#: date of death and the days before it: 90 days = 89 days back, a year = 364).
LAST_90 = 89
LAST_YEAR = 364
#: Indicators of activity_last90.sql: the kinds of activity each counts.
ACTIVITY_NEEDS: dict[str, tuple[tuple[str, int], ...]] = {
    "ea_last90_any_pct": (("admitted", LAST_90),),
    "ea_last90_3plus_pct": (("admitted", LAST_90),),
    "bed_days_last90_mean": (("admitted", LAST_90),),
    "ae_last90_mean": (("ae", LAST_90),),
    "spc_last_year_pct": (("palliative", LAST_YEAR),),
    "community_last90_pct": (("community", LAST_90),),
    "hospital_cost_last90": (("admitted", LAST_90), ("ae", LAST_90)),
}
#: Queries whose indicators read the register (entries on or before the date of death:
#: no look-back limit, but a register extract that stops early misses late entries).
REGISTER_QUERIES = ("register", "advance_care_planning", "practice_variation")


#: Deaths with a linkable identifier below which a source linking to none of them is
#: taken as chance, not as identifiers of another system (with 30 deaths, none in a
#: register or a hospital extract that truly links is a chance well under 1 in 10,000).
MIN_LINKABLE_DEATHS = 30


@dataclass(frozen=True)
class Span:
    """The dates a source covers, in whole months, and its first and last date; and for
    a source linked to the deaths by person_id, how many deaths could link (`linkable`)
    and how many do (`linked`), or None for the deaths and the population."""

    first_date: date
    last_date: date
    linkable: int | None = None
    linked: int | None = None

    @property
    def links_to_none(self) -> bool:
        """No death links to this source though enough could: its identifiers are not
        the deaths' (pseudonymised by another system or key, or the wrong column)."""
        return (self.linked == 0 and self.linkable is not None
                and self.linkable >= MIN_LINKABLE_DEATHS)

    @property
    def start(self) -> date:
        return self.first_date.replace(day=1)

    @property
    def end(self) -> date:
        last_day = calendar.monthrange(self.last_date.year, self.last_date.month)[1]
        return self.last_date.replace(day=last_day)


def needs(ind: Indicator) -> tuple[tuple[str, int | None], ...]:
    """The sources an indicator counts from, beyond deaths, with the look-back each needs
    (None: only the period's end must be covered)."""
    if ind.id in ACTIVITY_NEEDS:
        return ACTIVITY_NEEDS[ind.id]
    if ind.query in REGISTER_QUERIES:
        return (("register", None),)
    if ind.method in ("R", "DSR"):
        return (("population", None),)
    return ()


def population_indicators(catalogue: Iterable[Indicator]) -> list[str]:
    """The indicators whose denominator is the population (crude rates, DSRs)."""
    return sorted(ind.id for ind in catalogue if ("population", None) in needs(ind))


def places_without_population(con: Any, areas: str, places: Sequence[str]) -> list[str]:
    """The Places of `places` that have LSOAs in `areas` but no population in any year
    for them. Validate and assess agree on it (README "Missing population"): validate
    warns, and assess publishes the population-based indicators (population_indicators)
    of such a Place as not available [x], and the ICB's too (its rate would count the
    Place's deaths without its people)."""
    rows = con.execute(
        f"SELECT a.place FROM {areas} a LEFT JOIN population p ON p.lsoa_code = a.lsoa_code "
        "WHERE list_contains($places, a.place) GROUP BY a.place "
        "HAVING coalesce(sum(p.population), 0) = 0 ORDER BY a.place",
        {"places": list(places)}).fetchall()
    return [str(r[0]) for r in rows]


#: The note of a population-based indicator where population is missing (assess).
NO_POPULATION_PLACE = f"{NOT_AVAILABLE}: no population loaded for this Place's LSOAs"
NO_POPULATION_ICB = f"{NOT_AVAILABLE}: no population loaded for {{places}}"


def source_spans(con: Any) -> dict[str, Span]:
    """Each source's span over all its files (queries/coverage.sql), and population's
    (its years, as whole calendar years)."""
    from eolneeds.assess import run_query  # the one runner of query files

    files = run_query(con, "coverage", {})
    links = run_query(con, "source_linkage", {})
    linkable = con.execute("SELECT count(*) FROM (SELECT 1 FROM deaths WHERE NOT "
                           "starts_with(person_id, 'u') LIMIT 1000)").fetchall()[0][0]
    # A source the sample of deaths finds in no row of it is absent from the result.
    linkage: dict[str, tuple[int, int]] = {}
    if links is not None:
        linkage = {r["source"]: (r["linkable"], r["linked"]) for r in links.iter_rows(named=True)}
    spans: dict[str, Span] = {}
    if files is not None:
        for row in files.group_by("source").agg(
                pl.col("file_first").min().alias("first_date"),
                pl.col("file_last").max().alias("last_date")).iter_rows(named=True):
            source = row["source"]
            spans[source] = Span(row["first_date"], row["last_date"],
                                 *(linkage.get(source, (linkable, 0)) if source != "deaths"
                                   else (None, None)))
    years = con.execute("SELECT min(year), max(year) FROM population").fetchall()[0]
    if years[0] is not None:
        spans["population"] = Span(date(int(years[0]), 1, 1), date(int(years[1]), 12, 31))
    return spans


def _fmt(day: date) -> str:
    return day.isoformat()


def gap(source: str, look_back: int | None, period: Period,
        spans: dict[str, Span]) -> str | None:
    """Why `source` does not cover `period` (with `look_back` days before its first
    deaths), or None when it does. Population is needed only to exist: the nearest
    year stands in for a missing one (assess notes which)."""
    name = SOURCE_NAMES[source]
    span = spans.get(source)
    if span is None:
        return f"{NOT_AVAILABLE}: no {name} loaded"
    if source == "population":
        return None
    if span.links_to_none:
        return f"{NOT_AVAILABLE}: {UNLINKED_REASON.format(name=name)}"
    end = span.end
    if source == "register":
        # Entries come before death: a register of the people who died (the usual
        # linked extract) ends before the last deaths do, by days to weeks. One month's
        # grace; a register that stops a whole month earlier misses late entries.
        end = (end + timedelta(days=1)).replace(
            day=calendar.monthrange(end.year + (end.month == 12), end.month % 12 + 1)[1])
    if period.end > end:
        return (f"{NOT_AVAILABLE}: {name} end {_fmt(span.last_date)}, before the end of "
                f"{period.label} ({_fmt(period.end)})")
    if look_back is not None and period.start - timedelta(days=look_back) < span.start:
        reach = period.start - timedelta(days=look_back)
        return (f"{NOT_AVAILABLE}: {name} begin {_fmt(span.first_date)}; the deaths of "
                f"{period.label} need them from {_fmt(reach)} ({look_back + 1} days "
                "before death)")
    return None


#: Why a source no death links to is not available (the source's name); warnings()
#: gives its fix. No count: the reason is published, and the deaths that could link are
#: all deaths but the unlinked ones, a data-quality count that may be small.
UNLINKED_REASON = "no death links to the {name} (no person_id of it is a death's)"
UNLINKED_FIX = ("its identifiers are not the deaths': load it with the same identifier as "
                "the deaths (NHS numbers, which eolneeds pseudonymises with this project's "
                "key; an extract already pseudonymised by another system, such as NCDR's "
                "Der_Pseudo_NHS_Number, links only to files pseudonymised the same way), "
                "or check which column the mapping reads as person_id")


#: The activity kinds (all from dataset activity).
ACTIVITY_SOURCES = ("admitted", "ae", "community", "palliative")


def indicator_gaps(catalogue: Iterable[Indicator], periods: Sequence[Period],
                   spans: dict[str, Span], *, ignore: Iterable[str] = ()
                   ) -> dict[tuple[str, str], str]:
    """(indicator id, period label) -> the note of an indicator row the data do not
    support (the reasons of each source it lacks, joined by '; '). Sources in `ignore`
    are taken as covering (validate, which warns of a dataset not loaded already)."""
    out: dict[tuple[str, str], str] = {}
    skip = set(ignore)
    for ind in catalogue:
        wanted = [(s, back) for s, back in needs(ind) if s not in skip]
        for period in periods:
            reasons = [r for s, back in wanted if (r := gap(s, back, period, spans))]
            if reasons:
                out[(ind.id, period.label)] = "; ".join(
                    [reasons[0], *(r.removeprefix(f"{NOT_AVAILABLE}: ") for r in reasons[1:])])
    return out


def deaths_gap(period: Period, spans: dict[str, Span]) -> str | None:
    """Why the deaths loaded do not cover `period` to its end, or None."""
    span = spans.get("deaths")
    if span is None or period.end <= span.end:
        return None
    return (f"the deaths loaded end {_fmt(span.last_date)}, before the end of "
            f"{period.label} ({_fmt(period.end)})")


def warnings(gaps: dict[tuple[str, str], str], periods: Sequence[Period]) -> list[str]:
    """One line per reason: the indicators and periods it makes not available, and the
    fix. Month rows of the SPC series are left out (the series ends where the data do)."""
    labels = {p.label for p in periods if p.kind != "month"}
    by_reason: dict[str, list[str]] = {}
    for (ind, period), reason in gaps.items():
        if period in labels:
            by_reason.setdefault(reason, []).append(ind)
    lines = []
    unlinked = UNLINKED_REASON.split("{name}")[0]
    for reason, ids in sorted(by_reason.items()):
        text = reason.removeprefix(f"{NOT_AVAILABLE}: ")
        fix = (UNLINKED_FIX if text.startswith(unlinked) else
               "load data covering the period, or report an earlier one")
        lines.append(f"{text}: {', '.join(sorted(set(ids)))} not available (published as "
                     f"[x], not as a number) — {fix}")
    return lines



def not_available_table(indicators: pl.DataFrame) -> DataQualityTable | None:
    """The indicators and reporting periods published as not available, with the reason
    (from the ICB's total rows of the indicator table; months of an SPC series are left
    out, not marked), for the report's and the packs' data-quality section: the theme
    tables show [x], this says why. None when none."""
    rows = indicators.filter(
        (pl.col("area_type") == "icb") & (pl.col("breakdown") == "all")
        & pl.col("note").fill_null("").str.starts_with(f"{NOT_AVAILABLE}: ")
    )
    if rows.height == 0:
        return None
    frame = rows.select(
        "indicator_id", "indicator_name", "period",
        pl.col("note").str.strip_prefix(f"{NOT_AVAILABLE}: ").alias("reason"),
    ).unique().sort("period", "indicator_id")
    return DataQualityTable(
        "not_available", "Indicators not available, and why",
        "Indicators published as not available [x] for a period because a source they "
        "count from does not cover it (with the look-back before each death) or was not "
        "loaded: a number from part of the data would read as a fall.", frame)
